// edgecore's config file: who this gateway is, how it reaches the cloud, where it keeps its state.
import { endpointField, ipAddressField, logField, metricsEndpointField, portField } from '@kedge/config';
import { checkFilter, DEFAULT_ANONYMOUS_RULES, isLoopbackHost } from '@kedge/eventbus';
import { z } from 'zod';

const pathField = z.string().regex(/^\//, 'expected an absolute path, e.g. /etc/kedge/mqtt/mapper.password');
const topicFilters = z.array(
  z.string().refine((filter) => {
    try {
      checkFilter(filter);
      return true;
    } catch {
      return false;
    }
  }, 'expected an MQTT topic filter: "+" and "#" only as whole levels, "#" last, e.g. $hw/events/device/+/+/twin/update'),
);
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 10.0.0.5:10000 or cloud.example.com:10000');

export const edgeCoreConfigSchema = z
  .object({
    apiVersion: z.literal('kedge.io/v1alpha1').optional(),
    kind: z.literal('EdgeCore').optional(),
    nodeName: z
      .string()
      .max(253)
      .regex(dns1123Subdomain, 'expected a DNS-1123 name: lowercase letters, digits, "-" and ".", e.g. gateway-01'),
    /** certificates (and later the local store) live here */
    dataDir: z.string().min(1).default('/var/lib/kedge/edgecore'),
    edgeHub: z
      .object({
        protocol: z.enum(['websocket', 'quic', 'webtransport']).default('websocket'),
        /** cloudhub WebSocket endpoint */
        server: hostPort.default('127.0.0.1:10000'),
        /** cloudhub QUIC endpoint (UDP) */
        quicServer: hostPort.default('127.0.0.1:10001'),
        /** cloudhub WebTransport (over HTTP/2, TCP) endpoint */
        webTransportServer: hostPort.default('127.0.0.1:10003'),
        /** cloudhub certificate endpoint */
        httpServer: z.string().url().startsWith('https://', 'expected an https:// URL').default('https://127.0.0.1:10002'),
        projectId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).default('e632aba927ea4ac2b575ec1603d56f10'),
        /**
         * a file holding the join token, read on the first start only (before the node has a
         * certificate); keep it readable by root only and delete it after the join
         */
        tokenFile: z.string().min(1).optional(),
        /** the join token itself, inline: deprecated (the config is often world-readable), use tokenFile */
        token: z.string().min(1).optional(),
        heartbeatSeconds: z.number().int().min(1).max(300).default(15),
        reconnect: z
          .object({
            initialDelayMs: z.number().int().min(10).default(500),
            maxDelayMs: z.number().int().min(100).default(30_000),
          })
          .strict()
          .prefault({}),
        maxFrameBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(8 * 1024 * 1024),
      })
      .strict()
      .prefault({}),
    /** labels this gateway's Node gets, e.g. {site: plant-7} */
    labels: z.record(z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'expected a label key'), z.string().max(63)).default({}),
    /**
     * The local read-only Kubernetes API over HTTPS. Every request but /healthz, /livez and /readyz needs
     * the local credential (<dataDir>/metaserver/token; kubectl: --kubeconfig <dataDir>/metaserver/kubeconfig),
     * and its Host header must be localhost, 127.0.0.1, ::1, the listen address or one of allowedHosts.
     */
    metaServer: endpointField({ enable: true, address: '127.0.0.1', port: 10550 })
      .unwrap()
      .extend({
        /** more host names (or addresses) clients may reach MetaServer by; they also go into its certificate */
        allowedHosts: z.array(z.string().regex(/^([A-Za-z0-9.-]+|[0-9a-fA-F:]+)$/, 'expected a host name or address without port, e.g. gateway-7.plant.local')).max(32).default([]),
        /**
         * The Kubernetes API for pods on this node: a second HTTPS listener on an address the pod network
         * reaches (default: the node's primary internal IPv4, which bridge and hostNetwork pods both reach).
         * Pods get KUBERNETES_SERVICE_HOST/PORT pointing here, a projected ServiceAccount token (through
         * the cloud) and this MetaServer's CA as ca.crt; their tokens are checked with the cloud, reads
         * authorized by the cluster's RBAC, writes forwarded to the cloud with the pod's token.
         */
        podAccess: z
          .object({
            enable: z.boolean().default(true),
            /** empty: the node's primary internal IPv4 */
            address: z.union([ipAddressField, z.literal('')]).default(''),
            port: portField.default(10551),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    nodeStatus: z
      .object({
        leaseRenewSeconds: z.number().int().min(1).max(300).default(10),
        statusUpdateSeconds: z.number().int().min(1).max(3600).default(60),
      })
      .strict()
      .prefault({}),
    /** pods on containerd through CRI; edgecore keeps running without them when the runtime does not answer */
    edged: z
      .object({
        enable: z.boolean().default(true),
        containerRuntimeEndpoint: z
          .string()
          .regex(/^(unix:\/\/)?\/\S+$/, 'expected a unix socket, e.g. unix:///run/containerd/containerd.sock')
          .default('unix:///run/containerd/containerd.sock'),
        /** pod volumes and logs; default <dataDir>/pods */
        podsDir: z.string().min(1).optional(),
        /** first container restart back-off (kubelet: 10 s), doubling up to 5 min */
        restartBackoffBaseMs: z.number().int().min(10).max(300_000).optional(),
        /** the pause image image GC keeps when the runtime does not name its own (containerd does) */
        sandboxImage: z.string().min(1).optional(),
        /**
         * What pods may ask of this gateway. edged runs them as root, so whatever gives a pod the host is
         * refused unless allowed here; every other securityContext setting is honoured or the pod refused.
         */
        podSecurity: z
          .object({
            /** privileged containers, hostPID/hostIPC, capabilities beyond the baseline, seccomp Unconfined */
            allowPrivileged: z.boolean().default(false),
            /** hostNetwork pods share the gateway's network and reach its loopback services (MetaServer, MQTT, metrics) */
            allowHostNetwork: z.boolean().default(false),
            /** directories hostPath volumes may name (themselves or below); symlinks may not lead out of them */
            allowedHostPaths: z
              .array(
                z
                  .string()
                  .regex(/^\//, 'expected an absolute directory, e.g. /var/lib/app-data')
                  .refine((path) => !path.split('/').includes('..'), { message: "expected a path without '..'" }),
              )
              .default([]),
          })
          .strict()
          .prefault({}),
        /** removal of unused images when the image filesystem fills up; the kubelet's policy and defaults */
        imageGC: z
          .object({
            enable: z.boolean().default(true),
            highThresholdPercent: z.number().int().min(0).max(100).default(85),
            lowThresholdPercent: z.number().int().min(0).max(100).default(80),
            minimumAgeSeconds: z.number().int().min(0).default(120),
            periodSeconds: z.number().int().min(1).max(86_400).default(300),
          })
          .strict()
          .superRefine((gc, context) => {
            if (gc.lowThresholdPercent >= gc.highThresholdPercent) {
              context.addIssue({
                code: 'custom',
                path: ['lowThresholdPercent'],
                message: `expected below highThresholdPercent (${gc.highThresholdPercent}), got ${gc.lowThresholdPercent}: image GC frees space down to the low threshold once usage reaches the high one`,
              });
            }
          })
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** the MQTT bus of devices and mappers: an embedded broker (internal), an external one, or both bridged */
    eventBus: z
      .object({
        enable: z.boolean().default(true),
        mode: z.enum(['internal', 'external', 'both']).default('internal'),
        internal: z
          .object({
            /** 127.0.0.1 by default; any other address needs users (anonymous clients never get in from the LAN) */
            address: z.string().min(1).default('127.0.0.1'),
            /** 0 picks a free port (logged in "edgecore ready") */
            port: z.number().int().min(0).max(65535).default(1883),
            /** MQTT over TLS: PEM files (the key 0600) */
            tls: z
              .object({ certFile: pathField, keyFile: pathField, caFile: pathField.optional(), requireClientCert: z.boolean().default(false) })
              .strict()
              .refine((tls) => !tls.requireClientCert || tls.caFile !== undefined, { message: 'caFile is required with requireClientCert', path: ['caFile'] })
              .optional(),
            /** clients that log in: the password is read from passwordFile (0600), never written in this file */
            users: z
              .array(z.object({ username: z.string().min(1).max(128), passwordFile: pathField, publish: topicFilters, subscribe: topicFilters }).strict())
              .max(256)
              .default([]),
            /**
             * clients without a username, accepted only from the gateway itself (loopback peers): by default
             * the device contract a KubeEdge mapper uses and application topics; never a twin delta or `#`
             */
            anonymous: z
              .object({
                enable: z.boolean().default(true),
                publish: topicFilters.default([...DEFAULT_ANONYMOUS_RULES.publish]),
                subscribe: topicFilters.default([...DEFAULT_ANONYMOUS_RULES.subscribe]),
              })
              .strict()
              .prefault({}),
          })
          .strict()
          .superRefine((internal, context) => {
            if (!isLoopbackHost(internal.address) && internal.users.length === 0) {
              context.addIssue({
                code: 'custom',
                path: ['users'],
                message: `the internal broker would listen on ${internal.address}, beyond loopback, without authentication: add users (username, passwordFile, publish, subscribe) or set eventBus.internal.address to 127.0.0.1`,
              });
            }
          })
          .prefault({}),
        /** required in modes external and both */
        external: z
          .object({
            /** e.g. mqtt://127.0.0.1:1883 or mqtts://broker:8883; never with credentials in it */
            url: z
              .string()
              .regex(/^mqtts?:\/\/\S+$/, 'expected mqtt://host:port or mqtts://host:port')
              .refine((url) => !/^[a-z]+:\/\/[^/]*@/i.test(url), 'must not carry a username or password: use username and passwordFile'),
            username: z.string().min(1).optional(),
            /** the password, read from this file (0600) */
            passwordFile: pathField.optional(),
            tls: z.object({ caFile: pathField.optional(), certFile: pathField.optional(), keyFile: pathField.optional() }).strict().optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((bus) => bus.mode === 'internal' || bus.external !== undefined, { message: 'eventBus.external.url is required in modes external and both', path: ['external'] })
      .prefault({}),
    /** devices bound to this node and their twins, served on the eventBus */
    deviceTwin: z
      .object({
        enable: z.boolean().default(true),
        /** KubeEdge's DMI (gRPC) for mappers outside edgecore: DeviceManagerService on this unix socket */
        dmiEnable: z.boolean().default(true),
        /** the DMI socket (KubeEdge: /etc/kubeedge/dmi.sock); default <dataDir>/dmi.sock; created 0600 */
        dmiSockPath: pathField.optional(),
        /** 0660 lets the socket's group's mappers in; default owner only */
        dmiSockGroupAccess: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** mappers (modbus, bluetooth/ble, virtual) run inside edgecore for the member devices, on the eventBus */
    mappers: z
      .object({ enable: z.boolean().default(true) })
      .strict()
      .prefault({}),
    metrics: metricsEndpointField({ enable: true, address: '127.0.0.1', port: 10351 }),
    log: logField,
  })
  .strict();

export type EdgeCoreConfig = z.output<typeof edgeCoreConfigSchema>;
/** what a file may say before defaults apply: the type of what kedgeadm join writes */
export type EdgeCoreConfigInput = z.input<typeof edgeCoreConfigSchema>;
