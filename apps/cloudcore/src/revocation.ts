// Certificate revocation in a running cloudcore: the list kept with the CA is read at start and
// again every few seconds (so that `kedgeadm node revoke`, which writes the store directly, reaches
// every cloudcore), and a deleted edge Node revokes that node's certificates here. Whenever the list
// changes, CloudHub drops the sessions of revoked certificates; the certificate server asks the
// store itself before it renews or issues a node certificate.
import { EDGE_ROLE_LABEL, ManagedInformer } from '@kedge/kube-client';
import type { KubeObject } from '@kedge/kube-core';
import { CertificateStoreError, RevocationList, RevocationStore, type CertificateStore } from '@kedge/pki';
import type { PeerRefusal } from '@kedge/cloudhub';
import type { Logger } from '@kedge/telemetry';
import type { PeerIdentity } from '@kedge/transport';
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';

export interface CertificateRevocationOptions {
  store: CertificateStore;
  /** for the Node informer; without it Node deletes do not revoke */
  kubeConfig?: KubeConfig;
  /** told whenever the list changed (CloudHub.revalidateSessions) */
  onChange: () => void;
  reloadIntervalMs: number;
  /**
   * the validity of the node certificates this cloudcore issues; declared in the list before the
   * first is issued, so that no cloudcore prunes a record while a certificate it covers can be valid
   */
  nodeCertificateValidityDays: number;
  logger: Logger;
  registry: Registry;
  now?: () => Date;
}

export interface CertificateRevocation {
  /** CloudHub's admitPeer: refuses a revoked certificate (and every certificate while the list is unreadable) */
  admitPeer(peer: PeerIdentity): PeerRefusal | undefined;
  /** the list as stored right now, with the revocations this process has not managed to store yet */
  fresh(): Promise<RevocationList>;
  /** the list last loaded */
  current(): RevocationList;
  close(): Promise<void>;
}

