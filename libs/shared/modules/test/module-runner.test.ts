import { Writable } from 'node:stream';
import { createLogger } from '@kedge/telemetry';
import { describe, expect, it } from 'vitest';
import {
  defineModule,
  ModuleGraphError,
  ModuleNotStartedError,
  ModuleRunner,
  ModuleStartError,
  ModuleStopError,
  ModuleStopTimeoutError,
  type Module,
} from '../src/index';

interface LogLine {
  level: number;
  msg: string;
  module?: string;
  error?: string;
}

function recordingLogger() {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as LogLine);
      done();
    },
  });
  return { lines, logger: createLogger({ name: 'test', level: 'debug', destination }) };
}

/** A module that records its start and stop in `events`, with optional failures and delays. */
function recorded(
  events: string[],
  name: string,
  options: { dependsOn?: string[]; failStart?: boolean; failStop?: boolean; stopMs?: number; healthy?: () => boolean } = {},
): Module {
  return {
    name,
    ...(options.dependsOn ? { dependsOn: options.dependsOn } : {}),
    async start() {
      events.push(`start ${name}`);
      if (options.failStart) throw new Error(`${name} cannot bind its port`);
    },
    async stop() {
      events.push(`stop ${name}`);
      if (options.stopMs) await new Promise((resolve) => setTimeout(resolve, options.stopMs));
      if (options.failStop) throw new Error(`${name} would not close`);
    },
    ...(options.healthy ? { health: () => ({ ok: options.healthy!(), details: { checked: true } }) } : {}),
  };
}

describe('module runner - order', () => {
  it('starts dependencies first, otherwise in list order, and stops in reverse', async () => {
    const events: string[] = [];
    const { logger, lines } = recordingLogger();
    const runner = new ModuleRunner({
      logger,
      modules: [
        recorded(events, 'hub', { dependsOn: ['pki', 'controller'] }),
        recorded(events, 'metrics'),
        recorded(events, 'controller', { dependsOn: ['kube-api'] }),
        recorded(events, 'pki', { dependsOn: ['kube-api'] }),
        recorded(events, 'kube-api'),
      ],
    });
    expect(runner.order).toEqual(['kube-api', 'pki', 'controller', 'hub', 'metrics']);
    await runner.start();
    await runner.stop();
    expect(events).toEqual([
      'start kube-api',
      'start pki',
      'start controller',
      'start hub',
      'start metrics',
      'stop metrics',
      'stop hub',
      'stop controller',
      'stop pki',
      'stop kube-api',
    ]);
    expect(lines.filter((l) => l.msg === 'module started').map((l) => l.module)).toEqual(runner.order);
  });

  it('stop is idempotent: a second call waits for the same stop and stops nothing twice', async () => {
    const events: string[] = [];
    const runner = new ModuleRunner({ logger: recordingLogger().logger, modules: [recorded(events, 'a', { stopMs: 20 })] });
    await runner.start();
    await Promise.all([runner.stop(), runner.stop()]);
    await runner.stop();
    expect(events).toEqual(['start a', 'stop a']);
  });
});

describe('module runner - refused module lists', () => {
  it('refuses a dependency cycle, naming the cycle', () => {
    const events: string[] = [];
    const build = () =>
      new ModuleRunner({
        logger: recordingLogger().logger,
        modules: [recorded(events, 'a', { dependsOn: ['b'] }), recorded(events, 'b', { dependsOn: ['c'] }), recorded(events, 'c', { dependsOn: ['a'] })],
      });
    expect(build).toThrow(ModuleGraphError);
    expect(build).toThrow('dependency cycle a -> b -> c -> a');
    try {
      build();
    } catch (error) {
      expect(error).toMatchObject({ module: 'c', field: 'dependsOn' });
    }
  });

  it('refuses a module depending on itself', () => {
    expect(() => new ModuleRunner({ logger: recordingLogger().logger, modules: [recorded([], 'a', { dependsOn: ['a'] })] })).toThrow(
      'module a: dependency cycle a -> a',
    );
  });

  it('refuses an unknown dependency, naming the module and the missing name', () => {
    const build = () => new ModuleRunner({ logger: recordingLogger().logger, modules: [recorded([], 'hub', { dependsOn: ['pki'] })] });
    expect(build).toThrow(/^module hub: depends on "pki", which is not in the module list \(hub\)$/);
    try {
      build();
    } catch (error) {
      expect(error).toMatchObject({ name: 'ModuleGraphError', module: 'hub', field: 'dependsOn' });
    }
  });

  it('refuses two modules with one name', () => {
    expect(() => new ModuleRunner({ logger: recordingLogger().logger, modules: [recorded([], 'a'), recorded([], 'a')] })).toThrow(
      expect.objectContaining({ module: 'a', field: 'name' }),
    );
  });
});

