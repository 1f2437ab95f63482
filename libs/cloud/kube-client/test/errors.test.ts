// The error helpers read the status of real failures: client-node's ApiException and KubeJson's KubeApiError.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Cleanup } from '@kedge/testkit';
import { KubeApiError, KubeJson, errorMessage, httpStatusOf, isConflict, isNotFound } from '../src/index';
import { startTestApi } from './fixtures/api-server';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());
afterAll(() => cleanup.run());

async function thrown(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('errors - status of client failures', () => {
  it('errors - a missing object is 404 and a second create is 409, from client-node and from KubeJson alike', async () => {
    const api = await startTestApi(cleanup);
    const missing = await thrown(() => api.core.readNamespace({ name: 'nope' }));
    expect(httpStatusOf(missing)).toBe(404);
    expect(isNotFound(missing)).toBe(true);
    expect(isConflict(missing)).toBe(false);

    await api.core.createNamespace({ body: { metadata: { name: 'twice' } } });
    const again = await thrown(() => api.core.createNamespace({ body: { metadata: { name: 'twice' } } }));
    expect(isConflict(again)).toBe(true);

    const listed = await thrown(() => new KubeJson(api.kubeConfig).list('/api/v1/namespaces/nope/widgets'));
    expect(listed).toBeInstanceOf(KubeApiError);
    expect(listed).toMatchObject({ status: 404, path: '/api/v1/namespaces/nope/widgets' });
    expect(isNotFound(listed)).toBe(true);
  });

  it('errors - anything else has no status and a readable message', () => {
    expect(httpStatusOf(new Error('boom'))).toBeUndefined();
    expect(httpStatusOf({ code: 'ECONNREFUSED' })).toBeUndefined();
    expect(httpStatusOf(undefined)).toBeUndefined();
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('plain')).toBe('plain');
  });
});
