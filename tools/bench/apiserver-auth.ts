// Benchmark (a script, not a test): what authentication and RBAC cost per request in the embedded API
// server. GET of one configmap and LIST of a namespace with N configmaps, at a fixed concurrency, as the
// admin bearer token (system:masters, which skips RBAC: the baseline) and as a ServiceAccount token
// (an ES256 JWT from TokenRequest) bound to a Role through a RoleBinding, with unrelated Roles,
// RoleBindings and ClusterRoleBindings present so the RBAC authorizer has bindings to look through.
// The API server is the one embedded in a cloudcore child process. Writes its section of docs/benchmarks.md.
//
//   node --import tsx tools/bench/apiserver-auth.ts [--configmaps 500] [--concurrency 16] [--gets 4000]
//     [--lists 400] [--unrelated 200] [--rounds 2] [--dry-run]
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { loadavg } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import {
  benchCommand,
  benchTempDir,
  describeMachine,
  formatInteger,
  formatMs,
  formatRatio,
  loopbackCloudCoreConfig,
  machineInfo,
  mapLimit,
  markdownTable,
  parseBenchFlags,
  positiveInteger,
  progress,
  repoRoot,
  runBenchmark,
  sectionHeading,
  startCloudCoreProcess,
  stopAllCloudCores,
  summarizeLatencies,
  summaryTitle,
  textTable,
  writeBenchmarkSection,
  type CloudCoreProcess,
  type LatencySummary,
} from './bench-kit';

const SECTION = 'apiserver-auth';
const NAMESPACE = 'bench-auth';
const SERVICE_ACCOUNT = 'bench-reader';
const WARMUP_REQUESTS = 200;

const flags = parseBenchFlags(import.meta.filename, {
  configmaps: { type: 'string', default: '500' },
  concurrency: { type: 'string', default: '16' },
  gets: { type: 'string', default: '4000' },
  lists: { type: 'string', default: '400' },
  unrelated: { type: 'string', default: '200' },
  rounds: { type: 'string', default: '2' },
});

let cloud: CloudCoreProcess | undefined;

async function shutdown(): Promise<void> {
  await cloud?.stop(5_000);
  await stopAllCloudCores(2_000);
}

// ---------------------------------------------------------------------------------------------------
// a small HTTPS client: keep-alive agent, the server's CA, a bearer token per request

interface Endpoint {
  host: string;
  port: string;
  agent: Agent;
}

interface Timed {
  body: Buffer;
  millis: number;
}

function call(endpoint: Endpoint, token: string, method: string, path: string, body?: unknown): Promise<Timed> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
  return new Promise<Timed>((resolveCall, rejectCall) => {
    const sentAt = performance.now();
    const request = httpsRequest({ host: endpoint.host, port: endpoint.port, path, method, agent: endpoint.agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        const all = Buffer.concat(chunks);
        if (status >= 200 && status < 300) resolveCall({ body: all, millis: performance.now() - sentAt });
        else rejectCall(new Error(`${method} ${path}: HTTP ${status}: ${all.toString('utf8').slice(0, 500)}`));
      });
      response.on('error', rejectCall);
    });
    request.on('error', rejectCall);
    request.end(payload);
  });
}

// ---------------------------------------------------------------------------------------------------
// setup: the namespace, N configmaps, the ServiceAccount with its Role and RoleBinding, unrelated RBAC

