// kill -9 during a burst of twin updates: every update the embedded broker PUBACKed, and every one whose
// `update/result` was published, is in the TwinStore after a restart. The edge (EventBus + DeviceTwin +
// TwinStore) is a real child process on a real SQLite file; the mappers are real mqtt.js clients.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { TwinStore } from '../src/index';

const FIXTURE = fileURLToPath(new URL('./fixtures-process/twin-edge.ts', import.meta.url));
const DEVICES = 8;

const children: ChildProcess[] = [];
const clients: MqttClient[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.endAsync(true).catch(() => undefined);
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function startEdge(file: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, file, String(DEVICES)], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    createInterface(child.stdout!).once('line', (line) => resolve({ child, port: (JSON.parse(line) as { port: number }).port }));
    child.once('exit', (code, signal) => reject(new Error(`the twin edge exited early (${code ?? signal})`)));
  });
}

const update = (value: number) => JSON.stringify({ event_id: `e${value}`, timestamp: 0, twin: { count: { actual: { value: String(value) }, metadata: { type: 'int' } } } });

describe('crash', () => {
  it('crash - every PUBACKed or result-published twin update survives kill -9 in the middle of a burst', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kedge-twin-crash-'));
    dirs.push(dir);
    const file = join(dir, 'devicetwin.db');
    const { child, port } = await startEdge(file);
    const url = `mqtt://127.0.0.1:${port}`;
    /** per device: the highest value PUBACKed, and the highest value whose update/result arrived */
    const pubacked = new Map<string, number>();
    const resulted = new Map<string, number>();
    const watcher = await connectAsync(url, { reconnectPeriod: 0 });
    clients.push(watcher);
    watcher.on('message', (topic, payload) => {
      const name = topic.split('/')[4] ?? '';
      const value = Number((JSON.parse(payload.toString()) as { twin?: { count?: { actual?: { value?: string } } } }).twin?.count?.actual?.value);
      if (Number.isFinite(value)) resulted.set(name, Math.max(resulted.get(name) ?? 0, value));
    });
    await watcher.subscribeAsync('$hw/events/device/default/+/twin/update/result', { qos: 1 });
    const mapper = await connectAsync(url, { reconnectPeriod: 0 });
    clients.push(mapper);
    let acknowledged = 0;
    let stop = false;
    // one lane per device, each value after the previous one's PUBACK, so a device's values are stored in order
    Array.from({ length: DEVICES }, async (_, i) => {
      const name = `sensor-${i}`;
      for (let value = 1; !stop; value++) {
        try {
          await mapper.publishAsync(`$hw/events/device/default/${name}/twin/update`, update(value), { qos: 1 });
        } catch {
          return; // the connection died with the edge: not acknowledged
        }
        if (stop) return;
        pubacked.set(name, value);
        acknowledged++;
      }
    });
    const deadline = Date.now() + 30_000;
    while (acknowledged < 300 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(acknowledged).toBeGreaterThanOrEqual(300);
    const closed = new Promise<void>((resolve) => mapper.once('close', () => resolve()));
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // PUBACKs already on the wire when the edge died are read before the connection closes
    await closed;
    stop = true;
    // publishes left in flight never settle on a closed mqtt.js client: take what was acknowledged now
    const acked = new Map(pubacked);
    const results = new Map(resulted);
    // the lanes' last publishes never settle; they are left to the client's forced end

    const store = new TwinStore({ file });
    try {
      for (let i = 0; i < DEVICES; i++) {
        const name = `sensor-${i}`;
        const stored = Number(store.device(`default/${name}`)?.twins.find((twin) => twin.name === 'count')?.reported?.value ?? 0);
        // the last acknowledged value, or the one update in flight when the edge died
        expect(acked.get(name), `${name} acknowledged`).toBeGreaterThan(0);
        expect(stored, `${name} stored`).toBeGreaterThanOrEqual(acked.get(name) ?? 0);
        expect(stored, `${name} stored`).toBeGreaterThanOrEqual(results.get(name) ?? 0);
        expect(stored, `${name} stored`).toBeLessThanOrEqual((acked.get(name) ?? 0) + 1);
      }
    } finally {
      store.close();
    }
    // a child process under tsx on a loaded machine: generous, the test polls
  }, 60_000);
});
