import { afterEach, describe, expect, it, vi } from 'vitest';
import { Group, Operation, newErrorResponse, newMessage, newResponse } from '@kedge/protocol';
import type { Message } from '@kedge/protocol';
import {
  DuplicateRequestError,
  DuplicateRouteError,
  MessageRouter,
  NoRouteError,
  RemoteError,
  RequestTimeoutError,
  RouterClosedError,
  RouterError,
} from '../src/index';

function message(group: string, operation: string = Operation.Update, resource = 'default/pod/web-0'): Message {
  return newMessage({ source: 'test', group, operation, resource, content: { n: 1 } });
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('router - registration', () => {
  it('router - delivers a message to the handler of its group only', async () => {
    const router = new MessageRouter();
    const resource = vi.fn();
    const twin = vi.fn();
    router.register(Group.Resource, resource);
    router.register(Group.Twin, twin);
    const msg = message(Group.Twin);
    await router.dispatch(msg);
    expect(twin).toHaveBeenCalledExactlyOnceWith(msg);
    expect(resource).not.toHaveBeenCalled();
  });

  it('router - refuses a second handler for the same group', () => {
    const router = new MessageRouter();
    router.register('meta', () => undefined);
    let caught: unknown;
    try {
      router.register('meta', () => undefined);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DuplicateRouteError);
    expect(caught).toMatchObject({ name: 'DuplicateRouteError', code: 'DUPLICATE_ROUTE', field: 'group', group: 'meta' });
  });

  it('router - the returned function unregisters, and a stale one does not remove a newer handler', async () => {
    const router = new MessageRouter();
    const first = vi.fn();
    const unregisterFirst = router.register('meta', first);
    expect(router.groups()).toEqual(['meta']);
    unregisterFirst();
    expect(router.groups()).toEqual([]);
    await expect(router.dispatch(message('meta'))).rejects.toBeInstanceOf(NoRouteError);

    const second = vi.fn();
    router.register('meta', second);
    unregisterFirst();
    await router.dispatch(message('meta'));
    expect(second).toHaveBeenCalledOnce();
    expect(first).not.toHaveBeenCalled();
  });

  it('router - groups lists the registered groups, sorted', () => {
    const router = new MessageRouter();
    for (const group of ['twin', 'hub', 'resource']) router.register(group, () => undefined);
    expect(router.groups()).toEqual(['hub', 'resource', 'twin']);
  });

  it('router - refuses an empty group or a missing handler', () => {
    const router = new MessageRouter();
    expect(() => router.register('', () => undefined)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'group' }));
    expect(() => router.register('x', undefined as unknown as () => void)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', field: 'handler' }),
    );
  });
});

describe('router - dispatch', () => {
  it('router - rejects a message for a group without handler with NoRouteError naming group and resource', async () => {
    const router = new MessageRouter();
    const error = await router.dispatch(message('devices', Operation.Update, 'default/device/thermo-1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoRouteError);
    expect(error).toBeInstanceOf(RouterError);
    expect(error).toMatchObject({ name: 'NoRouteError', code: 'NO_ROUTE', field: 'route.group', group: 'devices', resource: 'default/device/thermo-1' });
    expect((error as Error).message).toContain('"devices"');
    expect((error as Error).message).toContain('default/device/thermo-1');
  });

  it('router - waits for an async handler to finish', async () => {
    const router = new MessageRouter();
    const done: string[] = [];
    router.register('meta', async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      done.push('handled');
    });
    await router.dispatch(message('meta'));
    expect(done).toEqual(['handled']);
  });

  it('router - reports a throwing handler to onHandlerError and does not reject', async () => {
    const onHandlerError = vi.fn();
    const router = new MessageRouter({ onHandlerError });
    const boom = new Error('boom');
    router.register('meta', () => {
      throw boom;
    });
    const msg = message('meta');
    await expect(router.dispatch(msg)).resolves.toBeUndefined();
    expect(onHandlerError).toHaveBeenCalledExactlyOnceWith(boom, msg);
  });

  it('router - reports a rejecting async handler to onHandlerError and does not reject', async () => {
    const onHandlerError = vi.fn();
    const router = new MessageRouter({ onHandlerError });
    router.register('meta', async () => Promise.reject(new TypeError('bad state')));
    await expect(router.dispatch(message('meta'))).resolves.toBeUndefined();
    expect(onHandlerError.mock.calls[0]?.[0]).toBeInstanceOf(TypeError);
  });

  it('router - survives an onHandlerError that throws itself', async () => {
    const router = new MessageRouter({
      onHandlerError: () => {
        throw new Error('reporter broken');
      },
    });
    router.register('meta', () => {
      throw new Error('handler broken');
    });
    await expect(router.dispatch(message('meta'))).resolves.toBeUndefined();
  });

  it('router - reports handler errors to stderr by default', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const router = new MessageRouter();
    router.register('meta', () => {
      throw new Error('boom');
    });
    await router.dispatch(message('meta'));
    expect(stderr).toHaveBeenCalledOnce();
    expect(String(stderr.mock.calls[0]?.[0])).toContain('"meta"');
  });

  it('router - delivers a reply nobody waits for to its group', async () => {
    const router = new MessageRouter();
    const handler = vi.fn();
    router.register('resource', handler);
    const lateReply = newResponse(message('resource'), 'late');
    await router.dispatch(lateReply);
    expect(handler).toHaveBeenCalledExactlyOnceWith(lateReply);
  });
});

