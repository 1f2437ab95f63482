// Standard MQTT tools work against the edge's embedded broker: Debian's mosquitto_pub and
// mosquitto_sub (mosquitto-clients) speak KubeEdge's DeviceTwin API with the payloads a KubeEdge
// mapper sends. Each process is started by the test and stopped by pid.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { requires } from '@kedge/testkit';
import { afterEach, expect, it } from 'vitest';
import { Cleanup, device, membershipMessage, startEdge, topic, waitFor, type Edge } from './fixtures';

const run = promisify(execFile);
const cleanup = new Cleanup();
afterEach(() => cleanup.run());
const ID = 'default/thermo-1';

interface Subscriber {
  /** resolves with the payloads received once the subscriber exits (after `count` messages) */
  done: Promise<string[]>;
}

/** Starts mosquitto_sub for `count` messages on `filter` and resolves once its SUBACK arrived. */
async function subscribe(edge: Edge, filter: string, count: number): Promise<Subscriber> {
  // stdbuf (coreutils) execs mosquitto_sub in place (same pid) with line-buffered stdout, so the
  // SUBACK line of -d shows up while it runs
  const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(edge.port), '-q', '1', '-t', filter, '-C', String(count), '-W', '20', '-d', '-i', `sub-${process.pid}-${Date.now()}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('mosquitto_sub did not start (bash tools/install-system-deps.sh installs mosquitto-clients)');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanup.add(async () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
    await exited;
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => output.includes('SUBACK'), 'mosquitto_sub to be subscribed', { timeoutMs: 10_000, onTimeout: () => output });
  const done = exited.then((code) => {
    if (code !== 0) throw new Error(`mosquitto_sub exited with ${String(code)}: ${output}`);
    // -d adds "Client ... received ..." lines; the payloads are the other lines
    return output.split('\n').filter((line) => line.startsWith('{'));
  });
  return { done };
}

async function publish(edge: Edge, topicName: string, payload: string): Promise<void> {
  await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(edge.port), '-q', '1', '-t', topicName, '-m', payload], { timeout: 10_000 });
}

const clients = await requires('mosquitto-clients');

clients.describe('DeviceTwin with mosquitto-clients', () => {
  it('cli - mosquitto_pub sends a KubeEdge mapper twin update, mosquitto_sub receives the result and the delta', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10', desired: { setpoint: '22' } })], '10'));
    const result = await subscribe(edge, topic(ID, 'twin/update/result'), 1);
    const delta = await subscribe(edge, topic(ID, 'twin/update/delta'), 1);
    // what mappers-go's CreateMessageTwinUpdate produces
    await publish(edge, topic(ID, 'twin/update'), '{"event_id":"","timestamp":1700000000000,"twin":{"setpoint":{"actual":{"value":"20"},"metadata":{"type":"int"}}}}');
    const [answer] = await result.done;
    expect(JSON.parse(answer ?? '{}')).toMatchObject({ event_id: '', twin: { setpoint: { actual: { value: '20', typed_value: 20 }, metadata: { type: 'int' } } } });
    const [deltaBody] = await delta.done;
    expect(JSON.parse(deltaBody ?? '{}')).toMatchObject({ delta: { setpoint: '22' } });
  });

  it('cli - membership get over mosquitto_pub is answered on membership/get/result', async () => {
    const edge = await startEdge(cleanup);
    await edge.router.dispatch(membershipMessage([device({ name: 'thermo-1', rv: '10' })], '10'));
    const result = await subscribe(edge, '$hw/events/node/gw-1/membership/get/result', 1);
    await publish(edge, '$hw/events/node/gw-1/membership/get', '{"event_id":"cli"}');
    const [answer] = await result.done;
    expect(JSON.parse(answer ?? '{}')).toMatchObject({ event_id: 'cli', devices: [{ id: ID }] });
  });
});
