// HTTP plumbing shared by the handlers: bodies, content negotiation, responses.
export { MAX_REQUEST_BODY_BYTES, PROTOBUF_MEDIA_TYPE, mediaTypeOf, parseJsonBody, parseObjectBody, parseProtobufBody, parseYamlBody, readBody } from './request-body';
export { negotiate, type ResponseForm } from './content-negotiation';
export { addWarning, sendJson, sendJsonText, sendStatus } from './responses';
