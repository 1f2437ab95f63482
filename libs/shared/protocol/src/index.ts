// @kedge/protocol: the message model shared by cloudcore and edgecore, its wire codec and resource keys.
export {
  Group,
  Operation,
  newErrorResponse,
  newMessage,
  newResponse,
  type Message,
  type MessageHeader,
  type MessageRoute,
  type NewMessageOptions,
} from './message';
export { ProtocolError, type ProtocolErrorCode, type ProtocolErrorOptions } from './errors';
export { BATCH_PARSE_FIRST_BYTES, DEFAULT_MAX_FRAME_BYTES, decodeFrame, decodeMessage, encodeBatch, encodeMessage, type CodecOptions, type DecodedItem } from './codec';
export { MAX_CONTENT_DEPTH } from './json-safety';
export {
  MAX_MESSAGE_ID_LENGTH,
  MAX_RESOURCE_LENGTH,
  MAX_RESOURCE_VERSION_LENGTH,
  MAX_ROUTE_NAME_LENGTH,
} from './message-fields';
export {
  CLUSTER_SCOPED_NAMESPACE,
  ResourceType,
  formatCloudResource,
  formatEdgeResource,
  parseCloudResource,
  splitCloudResource,
  parseEdgeResource,
  toCloudResource,
  toEdgeResource,
  type CloudResource,
  type EdgeResource,
} from './resource';
export {
  STREAM_GROUP,
  STREAM_KINDS,
  StreamOperation,
  isRfc3339Time,
  parseLogOptions,
  type AckContent,
  type AttachOptions,
  type CloseContent,
  type DataContent,
  type ErrorContent,
  type ExecOptions,
  type LogOptions,
  type OpenContent,
  type PortForwardOptions,
  type StreamKind,
} from './stream-wire';
export {
  KUBELET_QUERY_GROUP,
  KUBELET_QUERY_OPERATION,
  KUBELET_QUERY_TARGETS,
  KUBELET_QUERY_TYPE,
  isKubeletQueryTarget,
  type KubeletQueryTarget,
} from './kubelet-query';
export {
  POD_API_TYPE,
  PodApiCall,
  SERVICE_ACCOUNT_TOKEN_TYPE,
  parseAccessReviewContent,
  parseForwardedRequestContent,
  parseTokenRequestContent,
  parseTokenReviewContent,
  type AccessReviewAnswer,
  type AccessReviewContent,
  type ForwardedAnswer,
  type ForwardedRequestContent,
  type ResourceAttributes,
  type ReviewedUser,
  type TokenAnswer,
  type TokenRequestContent,
  type TokenReviewAnswer,
  type TokenReviewContent,
} from './pod-api';
