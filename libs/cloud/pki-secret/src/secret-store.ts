// A CertificateStore in one Kubernetes Secret, for a cloudcore whose pod disk is gone after a
// restart. Each entry is a key of the Secret's `data`. A write is one create or one update of the
// whole Secret, guarded by its resourceVersion, so a group of entries lands together or not at all
// and a concurrent writer's keys are never overwritten with stale copies.
import { ApiException, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { CertificateStoreError, type CertificateStore, type StoreChange, type StoreEntry } from '@kedge/pki';
import type { Logger } from '@kedge/telemetry';

export interface SecretCertificateStoreOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  logger?: Logger;
}

export const PART_OF_LABEL = 'app.kubernetes.io/part-of';
/** how often a write is tried again after another writer changed the Secret first */
const MAX_WRITE_ATTEMPTS = 10;
const DATA_KEY = /^[-._a-zA-Z0-9]{1,253}$/;

type SecretVerb = 'get' | 'create' | 'update';

export class SecretCertificateStore implements CertificateStore {
  readonly location: string;
  readonly #api: CoreV1Api;
  readonly #server: string;
  readonly #namespace: string;
  readonly #name: string;
  readonly #logger: Logger | undefined;
  // this process's writes queue behind each other, so that conflicts come only from other processes
  #writes: Promise<unknown> = Promise.resolve();

  constructor(options: SecretCertificateStoreOptions) {
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.#logger = options.logger;
    this.location = `secret ${options.namespace}/${options.name}`;
    this.#server = options.kubeConfig.getCurrentCluster()?.server ?? '(no server in the kubeconfig)';
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  async read(name: string): Promise<string | undefined> {
    assertDataKey(name);
    const secret = await this.#get();
    return decodedEntry(secret, name);
  }

  async write(entries: readonly StoreEntry[]): Promise<void> {
    for (const entry of entries) assertDataKey(entry.name);
    if (new Set(entries.map((entry) => entry.name)).size !== entries.length) {
      throw new RangeError('a store write names the same entry twice');
    }
    await this.update([], () => entries);
  }

  async update(names: readonly string[], change: StoreChange): Promise<void> {
    for (const name of names) assertDataKey(name);
    const result = this.#writes.then(() => this.#compareAndSwap(names, change));
    this.#writes = result.catch(() => undefined);
    return result;
  }

  async #compareAndSwap(names: readonly string[], change: StoreChange): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const secret = await this.#get();
      const current = new Map(names.map((name) => [name, decodedEntry(secret, name)] as const));
      const entries = await change(current);
      if (entries === undefined || entries.length === 0) return;
      for (const entry of entries) assertDataKey(entry.name);
      if (entries.every((entry) => decodedEntry(secret, entry.name) === entry.content)) return;
      const data = { ...(secret?.data ?? {}) };
      for (const entry of entries) data[entry.name] = Buffer.from(entry.content, 'utf8').toString('base64');
      const stored = secret === undefined ? await this.#create(data) : await this.#replace(secret, data);
      if (stored) return;
      if (attempt >= MAX_WRITE_ATTEMPTS) {
        throw new CertificateStoreError(
          'WRITE_CONFLICT',
          `${this.location} kept changing under this write (${attempt} attempts, each overtaken by another writer); ` +
            'check which processes write it (several cloudcores at once?) and try again',
        );
      }
      this.#logger?.debug({ secret: this.location, attempt }, 'another writer changed the secret first; reading it again');
      // a little jitter, so two processes retrying do not collide again in lockstep
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }

  async #get(): Promise<V1Secret | undefined> {
    try {
      return await this.#api.readNamespacedSecret({ name: this.#name, namespace: this.#namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw this.#failure(error, 'get');
    }
  }

  /** false when another writer created the Secret first */
  async #create(data: Record<string, string>): Promise<boolean> {
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: { name: this.#name, namespace: this.#namespace, labels: { [PART_OF_LABEL]: 'kedge' } },
      data,
    };
    try {
      await this.#api.createNamespacedSecret({ namespace: this.#namespace, body });
      this.#logger?.info({ secret: this.location }, 'created the secret that holds the certificate authority');
      return true;
    } catch (error) {
      if (error instanceof ApiException && error.code === 409) return false;
      if (error instanceof ApiException && error.code === 404) {
        throw new CertificateStoreError(
          'REJECTED',
          `cannot create ${this.location}: namespace "${this.#namespace}" does not exist on ${this.#server}; ` +
            `create it (kubectl create namespace ${this.#namespace}) or set pki.secretNamespace to an existing one`,
          { cause: error },
        );
      }
      throw this.#failure(error, 'create');
    }
  }

  /** false when another writer changed the Secret after `secret` was read (409 Conflict) */
  async #replace(secret: V1Secret, data: Record<string, string>): Promise<boolean> {
    // the resourceVersion read above makes the API server refuse this update if anyone wrote in between
    const body: V1Secret = { ...secret, data };
    try {
      await this.#api.replaceNamespacedSecret({ name: this.#name, namespace: this.#namespace, body });
      return true;
    } catch (error) {
      // 404: deleted since the read; the next attempt creates it again
      if (error instanceof ApiException && (error.code === 409 || error.code === 404)) return false;
      throw this.#failure(error, 'update');
    }
  }

  #failure(error: unknown, verb: SecretVerb): CertificateStoreError {
    if (error instanceof ApiException) {
      const reason = statusMessage(error);
      if (error.code === 403) {
        return new CertificateStoreError(
          'ACCESS_DENIED',
          `${this.#server} refused to ${verb} ${this.location}: ${reason}. Grant cloudcore's service account the ` +
            `"${verb}" verb on secrets in namespace "${this.#namespace}" (resourceNames: ["${this.#name}"]); ` +
            'deploy/cloudcore has the Role and RoleBinding to apply',
          { cause: error },
        );
      }
      if (error.code === 401) {
        return new CertificateStoreError(
          'ACCESS_DENIED',
          `${this.#server} did not accept the credentials (401) on ${verb} ${this.location}: ${reason}; check the kubeconfig's user or the service account token`,
          { cause: error },
        );
      }
      return new CertificateStoreError('REJECTED', `${this.#server} answered ${error.code} to ${verb} ${this.location}: ${reason}`, {
        cause: error,
      });
    }
    const text = error instanceof Error ? error.message : String(error);
    return new CertificateStoreError(
      'UNREACHABLE',
      `cannot reach the Kubernetes API server ${this.#server} to ${verb} ${this.location}: ${text}; check the kubeconfig's server and that the API server is up`,
      { cause: error },
    );
  }
}

function decodedEntry(secret: V1Secret | undefined, name: string): string | undefined {
  const value = secret?.data?.[name];
  return value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
}

function assertDataKey(name: string): void {
  if (typeof name !== 'string' || !DATA_KEY.test(name) || name === '.' || name === '..') {
    throw new CertificateStoreError(
      'INVALID_NAME',
      `store entry name ${JSON.stringify(name)} cannot be a Secret data key; use letters, digits, "-", "_" and "." such as "ca.crt"`,
    );
  }
}

/** the API server's Status message, or the raw body */
function statusMessage(error: ApiException<unknown>): string {
  const body = error.body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | null;
    if (typeof status?.message === 'string') return status.message;
  } catch {
    // not a Status body
  }
  return typeof body === 'string' && body.length > 0 ? body : `HTTP ${error.code}`;
}
