// OpenAPI v3 documents for kubectl (field validation support, explain for custom resources).
export { OpenApiDocuments } from './openapi-cache';
export { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_RESPONSE, openApiV2Json, openApiV2Protobuf } from './openapi-v2';