export async function startCertificateRevocation(options: CertificateRevocationOptions): Promise<CertificateRevocation> {
  const { logger } = options;
  const now = options.now ?? (() => new Date());
  const revocations = new RevocationStore(options.store, { now });
  const metrics = revocationMetrics(options.registry);
  // a damaged list at start stops cloudcore (the error says which file and what to do); so does a
  // store that cannot take the validity declaration (certificates must not be issued before it)
  let loaded = await revocations.declareValidity(options.nodeCertificateValidityDays);
  // revocations decided here but not yet stored (the store was unreachable): still enforced here
  let unstored = RevocationList.empty();
  let unreadable: string | undefined;
  let list = loaded;
  metrics.entries.set(list.size);

  const publish = (next: RevocationList, why: string): void => {
    const changed = next.toText() !== list.toText();
    list = next;
    metrics.entries.set(list.size);
    if (changed) {
      logger.info({ entries: list.size, why }, 'certificate revocation list changed; dropping sessions it revokes');
      const bytes = Buffer.byteLength(list.toText());
      metrics.bytes.set(bytes);
      if (bytes > LARGE_LIST_BYTES) {
        logger.warn(
          { bytes, entries: list.size, longestValidityDays: list.longestValidityDays },
          'the certificate revocation list is close to the 1 MiB a Secret can hold; shorten cloudHub.nodeCertificateValidityDays so that records expire sooner',
        );
      }
      options.onChange();
    }
  };

  const reload = async (): Promise<void> => {
    try {
      loaded = await revocations.load();
      if (unreadable !== undefined) logger.info({ store: revocations.location }, 'certificate revocation list readable again');
      unreadable = undefined;
      publish(loaded.merge(unstored), 'reloaded from the store');
    } catch (error) {
      metrics.reloadFailures.inc();
      if (error instanceof CertificateStoreError && error.code === 'CORRUPT_FILE') {
        // fail closed: without the list a revoked certificate cannot be told from a good one
        if (unreadable === undefined) {
          logger.error({ error: error.message }, 'certificate revocation list unreadable; refusing every node certificate until it is restored');
          unreadable = error.message;
          options.onChange();
        }
        return;
      }
      // unreachable store (API server down): keep enforcing the last list
      logger.warn({ error: (error as Error).message }, 'cannot reload the certificate revocation list; keeping the last one');
    }
  };
  const timer = setInterval(() => void reload(), options.reloadIntervalMs);
  timer.unref();

  let storing = 0;
  const revokeNode = async (nodeName: string, reason: string): Promise<void> => {
    const at = now();
    unstored = unstored.withNode(nodeName, reason, at);
    publish(list.merge(unstored), `${reason}: ${nodeName}`);
    storing += 1;
    try {
      // each store write carries every revocation not stored yet
      const pending = unstored;
      loaded = await revocations.revokeNode(nodeName, reason, at);
      if (pending.size > 1) loaded = await revocations.merge(pending);
      if (storing === 1) unstored = RevocationList.empty();
      publish(loaded, `${reason}: ${nodeName} (stored)`);
      metrics.revocations.inc({ trigger: 'node-deleted', result: 'stored' });
      logger.warn({ nodeName, reason, store: revocations.location }, 'node certificates revoked');
    } catch (error) {
      // enforced here already; the next successful store write (another delete) carries it along
      metrics.revocations.inc({ trigger: 'node-deleted', result: 'not-stored' });
      logger.error(
        { nodeName, error: (error as Error).message },
        'node certificates revoked in this cloudcore but not stored; run `kedgeadm node revoke` for this node once the store is reachable',
      );
    } finally {
      storing -= 1;
    }
  };

  const informer =
    options.kubeConfig === undefined
      ? undefined
      : new ManagedInformer<KubeObject>({
          kubeConfig: options.kubeConfig,
          resource: 'nodes',
          path: '/api/v1/nodes',
          // only edge nodes carry certificates from this CA
          labelSelector: EDGE_ROLE_LABEL,
          logger: logger.child({ informer: 'revocation-nodes' }),
          onEvent: (event, node) => {
            const name = node.metadata?.name;
            if (event === 'delete' && typeof name === 'string') void revokeNode(name, 'node deleted');
          },
        });
  await informer?.start();

  return {
    admitPeer(peer) {
      if (unreadable !== undefined) {
        return { reason: 'revocation-list-unreadable', message: 'cloudcore cannot read its certificate revocation list; try again later' };
      }
      if (peer.nodeName === undefined || peer.serialNumber === undefined || peer.notBefore === undefined) {
        return { reason: 'certificate-unknown', message: 'the client certificate could not be checked against the revocation list' };
      }
      const match = list.check({ nodeName: peer.nodeName, serialNumber: peer.serialNumber, notBefore: peer.notBefore });
      if (match === undefined) return undefined;
      return {
        reason: 'certificate-revoked',
        message: `the certificate of node "${peer.nodeName}" was revoked at ${match.revokedAt} (${match.reason}); join the node again with a new token from \`kedgeadm token\``,
      };
    },
    async fresh() {
      return (await revocations.load()).merge(unstored).merge(list);
    },
    current: () => list,
    async close() {
      clearInterval(timer);
      await informer?.stop();
    },
  };
}

/** three quarters of the 1 MiB a Kubernetes Secret (the store of a cloudcore on a real cluster) can hold */
const LARGE_LIST_BYTES = 768 * 1024;

function revocationMetrics(registry: Registry) {
  const registers = [registry];
  return {
    revocations: new Counter({
      name: 'kedge_certificate_revocations_total',
      help: 'Node certificate revocations made by this cloudcore, by trigger (node-deleted) and result (stored, not-stored)',
      labelNames: ['trigger', 'result'],
      registers,
    }),
    entries: new Gauge({ name: 'kedge_certificate_revocation_list_entries', help: 'Entries (nodes and serials) in the certificate revocation list', registers }),
    bytes: new Gauge({ name: 'kedge_certificate_revocation_list_bytes', help: 'Size of the stored certificate revocation list (a Secret holds at most 1 MiB)', registers }),
    reloadFailures: new Counter({
      name: 'kedge_certificate_revocation_reload_failures_total',
      help: 'Reloads of the certificate revocation list that failed (unreachable store or damaged list)',
      registers,
    }),
  };
}
