// Kubernetes protobuf request bodies (what kubectl's typed clients send) decoded to JSON objects.
export { decodeKubernetesProtobuf } from './kubernetes-protobuf';
export { ProtobufDecodeError, ProtobufUnsupportedError } from './wire-reader';
