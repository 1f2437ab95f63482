// OpenAPI documents are rebuilt only when the catalog changes (a CRD comes or goes).
import type { ResourceCatalog } from '../resources';
import { documentHash, openApiV3Document, openApiV3Root } from './openapi-v3';

interface CachedDocument {
  document: Record<string, unknown>;
  hash: string;
}

export class OpenApiDocuments {
  private cache = new Map<string, CachedDocument | undefined>();
  private builtFor = -1;

  constructor(
    private readonly catalog: ResourceCatalog,
    private readonly serverVersion: string,
  ) {}

  root(): Record<string, unknown> {
    return openApiV3Root(this.catalog, (group, version) => this.groupVersion(group, version)?.hash ?? '');
  }

  groupVersion(group: string, version: string): CachedDocument | undefined {
    if (this.builtFor !== this.catalog.version) {
      this.cache = new Map();
      this.builtFor = this.catalog.version;
    }
    const key = `${group}/${version}`;
    if (!this.cache.has(key)) {
      const document = openApiV3Document(this.catalog, group, version, this.serverVersion);
      this.cache.set(key, document === undefined ? undefined : { document, hash: documentHash(document) });
    }
    return this.cache.get(key);
  }
}
