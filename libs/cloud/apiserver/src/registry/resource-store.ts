// The generic object store between the HTTP handlers (and controllers) and ObjectStorage, like
// apiserver's generic registry: it owns metadata (uid, generation, timestamps, managedFields),
// runs each type's strategy and validation, and maps storage errors to Status errors. Storage calls
// are synchronous, so each read-modify-write below runs in one tick and cannot interleave with another.
import { badRequest, cloneJson, forbidden, invalid, notFound, staleObject, type KubeObject, type StatusCause } from '@kedge/kube-core';
import { apiVersionOf, type ResourceCatalog, type ResourceType, type UpdateContext } from '../resources';
import type { ObjectStorage, StoredObject } from '../storage';
import { trackManagedFields } from '../managed-fields';
import { decodeStored, encodeObject, encodeServed, isStorageCode, objectKey, toStatusError } from './object-codec';
import { generatedName, initialiseMetadata, isNoOpUpdate, keepImmutableMetadata, nextGeneration, timestampOf } from './object-metadata';
import { listObjects, type ListQuery, type ObjectList } from './object-lists';
import { deleteObject, deletionBlocked, type DeleteOptions, type DeleteResult } from './object-deletion';

export interface WriteOptions {
  dryRun?: boolean;
  /** the manager recorded in managedFields */
  fieldManager: string;
  /** the object's managedFields were already computed (server-side apply); keep them as they are */
  managedFieldsSet?: boolean;
  /**
   * Validating admission (upstream's ValidateObjectFunc): sees the object as it will be stored, after
   * defaults and validation, with the stored one on an update (undefined on a create), and throws to
   * refuse it. Runs for dry runs too, and inside the read-modify-write, so it judges what is written.
   */
  admit?: (object: KubeObject, previous: KubeObject | undefined) => void;
  /** the caller hands the body over (a freshly parsed request body): the store may change it instead of a copy */
  bodyOwned?: boolean;
}

export interface UpdateOptions extends WriteOptions {
  subresource?: UpdateContext['subresource'];
}

export interface UpdateResult {
  object: KubeObject;
  created: boolean;
}

const GENERATE_NAME_ATTEMPTS = 8;
/** Namespaces whose terminating state is remembered (per stored revision) for the create check. */
const NAMESPACE_STATE_CACHE = 1024;

export class ResourceStore {
  /**
   * namespace key → whether the namespace was terminating at that stored revision. Every namespaced
   * create reads its namespace through storage's remembered rows (exact, see ObjectStorage.get); decoding
   * it again is skipped while its revision is unchanged.
   */
  private readonly namespaceStates = new Map<string, { revision: number; terminating: boolean }>();