async function setUp(endpoint: Endpoint, admin: string, settings: Settings): Promise<string> {
  const post = (path: string, body: object) => call(endpoint, admin, 'POST', path, body);
  const rbac = '/apis/rbac.authorization.k8s.io/v1';
  await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  progress(`setup: ${settings.configmaps} configmaps in ${NAMESPACE}`);
  await mapLimit(
    Array.from({ length: settings.configmaps }, (_, i) => i),
    settings.concurrency,
    (i) =>
      post(`/api/v1/namespaces/${NAMESPACE}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${String(i).padStart(5, '0')}`, labels: { app: 'bench', shard: String(i % 16) } },
        data: { 'app.properties': 'log.level=info\nfeature.telemetry=true\nsync.interval=30s\nretry.max=5\n', index: String(i) },
      }),
  );
  // unrelated RBAC: Roles and RoleBindings in the same namespace (bound to other users), ClusterRoleBindings
  // to other users and groups; none of them matches the ServiceAccount
  progress(`setup: ${settings.unrelated} unrelated Roles, RoleBindings and ClusterRoleBindings`);
  await post(`${rbac}/clusterroles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'bench-unrelated' },
    rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }],
  });
  await mapLimit(
    Array.from({ length: settings.unrelated }, (_, i) => i),
    settings.concurrency,
    async (i) => {
      const name = `unrelated-${String(i).padStart(4, '0')}`;
      await post(`${rbac}/namespaces/${NAMESPACE}/roles`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name },
        rules: [{ apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list', 'watch'] }, { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }],
      });
      await post(`${rbac}/namespaces/${NAMESPACE}/rolebindings`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [
          { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `user-${i}` },
          { kind: 'ServiceAccount', namespace: NAMESPACE, name: `other-${i}` },
        ],
      });
      await post(`${rbac}/clusterrolebindings`, {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'bench-unrelated' },
        subjects: [
          { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `user-${i}` },
          { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: `group-${i}` },
        ],
      });
    },
  );
  // the reader: a ServiceAccount bound to a Role that may get and list configmaps
  await post(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT } });
  await post(`${rbac}/namespaces/${NAMESPACE}/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'configmap-reader' },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
  });
  await post(`${rbac}/namespaces/${NAMESPACE}/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'configmap-reader' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
    subjects: [{ kind: 'ServiceAccount', namespace: NAMESPACE, name: SERVICE_ACCOUNT }],
  });
  const tokenRequest = await post(`/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${SERVICE_ACCOUNT}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  const token = (JSON.parse(tokenRequest.body.toString('utf8')) as { status?: { token?: string } }).status?.token;
  if (!token) throw new Error('TokenRequest answered without status.token');
  return token;
}

// ---------------------------------------------------------------------------------------------------
// measuring

interface Settings {
  configmaps: number;
  concurrency: number;
  gets: number;
  lists: number;
  unrelated: number;
  rounds: number;
}

interface Run extends LatencySummary {
  perSecond: number;
}

/** `count` requests with at most `concurrency` in flight; latencies and requests per second. */
async function burst(endpoint: Endpoint, token: string, path: string, count: number, concurrency: number, check: (body: Buffer) => void): Promise<{ millis: number[]; seconds: number }> {
  const millis = new Array<number>(count);
  const start = performance.now();
  await mapLimit(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const reply = await call(endpoint, token, 'GET', path);
      millis[i] = reply.millis;
      if (i === 0) check(reply.body);
    },
  );
  return { millis, seconds: (performance.now() - start) / 1000 };
}

/**
 * The same requests as the admin and as the ServiceAccount, alternating in `rounds` rounds of
 * count/rounds each (so drift on the machine falls on both), merged per identity.
 */
async function compare(
  endpoint: Endpoint,
  tokens: { admin: string; serviceAccount: string },
  label: string,
  path: string,
  count: number,
  settings: Settings,
  check: (body: Buffer) => void,
): Promise<{ admin: Run; serviceAccount: Run }> {
  for (const token of [tokens.admin, tokens.serviceAccount]) await burst(endpoint, token, path, Math.min(WARMUP_REQUESTS, count), settings.concurrency, check);
  const perRound = Math.ceil(count / settings.rounds);
  const merged = { admin: { millis: [] as number[], seconds: 0 }, serviceAccount: { millis: [] as number[], seconds: 0 } };
  for (let round = 0; round < settings.rounds; round++) {
    for (const who of ['admin', 'serviceAccount'] as const) {
      const result = await burst(endpoint, tokens[who], path, perRound, settings.concurrency, check);
      merged[who].millis.push(...result.millis);
      merged[who].seconds += result.seconds;
    }
  }
  const summarize = (who: 'admin' | 'serviceAccount'): Run => ({ ...summarizeLatencies(merged[who].millis), perSecond: merged[who].millis.length / merged[who].seconds });
  const result = { admin: summarize('admin'), serviceAccount: summarize('serviceAccount') };
  progress(
    `${label}: admin ${formatInteger(result.admin.perSecond)}/s p50 ${formatMs(result.admin.p50)}; ` +
      `ServiceAccount ${formatInteger(result.serviceAccount.perSecond)}/s p50 ${formatMs(result.serviceAccount.p50)}`,
  );
  return result;
}

