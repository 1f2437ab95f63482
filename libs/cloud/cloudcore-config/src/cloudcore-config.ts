// cloudcore's config file: what it listens on, where it keeps its state, how it treats edges.
// Every field has a default, so an empty file (or none) gives a working single-machine cloudcore.
import { endpointField, ipAddressField, logField, metricsEndpointField, portField } from '@kedge/config';
import { DEFAULT_SECRET_NAME, defaultSecretNamespace } from '@kedge/pki-secret';
import { z } from 'zod';

// what Kubernetes accepts as a namespace (DNS-1123 label) and as a Secret name (DNS-1123 subdomain)
const namespaceName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'expected a Kubernetes namespace name: lowercase letters, digits and "-", at most 63 characters, e.g. kedge');
const secretName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'expected a Kubernetes object name: lowercase letters, digits, "-" and ".", e.g. cloudcore-pki');

const listener = (enable: boolean, port: number) => endpointField({ enable, address: '0.0.0.0', port });

export const cloudCoreConfigSchema = z
  .object({
    apiVersion: z.literal('kedge.io/v1alpha1').optional(),
    kind: z.literal('CloudCore').optional(),
    /** the embedded API server's data, and with pki.store file the CA, server certificate and token ledger */
    dataDir: z.string().min(1).default('/var/lib/kedge/cloudcore'),
    cloudHub: z
      .object({
        /** addresses edges use to reach this cloudcore; they go into the server certificate */
        advertiseAddresses: z
          .array(ipAddressField)
          .default(['127.0.0.1']),
        dnsNames: z.array(z.string().min(1)).default(['localhost']),
        websocket: listener(true, 10000),
        quic: listener(false, 10001),
        /** WebTransport over HTTP/2 (TCP); off by default, see docs/protocol.md */
        webtransport: listener(false, 10003),
        https: z
          .object({
            enable: z.boolean().default(true),
            address: ipAddressField.default('0.0.0.0'),
            port: portField.default(10002),
            /**
             * a directory with install.sh and kedge-gateway-<version>-linux-<arch>.tar.gz (tools/package/gateway-bundle.ts);
             * served as /install.sh and /bundles/ on this port, listed once at start. Unset: those answer 404.
             */
            bundleDir: z.string().min(1).optional(),
          })
          .strict()
          .prefault({}),
        keepaliveTimeoutSeconds: z.number().int().min(1).max(3600).default(30),
        nodeLimit: z.number().int().min(1).default(1000),
        maxFrameBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(8 * 1024 * 1024),
        /**
         * an edge (or anyone) must finish TLS within this, then send its WebSocket upgrade or open its QUIC
         * stream within it again; the certificate server likewise for TLS and then its request headers
         */
        handshakeTimeoutSeconds: z.number().int().min(1).max(120).default(10),
        /** per source IP, on the WebSocket, QUIC, WebTransport and HTTPS listeners; gateways behind one NAT share an IP */
        connectionLimits: z
          .object({
            maxConnectionsPerIp: z.number().int().min(1).default(128),
            newConnectionsPerIpPerSecond: z.number().min(0.1).default(20),
            newConnectionsBurstPerIp: z.number().int().min(1).default(100),
          })
          .strict()
          .prefault({}),
        /** what one connected node may make cloudcore do; past the rate or in-flight limit its socket is paused */
        inbound: z
          .object({
            messagesPerSecond: z.number().min(1).default(200),
            messageBurst: z.number().int().min(1).default(1000),
            maxInFlight: z.number().int().min(1).default(256),
            /** undecodable, oversized or misrouted frames in a minute that close the node's connection */
            maxBadFramesPerMinute: z.number().int().min(1).default(20),
          })
          .strict()
          .prefault({}),
        nodeCertificateValidityDays: z.number().int().min(1).max(3650).default(365),
      })
      .strict()
      .prefault({}),
    kubeAPI: z
      .object({
        /** a real cluster; without it (and outside a pod) cloudcore runs its embedded API server */
        kubeconfig: z.string().min(1).optional(),
        embedded: z
          .object({
            address: ipAddressField.default('127.0.0.1'),
            port: portField.default(6443),
            /** how often metrics.k8s.io scrapes every edge node's /metrics/resource (metrics-server's --metric-resolution) */
            metricsScrapeIntervalSeconds: z.number().min(0.5).max(3600).default(15),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    pki: z
      .object({
        /**
         * where the CA, server certificate and join-token ledger live: `file` under dataDir/pki, `secret`
         * in a Kubernetes Secret (a pod's disk does not outlive it), `auto` the Secret whenever cloudcore
         * uses a real cluster (kubeconfig or in-cluster) and files with the embedded API server
         */
        store: z.enum(['auto', 'file', 'secret']).default('auto'),
        /** the pod's own namespace in a cluster, else kedge */
        secretNamespace: namespaceName.default(() => defaultSecretNamespace()),
        secretName: secretName.default(DEFAULT_SECRET_NAME),
        /**
         * how often the revocation list is read again from the store, so that `kedgeadm node revoke`
         * (which writes it directly) drops the node's live session within this time
         */
        revocationReloadSeconds: z.number().int().min(1).max(300).default(2),
        /** deleting an edge Node revokes the certificates it was issued (off: only `kedgeadm node revoke` does) */
        revokeOnNodeDelete: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    kubeletApi: z
      .object({
        /**
         * the kubelet API (logs, exec, attach, port-forward, stats) for every edge node whose link this
         * cloudcore holds; edge Nodes' addresses and kubelet ports point here (docs/streams.md)
         */
        enable: z.boolean().default(true),
        bindAddress: ipAddressField.default('0.0.0.0'),
        /** the InternalIP edge Nodes get; default: env POD_IP, else cloudHub.advertiseAddresses[0], else the first non-internal IPv4 */
        advertiseAddress: ipAddressField.optional(),
        /** one port per edge node, from portRangeStart */
        portRangeStart: z.number().int().min(1).max(65535).default(10350),
        /** default: cloudHub.nodeLimit */
        portRangeSize: z.number().int().min(1).max(65535).optional(),
        /**
         * PEM CA of the client certificates accepted (kube-apiserver's kubelet client); default: the cloud CA,
         * plus with a real cluster the cluster's CA (service account ca.crt, or the kubeconfig's)
         */
        clientCAFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    edgeController: z
      .object({
        enable: z.boolean().default(true),
        /** also send services and endpoints of namespaces where a node has pods */
        syncServices: z.boolean().default(true),
        /** Events an edge may create per second, sustained; more are dropped and counted (token bucket) */
        eventsPerSecond: z.number().positive().max(1000).default(5),
        /** Events an edge may create in a burst above that rate */
        eventBurst: z.number().int().min(1).max(10_000).default(50),
      })
      .strict()
      .prefault({}),
    deviceController: z
      .object({
        /** devices.kubeedge.io CRDs, device membership down to nodes and twin reports up to DeviceStatus */
        enable: z.boolean().default(true),
        /**
         * Also write twin reports into Device.status, where KubeEdge <= 1.22 clients read them (DeviceStatus
         * is always written). Default true during the transition; set false once no client reads Device.status.
         */
        mirrorDeviceStatus: z.boolean().default(true),
        /**
         * how long a device method invoked from the cloud (POST .../devices/<name>/methods/<method> on the
         * certificate port) waits for the mapper's result on the edge
         */
        methodTimeoutSeconds: z.number().int().min(1).max(300).default(10),
      })
      .strict()
      .prefault({}),
    nodeLifecycle: z
      .object({
        enable: z.boolean().default(true),
        /** a lease not renewed for this long makes the node Ready=Unknown (pods of autonomous nodes stay) */
        gracePeriodSeconds: z.number().int().min(1).default(40),
        checkIntervalSeconds: z.number().int().min(1).default(5),
      })
      .strict()
      .prefault({}),
    controllers: z
      .object({
        /**
         * the scheduler and the workload controllers (Deployment, ReplicaSet, DaemonSet, Job, CronJob,
         * StatefulSet): `auto` runs them with the
         * embedded API server only (a real cluster has its own kube-controller-manager and kube-scheduler,
         * and two schedulers binding the same pods would fight), `true` always, `false` never
         */
        enable: z
          .union([z.literal('auto'), z.boolean()], { error: 'expected auto, true or false' })
          .default('auto'),
      })
      .strict()
      .prefault({}),
    metrics: metricsEndpointField({ enable: true, address: '127.0.0.1', port: 9091 }),
    log: logField,
  })
  .strict();

export type CloudCoreConfig = z.output<typeof cloudCoreConfigSchema>;
/** what a file may say before defaults apply: the type of what kedgeadm init writes */
export type CloudCoreConfigInput = z.input<typeof cloudCoreConfigSchema>;
