// Which CertificateStore holds cloudcore's CA, server certificate and token ledger. In a cluster the
// pod's disk is gone after a restart, and every joined edge trusts exactly this CA, so it lives in a
// Secret there; the embedded API server on one machine keeps it in files beside its own data.
import { join } from 'node:path';
import { FileCertificateStore, type CertificateStore } from '@kedge/pki';
import { SecretCertificateStore } from '@kedge/pki-secret';
import type { Logger } from '@kedge/telemetry';
import type { CloudCoreConfig } from '@kedge/cloudcore-config';
import type { KubeApiConnection } from './kube-api';

export interface PkiStoreChoice {
  store: CertificateStore;
  kind: 'file' | 'secret';
  /** why this kind, for the log */
  reason: string;
}

export function choosePkiStore(config: CloudCoreConfig, kubeApi: KubeApiConnection, logger: Logger): PkiStoreChoice {
  const { pki } = config;
  const kind = pki.store === 'auto' ? (kubeApi.source === 'embedded' ? 'file' : 'secret') : pki.store;
  const reason =
    pki.store === 'auto'
      ? `pki.store auto with ${kubeApi.source === 'embedded' ? 'the embedded API server' : `a ${kubeApi.source} cluster`}`
      : `pki.store ${pki.store}`;
  if (kind === 'file') return { store: new FileCertificateStore(join(config.dataDir, 'pki')), kind, reason };
  const store = new SecretCertificateStore({
    kubeConfig: kubeApi.kubeConfig,
    namespace: pki.secretNamespace,
    name: pki.secretName,
    logger: logger.child({ module: 'pki' }),
  });
  return { store, kind, reason };
}
