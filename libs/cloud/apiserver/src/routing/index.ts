// URL paths and methods → what a request asks for.
export { parseRequestPath, type NonResourcePath, type RequestPath, type ResourcePath } from './request-path';
export { requestVerb, type RequestVerb } from './request-verb';
