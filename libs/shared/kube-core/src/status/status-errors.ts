// Constructors for the Status errors of apimachinery's `k8s.io/apimachinery/pkg/api/errors`, with the
// same messages, so clients that match on them (kubectl, client-go, informers) behave as on a cluster.
import { StatusError, type StatusCause } from './status-error';

/** What a message names: the resource (`pods`, `foos.example.com`) and the object. */
export interface ResourceRef {
  group: string;
  /** plural resource name, e.g. `pods` */
  resource: string;
}

export function qualifiedResource(ref: ResourceRef): string {
  return ref.group === '' ? ref.resource : `${ref.resource}.${ref.group}`;
}

export function badRequest(message: string, causes?: StatusCause[]): StatusError {
  return new StatusError(400, 'BadRequest', message, causes === undefined ? undefined : { causes });
}

export function unauthorized(message = 'Unauthorized'): StatusError {
  return new StatusError(401, 'Unauthorized', message);
}

export function forbidden(ref: ResourceRef, name: string, reason: string): StatusError {
  const subject = name === '' ? qualifiedResource(ref) : `${qualifiedResource(ref)} "${name}"`;
  return new StatusError(403, 'Forbidden', `${subject} is forbidden: ${reason}`, {
    name: name === '' ? undefined : name,
    group: ref.group,
    kind: ref.resource,
  });
}

export function notFound(ref: ResourceRef, name: string): StatusError {
  return new StatusError(404, 'NotFound', `${qualifiedResource(ref)} "${name}" not found`, {
    name,
    group: ref.group,
    kind: ref.resource,
  });
}

/** 404 for a path that names no served resource at all (kubectl prints "the server could not find the requested resource"). */
export function pathNotFound(path: string): StatusError {
  return new StatusError(404, 'NotFound', `the server could not find the requested resource (path ${path})`, {});
}

export function alreadyExists(ref: ResourceRef, name: string): StatusError {
  return new StatusError(409, 'AlreadyExists', `${qualifiedResource(ref)} "${name}" already exists`, {
    name,
    group: ref.group,
    kind: ref.resource,
  });
}

export function conflict(ref: ResourceRef, name: string, reason: string): StatusError {
  return new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(ref)} "${name}": ${reason}`, {
    name,
    group: ref.group,
    kind: ref.resource,
  });
}

export const STALE_OBJECT_MESSAGE = 'the object has been modified; please apply your changes to the latest version and try again';

export function staleObject(ref: ResourceRef, name: string): StatusError {
  return conflict(ref, name, STALE_OBJECT_MESSAGE);
}

/** 422 with one cause per field, the message listing them as apimachinery's `NewInvalid` does. */
export function invalid(group: string, kind: string, name: string, causes: StatusCause[]): StatusError {
  const parts = causes.map((cause) => (cause.field ? `${cause.field}: ${cause.message ?? ''}` : (cause.message ?? '')));
  const listed = parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
  // upstream names the group-qualified kind (`Deployment.apps`); kubectl prints details.kind itself
  const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
  return new StatusError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${listed}`, { name, group, kind, causes });
}

/** 410 for a list `continue` token or watch resourceVersion older than the compacted history. */
export function expired(message: string): StatusError {
  return new StatusError(410, 'Expired', message);
}

/** The 410 a watch from a compacted resourceVersion gets, worded as kube-apiserver's (client-go re-lists on it). */
export function tooOldResourceVersion(requested: string | number, oldest: string | number): StatusError {
  return expired(`too old resource version: ${requested} (${oldest})`);
}

export function gone(message: string): StatusError {
  return new StatusError(410, 'Gone', message);
}

export function methodNotAllowed(verb: string, what: string): StatusError {
  return new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${verb} ${what})`);
}

export function unsupportedMediaType(contentType: string, supported: readonly string[], detail?: string): StatusError {
  const got = contentType === '' ? '' : ` (got ${contentType}${detail === undefined ? '' : `: ${detail}`})`;
  return new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${supported.join(', ')}${got}`);
}

export function notAcceptable(accepted: readonly string[]): StatusError {
  return new StatusError(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);
}

export function requestEntityTooLarge(limitBytes: number): StatusError {
  return new StatusError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limitBytes}`);
}

export function serviceUnavailable(message: string): StatusError {
  return new StatusError(503, 'ServiceUnavailable', message);
}

export function internalError(message: string, cause?: unknown): StatusError {
  return new StatusError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] }, { cause });
}
