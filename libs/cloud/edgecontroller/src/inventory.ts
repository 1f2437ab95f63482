// The inventory an edge sends on every (re)connect: what it has, by type, namespace, name and
// resourceVersion. Types this controller does not sync (devices, ...) are not its business and are
// skipped; anything malformed refuses the whole inventory, so a half-read one never causes deletes.
import { CLUSTER_SCOPED_NAMESPACE } from '@kedge/protocol';
import { UpstreamRefusedError } from './errors';
import { isSyncType, type SyncType } from './objects';

export interface InventoryItem {
  type: SyncType;
  /** a namespace, or `null` for cluster-scoped objects */
  namespace: string;
  name: string;
  resourceVersion: string;
}

/** Resource type of the inventory query: `null/inventory/<node>`. */
export const INVENTORY_TYPE = 'inventory';

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DECIMAL = /^\d{1,20}$/;

function invalid(index: number, problem: string): UpstreamRefusedError {
  return new UpstreamRefusedError('invalid', `inventory item ${index}: ${problem}`);
}

/** @throws UpstreamRefusedError 'invalid' */
export function parseInventory(content: unknown): InventoryItem[] {
  const items = typeof content === 'object' && content !== null ? (content as { items?: unknown }).items : undefined;
  if (!Array.isArray(items)) throw new UpstreamRefusedError('invalid', 'inventory content must be {items: [{type, namespace, name, resourceVersion}]}');
  const result: InventoryItem[] = [];
  items.forEach((raw: unknown, index) => {
    if (typeof raw !== 'object' || raw === null) throw invalid(index, 'must be an object');
    const { type, namespace, name, resourceVersion } = raw as Record<string, unknown>;
    if (typeof type !== 'string') throw invalid(index, 'type must be a string');
    if (!isSyncType(type)) return;
    if (typeof name !== 'string' || !NAME.test(name)) throw invalid(index, `name ${JSON.stringify(name)} is not a Kubernetes name`);
    const clusterScoped = type === 'node';
    let ns: string;
    if (clusterScoped) ns = CLUSTER_SCOPED_NAMESPACE;
    else if (typeof namespace === 'string' && NAME.test(namespace) && namespace !== CLUSTER_SCOPED_NAMESPACE) ns = namespace;
    else throw invalid(index, `namespace ${JSON.stringify(namespace)} is not a namespace`);
    const version = typeof resourceVersion === 'number' ? String(resourceVersion) : resourceVersion;
    if (typeof version !== 'string' || !DECIMAL.test(version)) throw invalid(index, `resourceVersion ${JSON.stringify(resourceVersion)} is not a decimal string`);
    result.push({ type, namespace: ns, name, resourceVersion: version });
  });
  return result;
}
