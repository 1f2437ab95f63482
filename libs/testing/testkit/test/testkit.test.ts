import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Cleanup, createTestPki, prometheusSample, prometheusSum, waitFor } from '../src/index';

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

describe('testkit - prometheus text', () => {
  const text = [
    '# HELP kedge_cloudhub_connected_nodes x',
    'kedge_cloudhub_connected_nodes 1000',
    'kedge_cloudhub_messages_total{direction="up",operation="keepalive"} 12',
    'kedge_cloudhub_messages_total{direction="down",operation="update"} 3',
  ].join('\n');

  it('reads one sample by name and labels', () => {
    expect(prometheusSample(text, 'kedge_cloudhub_connected_nodes')).toBe(1000);
    expect(prometheusSample(text, 'kedge_cloudhub_messages_total', { direction: 'down' })).toBe(3);
    expect(prometheusSample(text, 'kedge_cloudhub_messages_total', { direction: 'sideways' })).toBeUndefined();
    expect(prometheusSample(text, 'kedge_cloudhub_connected')).toBeUndefined();
  });

  it('sums every sample matching the labels', () => {
    expect(prometheusSum(text, 'kedge_cloudhub_messages_total')).toBe(15);
    expect(prometheusSum(text, 'kedge_cloudhub_messages_total', { direction: 'up' })).toBe(12);
    expect(prometheusSum(text, 'kedge_missing_total')).toBe(0);
  });
});