async function main(): Promise<void> {
  const settings: Settings = {
    configmaps: positiveInteger('configmaps', flags.configmaps),
    concurrency: positiveInteger('concurrency', flags.concurrency),
    gets: positiveInteger('gets', flags.gets),
    lists: positiveInteger('lists', flags.lists),
    unrelated: positiveInteger('unrelated', flags.unrelated),
    rounds: positiveInteger('rounds', flags.rounds),
  };
  const machine = machineInfo();
  const startLoad = loadavg().map((value) => value.toFixed(1)).join(', ');
  progress(`apiserver-auth bench on ${describeMachine(machine)}; load average ${startLoad}`);

  cloud = await startCloudCoreProcess({
    repoRoot,
    dataDir: benchTempDir('kedge-bench-apiserver-auth-'),
    config: loopbackCloudCoreConfig({}, { kubeAPI: { embedded: { address: '127.0.0.1', port: 0 } } }),
  });
  if (!cloud.kubeconfig) throw new Error('cloudcore reported no kubeconfig for its embedded API server');
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cloud.kubeconfig);
  const cluster = kubeConfig.getCurrentCluster();
  const admin = kubeConfig.getCurrentUser()?.token;
  if (!cluster || !admin) throw new Error(`${cloud.kubeconfig}: no cluster or no bearer token`);
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : readFileSync(cluster.caFile as string, 'utf8');
  const url = new URL(cluster.server);
  const endpoint: Endpoint = { host: url.hostname, port: url.port, agent: new Agent({ ca, keepAlive: true, maxSockets: settings.concurrency }) };
  progress(`cloudcore pid ${cloud.pid} ready; embedded API server at ${url.origin}`);

  try {
    const serviceAccount = await setUp(endpoint, admin, settings);
    const tokens = { admin, serviceAccount };
    progress(`setup done; ServiceAccount token of ${serviceAccount.length} characters`);

    const getPath = `/api/v1/namespaces/${NAMESPACE}/configmaps/cm-00000`;
    const listPath = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
    const get = await compare(endpoint, tokens, 'GET', getPath, settings.gets, settings, (body) => {
      if ((JSON.parse(body.toString('utf8')) as { metadata?: { name?: string } }).metadata?.name !== 'cm-00000') throw new Error('GET returned another object');
    });
    let listBytes = 0;
    const list = await compare(endpoint, tokens, 'LIST', listPath, settings.lists, settings, (body) => {
      listBytes = body.length;
      const items = (JSON.parse(body.toString('utf8')) as { items?: unknown[] }).items?.length;
      if (items !== settings.configmaps) throw new Error(`LIST returned ${String(items)} configmaps, expected ${settings.configmaps}`);
    });
    // the authorizer must still refuse what the Role does not grant
    await call(endpoint, serviceAccount, 'GET', `/api/v1/namespaces/${NAMESPACE}/secrets`).then(
      () => {
        throw new Error('the ServiceAccount could list secrets: RBAC is not being applied');
      },
      (error: unknown) => {
        if (!String(error).includes('HTTP 403')) throw error;
      },
    );
    report({ settings, machine, startLoad, get, list, listBytes });
  } finally {
    endpoint.agent.destroy();
  }
}

