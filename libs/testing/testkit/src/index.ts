// @kedge/testkit: what tests across the workspace share: a real in-memory PKI, polling, cleanup, metrics,
// a simulated edge that speaks the real protocol, requires(): the declared optional system components, and the
// read API conformance suite every Kubernetes-style server runs.
export { Cleanup } from './cleanup';
export { lanAddress } from './lan-address';
export { freePort, startMosquitto, type Mosquitto } from './mosquitto';
export { prometheusSample, prometheusSum } from './prometheus-text';
export { KUBECTL, READ_API_SEED, describeReadApi, type ReadApiServer } from './read-api-conformance';
export {
  ALLOW_MISSING_ENV,
  allowedMissing,
  BUSYBOX_PATH,
  CNI_BIN_DIR,
  COMPONENTS,
  machineKind,
  MissingComponentError,
  missingComponents,
  requires,
  UnknownComponentError,
  type Allowance,
  type Component,
  type MissingComponent,
  type Requirement,
} from './requirements/index';
export { metricValue } from './registry-metrics';
export {
  EdgeRequestError,
  SimulatedEdge,
  type EdgeObject,
  type InventoryEntry,
  type NodeRegistration,
  type ReceivedMessage,
  type SimulatedEdgeOptions,
} from './simulated-edge';
export { createTestPki, type TestPki, type TlsMaterial } from './test-pki';
export { waitFor, type WaitOptions } from './wait-for';
