// Requirements: tests declare the optional system components they drive (requires('containerd', ...));
// a missing one fails them unless KEDGE_TEST_ALLOW_MISSING names it. See docs/testing.md.
export { BUSYBOX_PATH, CNI_BIN_DIR, COMPONENTS, machineKind, type Component } from './components';
export {
  ALLOW_MISSING_ENV,
  allowedMissing,
  MissingComponentError,
  missingComponents,
  requires,
  UnknownComponentError,
  type Allowance,
  type MissingComponent,
  type Requirement,
} from './requires';