  constructor(
    readonly storage: ObjectStorage,
    readonly catalog: ResourceCatalog,
    readonly now: () => Date,
  ) {}

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const object = this.find(type, namespace, name);
    if (object === undefined) throw notFound({ group: type.group, resource: type.plural }, name);
    return object;
  }

  find(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const stored = this.storage.get(objectKey(type, namespace, name));
    return stored === undefined ? undefined : decodeStored(type, stored);
  }

  list(type: ResourceType, namespace: string | undefined, query: ListQuery): ObjectList {
    return listObjects(this.storage, type, namespace, query);
  }

  create(type: ResourceType, namespace: string | undefined, body: KubeObject, options: WriteOptions): KubeObject {
    const created = this.createStored(type, namespace, body, options);
    return created.stored === undefined ? created.object : decodeStored(type, created.stored);
  }

  /**
   * create, for a reply: the served JSON made from the text just stored (`json`), where the type allows
   * it, instead of a decoded copy that would be encoded again; otherwise (and for dry runs) the object.
   */
  createForReply(type: ResourceType, namespace: string | undefined, body: KubeObject, options: WriteOptions): { json: string } | { object: KubeObject } {
    const created = this.createStored(type, namespace, body, options);
    if (created.stored === undefined) return { object: created.object };
    if (created.served !== undefined) return { json: created.served };
    return { object: decodeStored(type, created.stored) };
  }

  /** `stored` is undefined for a dry run; `served` is set when the type's stored JSON is its served JSON */
  private createStored(
    type: ResourceType,
    namespace: string | undefined,
    body: KubeObject,
    options: WriteOptions,
  ): { object: KubeObject; stored?: StoredObject; served?: string } {
    const object = this.prepareBody(type, namespace, options.bodyOwned === true ? body : cloneJson(body));
    this.checkNamespaceAcceptsContent(type, object);
    const meta = object.metadata;
    const generate = (meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '';
    initialiseMetadata(object, this.now());
    type.prepareForCreate(object);
    for (let attempt = 0; ; attempt++) {
      if (generate) meta.name = generatedName(meta.generateName ?? '');
      this.validate(type, object, undefined);
      if (!options.managedFieldsSet) {
        meta.managedFields = trackManagedFields(undefined, { ...object, metadata: { ...meta, managedFields: [] } }, this.managedWrite(type, options, ''));
      }
      if (meta.managedFields?.length === 0) delete meta.managedFields;
      options.admit?.(object, undefined);
      if (options.dryRun) return { object };
      const encoding = type.storedAsServed === true ? encodeServed(object) : undefined;
      try {
        const stored = this.storage.create(objectKey(type, meta.namespace, meta.name ?? ''), encoding?.stored ?? encodeObject(type, object));
        return encoding === undefined ? { object, stored } : { object, stored, served: encoding.served(stored.revision) };
      } catch (error) {
        // a generated name that collides is retried, as apiserver does
        if (generate && attempt < GENERATE_NAME_ATTEMPTS && isStorageCode(error, 'KEY_EXISTS')) continue;
        throw toStatusError(error, type, meta.name ?? '');
      }
    }
  }

  /** PUT: replaces the object, conditionally on metadata.resourceVersion when the body has one. */
  update(type: ResourceType, namespace: string | undefined, name: string, body: KubeObject, options: UpdateOptions): UpdateResult {
    const next = this.prepareBody(type, namespace, options.bodyOwned === true ? body : cloneJson(body));
    if (next.metadata.name !== undefined && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    }
    next.metadata.name = name;
    const key = objectKey(type, namespace, name);
    const stored = this.storage.get(key);
    const subresource = options.subresource ?? '';
    if (stored === undefined) {
      if (type.allowCreateOnUpdate && subresource === '') {
        return { object: this.create(type, namespace, next, options), created: true };
      }
      throw notFound({ group: type.group, resource: type.plural }, name);
    }
    const requested = next.metadata.resourceVersion;
    if (requested !== undefined && requested !== '') {
      if (requested !== String(stored.revision)) throw staleObject({ group: type.group, resource: type.plural }, name);
    } else if (!type.allowUnconditionalUpdate) {
      throw invalid(type.group, type.kind, name, [
        { reason: 'FieldValueInvalid', field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' },
      ]);
    }
    return { object: this.replace(type, decodeStored(type, stored), next, options), created: false };
  }

  /**
   * Read-modify-write against the current version: what PATCH and the controllers use. `mutate` gets a
   * copy of the stored object and returns the wanted object; a resourceVersion it sets is a precondition.
   */
  modify(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject,
    options: UpdateOptions,
  ): KubeObject {
    const current = this.get(type, namespace, name);
    const wanted = this.prepareBody(type, namespace, cloneJson(mutate(cloneJson(current))));
    const requested = wanted.metadata.resourceVersion;
    if (requested !== undefined && requested !== '' && requested !== current.metadata.resourceVersion) {
      throw staleObject({ group: type.group, resource: type.plural }, name);
    }
    if (wanted.metadata.name !== undefined && wanted.metadata.name !== name) {
      throw badRequest(`the name of the object (${wanted.metadata.name}) does not match the name on the URL (${name})`);
    }
    wanted.metadata.name = name;
    return this.replace(type, current, wanted, options);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions): DeleteResult {
    return deleteObject(this, type, namespace, name, options);
  }

  /** Writes `next` over `previous` (already checked for preconditions), or deletes it when its deletion is due. */
  private replace(type: ResourceType, previous: KubeObject, next: KubeObject, options: UpdateOptions): KubeObject {
    const subresource = options.subresource ?? '';
    type.prepareForUpdate(next, previous, { subresource });
    keepImmutableMetadata(next, previous);
    next.metadata.generation = nextGeneration(next, previous);
    this.checkFinalizersWhileDeleting(type, next, previous);
    this.validate(type, next, previous);
    options.admit?.(next, previous);
    next.metadata.resourceVersion = previous.metadata.resourceVersion;
    if (!options.managedFieldsSet) next.metadata.managedFields = previous.metadata.managedFields;
    if (isNoOpUpdate(next, previous)) return previous;
    if (!options.managedFieldsSet) {
      next.metadata.managedFields = trackManagedFields(previous, next, this.managedWrite(type, options, subresource === 'status' || subresource === 'ephemeralcontainers' ? subresource : ''));
    }
    if (next.metadata.managedFields?.length === 0) delete next.metadata.managedFields;
    const key = objectKey(type, previous.metadata.namespace, previous.metadata.name ?? '');
    const revision = Number(previous.metadata.resourceVersion);
    if (options.dryRun) return next;
    try {
      if (next.metadata.deletionTimestamp !== undefined && !deletionBlocked(next) && (next.metadata.deletionGracePeriodSeconds ?? 0) === 0) {
        // the last finalizer is gone: the delete that was waiting for it completes now
        this.storage.update(key, revision, encodeObject(type, next));
        const written = this.storage.get(key);
        return decodeStored(type, this.storage.delete(key, written?.revision));
      }
      return decodeStored(type, this.storage.update(key, revision, encodeObject(type, next)));
    } catch (error) {
      throw toStatusError(error, type, previous.metadata.name ?? '');
    }
  }

  private managedWrite(type: ResourceType, options: WriteOptions, subresource: string) {
    return { manager: options.fieldManager, apiVersion: apiVersionOf(type), time: timestampOf(this.now()), subresource };
  }

  /** Checks apiVersion/kind/namespace of a body the store owns (a copy, or one handed over) and makes it fit to store. */
  private prepareBody(type: ResourceType, namespace: string | undefined, object: KubeObject): KubeObject {
    const apiVersion = apiVersionOf(type);
    if ((object.apiVersion !== undefined && object.apiVersion !== apiVersion) || (object.kind !== undefined && object.kind !== type.kind)) {
      throw badRequest(
        `${String(object.kind ?? '')} in version "${String(object.apiVersion ?? '')}" cannot be handled as a ${type.kind}: ` +
          `the body must be a ${type.kind} of apiVersion ${apiVersion}`,
      );
    }
    object.apiVersion = apiVersion;
    object.kind = type.kind;
    if (type.namespaced) {
      if (object.metadata.namespace !== undefined && object.metadata.namespace !== '' && object.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace;
    } else {
      delete object.metadata.namespace;
    }
    return object;
  }

  private validate(type: ResourceType, object: KubeObject, previous: KubeObject | undefined): void {
    const causes: StatusCause[] = type.validate(object, previous);
    if (causes.length > 0) throw invalid(type.group, type.kind, object.metadata.name ?? object.metadata.generateName ?? '', causes);
  }

  private checkFinalizersWhileDeleting(type: ResourceType, next: KubeObject, previous: KubeObject): void {
    if (previous.metadata.deletionTimestamp === undefined) return;
    const before = new Set(previous.metadata.finalizers ?? []);
    const added = (next.metadata.finalizers ?? []).filter((finalizer) => !before.has(finalizer));
    if (added.length > 0) {
      throw invalid(type.group, type.kind, previous.metadata.name ?? '', [
        { reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: 'Forbidden: no new finalizers can be added if the object is being deleted' },
      ]);
    }
  }

  /** Namespaced objects go only into namespaces that exist and are not terminating (NamespaceLifecycle). */
  private checkNamespaceAcceptsContent(type: ResourceType, object: KubeObject): void {
    if (!type.namespaced) return;
    const namespaceName = object.metadata.namespace ?? '';
    const namespaces = this.catalog.find('', 'v1', 'namespaces');
    if (namespaces === undefined) return;
    const key = objectKey(namespaces, undefined, namespaceName);
    const stored = this.storage.get(key, { remember: true });
    if (stored === undefined) throw notFound({ group: '', resource: 'namespaces' }, namespaceName);
    let state = this.namespaceStates.get(key);
    if (state === undefined || state.revision !== stored.revision) {
      state = { revision: stored.revision, terminating: decodeStored(namespaces, stored).metadata.deletionTimestamp !== undefined };
      if (this.namespaceStates.size >= NAMESPACE_STATE_CACHE) this.namespaceStates.clear();
      this.namespaceStates.set(key, state);
    }
    if (state.terminating) {
      throw forbidden(
        { group: type.group, resource: type.plural },
        object.metadata.name ?? '',
        `unable to create new content in namespace ${namespaceName} because it is being terminated`,
      );
    }
  }
}
