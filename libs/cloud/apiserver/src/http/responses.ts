// Writing responses: JSON bodies, Status errors, and the Warning headers of fieldValidation=Warn.
import type { ServerResponse } from 'node:http';
import type { Status } from '@kedge/kube-core';

/** `indent`: the `pretty=true` form, two spaces as kube-apiserver's json.Indent. */
export function sendJson(response: ServerResponse, code: number, body: unknown, contentType = 'application/json', indent = false): void {
  if (response.headersSent) {
    if (!response.writableEnded) response.end();
    return;
  }
  sendJsonText(response, code, indent ? `${JSON.stringify(body, null, 2)}\n` : JSON.stringify(body), contentType);
}

/** A body that is JSON text already (e.g. a created object's, made from what was stored). */
export function sendJsonText(response: ServerResponse, code: number, json: string, contentType = 'application/json'): void {
  if (response.headersSent) {
    if (!response.writableEnded) response.end();
    return;
  }
  // encoded once: the length header and the body come from the same bytes
  const bytes = Buffer.from(json);
  response.writeHead(code, { 'content-type': contentType, 'content-length': bytes.length, 'cache-control': 'no-cache, private' });
  response.end(bytes);
}

export function sendStatus(response: ServerResponse, status: Status): void {
  // as kube-apiserver: a Status that says when to come back says it in Retry-After too (client-go waits and retries on it)
  const retryAfter = status.details?.retryAfterSeconds;
  if (retryAfter !== undefined && retryAfter > 0 && !response.headersSent) response.setHeader('retry-after', String(retryAfter));
  sendJson(response, status.code, status);
}

/** `Warning: 299 - "<text>"`, as apiserver sends for deprecated APIs and ignored fields. */
export function addWarning(response: ServerResponse, text: string): void {
  const value = `299 - ${JSON.stringify(text)}`;
  const existing = response.getHeader('warning');
  const list = Array.isArray(existing) ? existing : typeof existing === 'string' ? [existing] : [];
  response.setHeader('warning', [...list, value]);
}