function report(r: {
  settings: Settings;
  machine: ReturnType<typeof machineInfo>;
  startLoad: string;
  get: { admin: Run; serviceAccount: Run };
  list: { admin: Run; serviceAccount: Run };
  listBytes: number;
}): void {
  const { settings, machine } = r;
  const headers = ['request', 'identity', 'requests', 'requests/s', 'p50', 'p99', 'max'];
  const line = (request: string, identity: string, run: Run): string[] => [
    request,
    identity,
    formatInteger(run.count),
    formatInteger(run.perSecond),
    formatMs(run.p50),
    formatMs(run.p99),
    formatMs(run.max),
  ];
  const getLabel = 'GET one configmap';
  const listLabel = `LIST ${formatInteger(settings.configmaps)} configmaps (${formatInteger(r.listBytes / 1024)} KiB)`;
  const rows = [
    line(getLabel, 'admin token (system:masters, baseline)', r.get.admin),
    line(getLabel, 'ServiceAccount JWT + RBAC', r.get.serviceAccount),
    line(listLabel, 'admin token (system:masters, baseline)', r.list.admin),
    line(listLabel, 'ServiceAccount JWT + RBAC', r.list.serviceAccount),
  ];
  const ratioHeaders = ['request', 'requests/s SA ÷ admin', 'p50 SA ÷ admin', 'p99 SA ÷ admin', 'extra p50 per request'];
  const ratioRow = (label: string, pair: { admin: Run; serviceAccount: Run }): string[] => [
    label,
    formatRatio(pair.serviceAccount.perSecond / pair.admin.perSecond),
    formatRatio(pair.serviceAccount.p50 / pair.admin.p50),
    formatRatio(pair.serviceAccount.p99 / pair.admin.p99),
    formatMs(pair.serviceAccount.p50 - pair.admin.p50),
  ];
  const ratioRows = [ratioRow(getLabel, r.get), ratioRow(listLabel, r.list)];

  process.stdout.write(summaryTitle('apiserver-auth', machine));
  process.stdout.write(`${textTable(headers, rows)}\n\n${textTable(ratioHeaders, ratioRows)}\n`);

  const body = [
    ...sectionHeading('Embedded API server: authentication and RBAC cost', machine, benchCommand('apiserver-auth'), [
      `- Load average when it started: ${r.startLoad} (other work on the machine competes for the cores)`,
    ]),
    'The embedded API server of a cloudcore child process (`kubeAPI.embedded`, log level info); the benchmark',
    'process is the client (plain `node:https`, one keep-alive agent with at most',
    `${settings.concurrency} connections, ${settings.concurrency} requests in flight). The namespace \`${NAMESPACE}\` holds ${formatInteger(settings.configmaps)} configmaps.`,
    `**Baseline:** the admin bearer token, whose user is in \`system:masters\` and so skips RBAC. **Measured:** a`,
    `token for the ServiceAccount \`${NAMESPACE}/${SERVICE_ACCOUNT}\` from TokenRequest (ES256 JWT; the server checks the`,
    'signature, expiry, audience and that the ServiceAccount still exists), bound by a RoleBinding to a Role that',
    `may get and list configmaps. Also present: ${formatInteger(settings.unrelated)} unrelated Roles and ${formatInteger(settings.unrelated)} RoleBindings in the same`,
    `namespace and ${formatInteger(settings.unrelated)} ClusterRoleBindings, bound to other users, groups and ServiceAccounts, so`,
    'the RBAC authorizer has bindings to go through on every request (it caches roles and bindings until one',
    'changes; nothing changes while measuring). Each identity gets an unmeasured warm-up, then the two',
    `alternate in ${settings.rounds} rounds; a row merges its rounds (requests/s = requests ÷ summed wall time). Latency is`,
    'request sent → response body received. After the runs the ServiceAccount is checked to get 403 on secrets.',
    '',
    markdownTable(headers, rows),
    '',
    markdownTable(ratioHeaders, ratioRows),
    '',
    'A requests/s ratio below 1 (and latency ratios above 1) is what authenticating the JWT and authorizing',
    'through RBAC add over the admin path; the extra p50 is the difference in milliseconds.',
  ].join('\n');
  writeBenchmarkSection(SECTION, body, flags['dry-run']);
}

runBenchmark('apiserver-auth bench', main, { shutdown, stopping: 'stopping cloudcore', failureDetail: () => cloud?.recentStderr() ?? '' });