describe('router - request', () => {
  it('router - resolves with the reply a local handler dispatches, sending the request with sync=true', async () => {
    const router = new MessageRouter();
    const seen: Message[] = [];
    router.register('meta', (req) => {
      seen.push(req);
      void router.dispatch(newResponse(req, { found: true }));
    });
    const req = message('meta', Operation.Query);
    const reply = await router.request(req, { timeoutMs: 1000 });
    expect(reply.header.parent_msg_id).toBe(req.header.msg_id);
    expect(reply.content).toEqual({ found: true });
    expect(seen[0]?.header.sync).toBe(true);
    expect(req.header.sync).toBeUndefined();
    expect(router.pendingRequestCount).toBe(0);
  });

  it('router - a reply does not also reach the group handler', async () => {
    const router = new MessageRouter();
    const handler = vi.fn();
    router.register('meta', handler);
    const sent: Message[] = [];
    const pending = router.request(message('meta'), { timeoutMs: 1000, send: (m) => void sent.push(m) });
    await router.dispatch(newResponse(sent[0] as Message, 'ok'));
    await expect(pending).resolves.toMatchObject({ content: 'ok' });
    expect(handler).not.toHaveBeenCalled();
  });

  it('router - uses the given send function, and a later reply settles the request', async () => {
    const router = new MessageRouter();
    const send = vi.fn();
    const req = message('resource', Operation.Query);
    const pending = router.request(req, { timeoutMs: 1000, send });
    expect(send).toHaveBeenCalledOnce();
    const outgoing = send.mock.calls[0]?.[0] as Message;
    expect(outgoing.header).toEqual({ ...req.header, sync: true });
    expect(router.pendingRequestCount).toBe(1);
    await router.dispatch(newResponse(outgoing, [1, 2]));
    await expect(pending).resolves.toMatchObject({ content: [1, 2] });
  });

  it('router - rejects with RemoteError carrying the content of an error reply', async () => {
    const router = new MessageRouter();
    router.register('meta', (req) => void router.dispatch(newErrorResponse(req, 'configmap default/settings not found')));
    const req = message('meta', Operation.Query, 'default/configmap/settings');
    const error = await router.request(req, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ name: 'RemoteError', code: 'REMOTE_ERROR', content: 'configmap default/settings not found' });
    expect((error as RemoteError).reply.route.operation).toBe(Operation.Error);
    expect((error as Error).message).toContain('configmap default/settings not found');
  });

  it('router - rejects with RequestTimeoutError when no reply comes, and forgets the request', async () => {
    const router = new MessageRouter();
    const req = message('meta', Operation.Query);
    const started = Date.now();
    const error = await router.request(req, { timeoutMs: 50, send: () => undefined }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ code: 'REQUEST_TIMEOUT', field: 'timeoutMs', msgId: req.header.msg_id, timeoutMs: 50, group: 'meta' });
    expect(router.pendingRequestCount).toBe(0);
  });

  it('router - a reply after the timeout goes to the group instead', async () => {
    vi.useFakeTimers();
    const router = new MessageRouter();
    const handler = vi.fn();
    router.register('meta', handler);
    const sent: Message[] = [];
    const outcome = router.request(message('meta'), { timeoutMs: 100, send: (m) => void sent.push(m) }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(99);
    expect(router.pendingRequestCount).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toBeInstanceOf(RequestTimeoutError);
    const late = newResponse(sent[0] as Message, 'late');
    await router.dispatch(late);
    expect(handler).toHaveBeenCalledExactlyOnceWith(late);
  });

  it('router - clears the timer once the reply arrives', async () => {
    vi.useFakeTimers();
    const router = new MessageRouter();
    router.register('meta', (req) => void router.dispatch(newResponse(req, null)));
    await router.request(message('meta'), { timeoutMs: 60_000 });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('router - rejects with the error of send and clears its timer', async () => {
    vi.useFakeTimers();
    const router = new MessageRouter();
    const linkDown = new Error('connection closed');
    await expect(router.request(message('meta'), { timeoutMs: 1000, send: () => Promise.reject(linkDown) })).rejects.toBe(linkDown);
    await expect(
      router.request(message('meta'), {
        timeoutMs: 1000,
        send: () => {
          throw linkDown;
        },
      }),
    ).rejects.toBe(linkDown);
    expect(vi.getTimerCount()).toBe(0);
    expect(router.pendingRequestCount).toBe(0);
  });

  it('router - a local request to a group without handler rejects with NoRouteError', async () => {
    vi.useFakeTimers();
    const router = new MessageRouter();
    await expect(router.request(message('nobody'), { timeoutMs: 1000 })).rejects.toBeInstanceOf(NoRouteError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('router - refuses a second request with a msg_id still pending', async () => {
    const router = new MessageRouter();
    const req = message('meta');
    const first = router.request(req, { timeoutMs: 1000, send: () => undefined });
    await expect(router.request(req, { timeoutMs: 1000, send: () => undefined })).rejects.toBeInstanceOf(DuplicateRequestError);
    router.close();
    await expect(first).rejects.toBeInstanceOf(RouterClosedError);
  });

  it('router - refuses invalid timeouts', async () => {
    const router = new MessageRouter();
    for (const timeoutMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      await expect(router.request(message('meta'), { timeoutMs, send: () => undefined })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        field: 'timeoutMs',
      });
    }
    expect(router.pendingRequestCount).toBe(0);
  });
});

describe('router - close', () => {
  it('router - close rejects every pending request and clears their timers', async () => {
    vi.useFakeTimers();
    const router = new MessageRouter();
    const requests = [1, 2, 3].map(() => router.request(message('meta'), { timeoutMs: 10_000, send: () => undefined }).catch((e: unknown) => e));
    expect(router.pendingRequestCount).toBe(3);
    expect(vi.getTimerCount()).toBe(3);
    router.close();
    for (const outcome of await Promise.all(requests)) {
      expect(outcome).toBeInstanceOf(RouterClosedError);
      expect(outcome).toMatchObject({ code: 'ROUTER_CLOSED' });
    }
    expect(vi.getTimerCount()).toBe(0);
    expect(router.pendingRequestCount).toBe(0);
  });

  it('router - a closed router refuses register, dispatch and request, and close is idempotent', async () => {
    const router = new MessageRouter();
    router.register('meta', () => undefined);
    router.close();
    router.close();
    expect(router.closed).toBe(true);
    expect(router.groups()).toEqual([]);
    expect(() => router.register('twin', () => undefined)).toThrow(RouterClosedError);
    await expect(router.dispatch(message('meta'))).rejects.toBeInstanceOf(RouterClosedError);
    await expect(router.request(message('meta'), { timeoutMs: 10 })).rejects.toBeInstanceOf(RouterClosedError);
  });
});
