import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Cleanup, createTestPki, waitFor } from '../src/index';

describe('testkit - pki', () => {
  it('issues node certificates for system:node:<name> from the test CA, once per name', async () => {
    const pki = await createTestPki();
    const material = await pki.node('gw-1');
    const certificate = new X509Certificate(material.cert);
    expect(certificate.subject).toContain('CN=system:node:gw-1');
    expect(certificate.verify(new X509Certificate(pki.ca).publicKey)).toBe(true);
    expect(await pki.node('gw-1')).toBe(material);
  });
});

describe('testkit - waitFor', () => {
  it('resolves once the condition holds and names what it waited for on timeout', async () => {
    let calls = 0;
    await waitFor(() => ++calls === 3, 'three calls', { intervalMs: 1 });
    expect(calls).toBe(3);
    await expect(waitFor(() => false, 'the impossible', { timeoutMs: 30, onTimeout: () => 'context' })).rejects.toThrow(
      /waiting for the impossible\ncontext/,
    );
  });
});

describe('testkit - cleanup', () => {
  it('runs tasks in reverse order and reports failures after running them all', async () => {
    const cleanup = new Cleanup();
    const order: number[] = [];
    cleanup.add(() => void order.push(1));
    cleanup.add(() => {
      throw new Error('stop failed');
    });
    cleanup.add(() => void order.push(3));
    await expect(cleanup.run()).rejects.toThrow(/cleanup failed/);
    expect(order).toEqual([3, 1]);
  });
});
