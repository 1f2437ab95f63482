// /version, health checks, /metrics, discovery and OpenAPI.
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { pathNotFound } from '@kedge/kube-core';
import { aggregatedDiscovery, aggregatedDiscoveryContentType, apiGroup, groupList, legacyVersions, resourceList } from '../discovery';
import { negotiate, sendJson } from '../http';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_RESPONSE, openApiV2Json, openApiV2Protobuf, type OpenApiDocuments } from '../openapi';
import type { ResourceCatalog } from '../resources';
import type { NonResourcePath } from '../routing';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0+kedge',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2025-01-01T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'node',
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
};

export interface NonResourceContext {
  catalog: ResourceCatalog;
  openapi: OpenApiDocuments;
  registry: Registry | undefined;
  serverAddress: string;
  accept: string | undefined;
}

export async function serveNonResource(path: NonResourcePath, context: NonResourceContext, response: ServerResponse): Promise<void> {
  const { catalog } = context;
  switch (path.kind) {
    case 'version':
      return sendJson(response, 200, SERVER_VERSION);
    case 'health':
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    case 'metrics': {
      if (context.registry === undefined) throw pathNotFound('/metrics');
      const text = await context.registry.metrics();
      response.writeHead(200, { 'content-type': context.registry.contentType }).end(text);
      return;
    }
    case 'legacyVersions':
    case 'groupList': {
      const form = negotiate(context.accept, { allowTable: false, allowDiscovery: true });
      if (form.kind === 'discovery') {
        const document = aggregatedDiscovery(catalog, path.kind === 'legacyVersions' ? 'core' : 'groups', form.version);
        return sendJson(response, 200, document, aggregatedDiscoveryContentType(form.version));
      }
      return sendJson(response, 200, path.kind === 'legacyVersions' ? legacyVersions(context.serverAddress) : groupList(catalog));
    }
    case 'group': {
      const document = apiGroup(catalog, path.group);
      if (document === undefined) throw pathNotFound(`/apis/${path.group}`);
      return sendJson(response, 200, document);
    }
    case 'resourceList': {
      const document = resourceList(catalog, path.group, path.version);
      if (document === undefined) throw pathNotFound(path.group === '' ? `/api/${path.version}` : `/apis/${path.group}/${path.version}`);
      return sendJson(response, 200, document);
    }
    case 'openapiV2': {
      if ((context.accept ?? '').includes(OPENAPI_V2_PROTOBUF)) {
        const body = openApiV2Protobuf(SERVER_VERSION.gitVersion);
        response.writeHead(200, { 'content-type': OPENAPI_V2_PROTOBUF_RESPONSE, 'content-length': body.length }).end(body);
        return;
      }
      return sendJson(response, 200, openApiV2Json(SERVER_VERSION.gitVersion));
    }
    case 'openapiV3Root':
      return sendJson(response, 200, context.openapi.root());
    case 'openapiV3': {
      const document = context.openapi.groupVersion(path.group, path.version);
      if (document === undefined) throw pathNotFound(`/openapi/v3/${path.group === '' ? 'api' : `apis/${path.group}`}/${path.version}`);
      response.setHeader('etag', `"${document.hash}"`);
      return sendJson(response, 200, document.document);
    }
  }
}
