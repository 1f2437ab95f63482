// Objects and lists on the wire: as themselves, or as the Table kubectl asked for.
import { badRequest, buildTable, parseIncludeObject, queryPretty, type KubeObject } from '@kedge/kube-core';
import { sendJson, sendJsonText } from '../http';
import { apiVersionOf } from '../resources';
import type { ResourceRequest } from './request-context';

function tableOptions(context: ResourceRequest) {
  const includeObject = parseIncludeObject(context.query.get('includeObject'));
  if (includeObject === undefined) {
    throw badRequest(`includeObject: Unsupported value: "${context.query.get('includeObject') ?? ''}": supported values: "None", "Metadata", "Object"`);
  }
  return { now: context.services.now(), includeObject };
}

/** The Table form of objects, with the Table apiVersion the client asked for. */
export function tableOf(context: ResourceRequest, objects: readonly KubeObject[], meta: { resourceVersion?: string; continueToken?: string } = {}) {
  const table = buildTable(context.type.table, objects, { ...tableOptions(context), ...meta });
  const version = context.form.kind === 'table' ? context.form.version : 'v1';
  return { ...table, apiVersion: `meta.k8s.io/${version}` };
}

function send(context: ResourceRequest, code: number, body: unknown): void {
  sendJson(context.response, code, body, 'application/json', queryPretty(context.query));
}

export function sendObject(context: ResourceRequest, code: number, object: KubeObject): void {
  if (context.form.kind === 'table') {
    send(context, code, tableOf(context, [object], { resourceVersion: object.metadata.resourceVersion }));
    return;
  }
  send(context, code, object);
}

/** An object given as its JSON text (a create's reply, made from what was stored) or as itself. */
export function sendReply(context: ResourceRequest, code: number, reply: { json: string } | { object: KubeObject }): void {
  if ('object' in reply) {
    sendObject(context, code, reply.object);
    return;
  }
  // a Table or the indented form needs the object; the plain form is the text as it is
  if (context.form.kind === 'table' || queryPretty(context.query)) sendObject(context, code, JSON.parse(reply.json) as KubeObject);
  else sendJsonText(context.response, code, reply.json);
}

export function sendList(context: ResourceRequest, items: KubeObject[], resourceVersion: string, continueToken: string | undefined): void {
  if (context.form.kind === 'table') {
    send(context, 200, tableOf(context, items, { resourceVersion, continueToken }));
    return;
  }
  const metadata: Record<string, string> = { resourceVersion };
  if (continueToken !== undefined) metadata['continue'] = continueToken;
  send(context, 200, { kind: context.type.listKind, apiVersion: apiVersionOf(context.type), metadata, items });
}