describe('module runner - failures', () => {
  it('a failure in the middle stops the modules started before it, in reverse, and names the module', async () => {
    const events: string[] = [];
    const { logger, lines } = recordingLogger();
    const runner = new ModuleRunner({
      logger,
      modules: [recorded(events, 'a'), recorded(events, 'b'), recorded(events, 'c', { failStart: true }), recorded(events, 'd')],
    });
    const error = await runner.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleStartError);
    expect(error).toMatchObject({ module: 'c', message: 'module c failed to start: c cannot bind its port' });
    expect((error as ModuleStartError).cause.message).toBe('c cannot bind its port');
    expect(events).toEqual(['start a', 'start b', 'start c', 'stop b', 'stop a']);
    expect(lines.find((l) => l.msg.startsWith('module failed to start'))).toMatchObject({ level: 50, module: 'c', error: 'c cannot bind its port' });
    expect(runner.health()).toEqual({
      ok: false,
      modules: {
        a: { state: 'stopped', ok: false },
        b: { state: 'stopped', ok: false },
        c: { state: 'failed', ok: false, error: 'c cannot bind its port' },
        d: { state: 'pending', ok: false },
      },
    });
    // nothing left to stop
    await runner.stop();
    expect(events).toHaveLength(5);
  });

  it('a stop that hangs times out and the others still stop; stop then names it', async () => {
    const events: string[] = [];
    const { logger, lines } = recordingLogger();
    const runner = new ModuleRunner({
      logger,
      stopTimeoutMs: 50,
      modules: [recorded(events, 'a'), recorded(events, 'b', { stopMs: 5_000 }), recorded(events, 'c')],
    });
    await runner.start();
    const began = Date.now();
    const error = await runner.stop().catch((e: unknown) => e);
    expect(Date.now() - began).toBeLessThan(1_000);
    expect(events.slice(3)).toEqual(['stop c', 'stop b', 'stop a']);
    expect(error).toBeInstanceOf(ModuleStopError);
    const { failures } = error as ModuleStopError;
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ module: 'b' });
    expect(failures[0]!.cause).toBeInstanceOf(ModuleStopTimeoutError);
    expect(failures[0]!.cause.message).toBe('stop did not finish within 50 ms');
    expect(lines.find((l) => l.msg.startsWith('module did not stop cleanly'))).toMatchObject({ module: 'b' });
    expect(runner.health().modules).toMatchObject({ a: { state: 'stopped' }, b: { state: 'failed' }, c: { state: 'stopped' } });
  });

  it('a stop that throws does not keep the others running', async () => {
    const events: string[] = [];
    const runner = new ModuleRunner({ logger: recordingLogger().logger, modules: [recorded(events, 'a'), recorded(events, 'b', { failStop: true })] });
    await runner.start();
    await expect(runner.stop()).rejects.toThrow('modules did not stop cleanly: b (b would not close)');
    expect(events).toEqual(['start a', 'start b', 'stop b', 'stop a']);
  });

  it('refuses a second start', async () => {
    const runner = new ModuleRunner({ logger: recordingLogger().logger, modules: [recorded([], 'a')] });
    await runner.start();
    await expect(runner.start()).rejects.toThrow(/already called/);
    await runner.stop();
  });
});

describe('module runner - health', () => {
  it('is ok when every module runs and reports healthy, with per-module state and details', async () => {
    let linkUp = true;
    const runner = new ModuleRunner({ logger: recordingLogger().logger, modules: [recorded([], 'store'), recorded([], 'hub', { healthy: () => linkUp })] });
    expect(runner.health()).toEqual({ ok: false, modules: { store: { state: 'pending', ok: false }, hub: { state: 'pending', ok: false } } });
    await runner.start();
    expect(runner.health()).toEqual({
      ok: true,
      modules: { store: { state: 'running', ok: true }, hub: { state: 'running', ok: true, details: { checked: true } } },
    });
    linkUp = false;
    expect(runner.health()).toMatchObject({ ok: false, modules: { store: { ok: true }, hub: { state: 'running', ok: false } } });
    await runner.stop();
    expect(runner.health().modules.hub).toEqual({ state: 'stopped', ok: false });
  });

  it('a health() that throws makes its module unhealthy instead of failing the report', async () => {
    const broken: Module = {
      name: 'broken',
      start: async () => undefined,
      stop: async () => undefined,
      health: () => {
        throw new Error('lost its database');
      },
    };
    const runner = new ModuleRunner({ logger: recordingLogger().logger, modules: [broken] });
    await runner.start();
    expect(runner.health()).toEqual({ ok: false, modules: { broken: { state: 'running', ok: false, details: { error: 'lost its database' } } } });
    await runner.stop();
  });
});

describe('defineModule - handles', () => {
  it('hands what start returned to dependents and passes it to stop', async () => {
    const closed: string[] = [];
    const store = defineModule({
      name: 'store',
      start: async () => ({ file: '/tmp/x.db', close: () => closed.push('store') }),
      stop: (running) => {
        running.close();
      },
      health: (running) => ({ ok: true, details: { file: running.file } }),
    });
    expect(() => store.running).toThrow(ModuleNotStartedError);
    expect(() => store.running).toThrow('module store is not running: list it in dependsOn of the module that reads it');
    const reader = defineModule({ name: 'reader', dependsOn: ['store'], start: () => `reads ${store.running.file}` });
    const runner = new ModuleRunner({ logger: recordingLogger().logger, modules: [reader, store] });
    await runner.start();
    expect(reader.running).toBe('reads /tmp/x.db');
    expect(store.isRunning).toBe(true);
    expect(runner.health().modules.store).toEqual({ state: 'running', ok: true, details: { file: '/tmp/x.db' } });
    await runner.stop();
    expect(closed).toEqual(['store']);
    expect(store.isRunning).toBe(false);
    expect(() => store.running).toThrow(ModuleNotStartedError);
  });
});
