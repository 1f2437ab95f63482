// @kedge/devicecontroller: the cloud side of devices (KubeEdge's DeviceController): installs the
// device CRDs, sends each node its devicetwin membership and writes twin reports to Device.status.
export { DEVICECONTROLLER_SOURCE, startDeviceController, type DeviceController, type DeviceControllerHub, type StartDeviceControllerParams } from './device-controller';
export { CRD_REVISION_ANNOTATION, installCrds, type InstallCrdsOptions } from './crds';
export { CrdInstallError, DeviceControllerError, TwinRefusedError, type TwinRefusal } from './errors';
export { REASSERT_DESIRED_ANNOTATION, effectiveProtocol, effectiveVisitors, membershipOf, type Membership, type MembershipDevice } from './membership';
export { DeviceStatusWriter, statusFromReport, type DeviceStatusWriterOptions, type StatusPatch } from './upstream';
export { DEVICE_METHOD_PATH_PREFIX, DeviceMethodApi, type DeviceMethodApiOptions } from './method-api/method-api';
export { METHODS_SUBRESOURCE, MethodAuth, clusterMethodAuthBackend, type MethodAccess, type MethodAuthBackend, type MethodCaller } from './method-api/method-auth';
export { DeviceMethodInvoker, type DeviceLookup, type DeviceMethodInvokerOptions, type MethodInvocation, type MethodInvokerHub, type MethodOutcome } from './method-api/method-invoker';
