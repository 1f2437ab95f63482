// TokenReview (authentication.k8s.io/v1), as a kubelet (or cloudcore's kubelet API) asks it: who a bearer token is.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;

beforeAll(async () => {
  test = await startTestServer({ tokens: [{ token: 'static-token-0123456789', user: 'ops', groups: ['operators'] }] });
  await test.request('POST', '/api/v1/namespaces/default/serviceaccounts', { body: { metadata: { name: 'metrics' } } });
});

afterAll(async () => {
  await test.close();
});

const review = (token: unknown, as?: string) =>
  test.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: token === undefined ? {} : { token } },
    ...(as === undefined ? {} : { token: as }),
  });

describe('TokenReview', () => {
  it('names the user of a service account token and of a static token', async () => {
    const token = test.server.createServiceAccountToken('default', 'metrics');
    const answer = await review(token);
    expect(answer.status).toBe(201);
    expect(answer.json.status).toMatchObject({
      authenticated: true,
      user: { username: 'system:serviceaccount:default:metrics', groups: expect.arrayContaining(['system:serviceaccounts', 'system:authenticated']) },
    });
    expect(answer.json.status.user.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await review('static-token-0123456789')).json.status).toMatchObject({ authenticated: true, user: { username: 'ops', groups: ['operators', 'system:authenticated'] } });
  });

  it('answers authenticated: false for a forged or unknown token, and 422 without one', async () => {
    const forged = `${test.server.createServiceAccountToken('default', 'metrics').slice(0, -4)}AAAA`;
    expect((await review(forged)).json.status).toMatchObject({ authenticated: false, error: expect.stringContaining('invalid bearer token') });
    expect((await review('no-such-token')).json.status).toEqual({ authenticated: false, error: 'the token is not known to this server' });
    const missing = await review(undefined);
    expect(missing.status).toBe(422);
    expect(missing.json.details.causes[0].field).toBe('spec.token');
  });

  it('attack - a caller without create on tokenreviews cannot probe tokens', async () => {
    const caller = test.server.createServiceAccountToken('default', 'metrics');
    const answer = await review('static-token-0123456789', caller);
    expect(answer.status).toBe(403);
    expect(answer.json.message).toContain('cannot create resource "tokenreviews"');
  });
});
