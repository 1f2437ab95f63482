// Starts cloudcore's real certificate server in a child process (edge code may not import cloud
// code, so it is started by path) and collects the events it prints.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { JoinTokenLedger, createJoinToken, loadOrCreateAuthority, type CertificateAuthority, type IssueJoinTokenOptions } from '@kedge/pki';

const workspace = fileURLToPath(new URL('../../../../', import.meta.url));
const serverScript = fileURLToPath(
  new URL('../../../cloudcore/test/certificates/fixtures/certificate-server-process.ts', import.meta.url),
);

export interface CloudEvent {
  type: string;
  reason?: string;
  nodeName?: string;
  via?: string;
  serialNumber?: string;
}

export interface CloudCertificateServer {
  url: string;
  authority: CertificateAuthority;
  events: CloudEvent[];
  /** a token registered in the server's ledger, as `kedgeadm token create` makes it (600 s by default) */
  token(binding: string | Omit<IssueJoinTokenOptions, 'ttlSeconds'>, ttlSeconds?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startCloudCertificateServer(dataDir: string): Promise<CloudCertificateServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverScript, dataDir], {
    cwd: workspace,
    stdio: ['pipe', 'pipe', 'inherit'], // stdin: the child exits when it closes, even if this process crashes
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const events: CloudEvent[] = [];
  let onEarlyExit: (code: number | null) => void = () => undefined;
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    onEarlyExit = (code) => reject(new Error(`certificate server process exited with ${code} before listening`));
    child.once('exit', onEarlyExit);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as CloudEvent & { port?: number };
      if (message.type === 'listening' && message.port !== undefined) resolve(message.port);
      else events.push(message);
    });
  });
  child.off('exit', onEarlyExit);
  const authority = await loadOrCreateAuthority(dataDir);
  const ledger = new JoinTokenLedger(dataDir);
  return {
    url: `https://127.0.0.1:${port}`,
    authority,
    events,
    async token(binding, ttlSeconds = 600) {
      const options = typeof binding === 'string' ? { nodeName: binding } : binding;
      return (await createJoinToken(authority, ledger, { ttlSeconds, ...options })).token;
    },
    async stop() {
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(resolve, 5000, false))]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
