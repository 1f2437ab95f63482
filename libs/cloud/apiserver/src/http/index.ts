// HTTP plumbing shared by the handlers: bodies, content negotiation, responses.
export { MAX_REQUEST_BODY_BYTES, mediaTypeOf, parseJsonBody, parseObjectBody, parseYamlBody, readBody } from './request-body';
export { negotiate, type ResponseForm } from './content-negotiation';
export { addWarning, sendJson, sendStatus } from './responses';
