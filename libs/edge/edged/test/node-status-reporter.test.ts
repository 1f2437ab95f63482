import type { Message } from '@kedge/protocol';
import { createLogger } from '@kedge/telemetry';
import { waitFor } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeStatusReporter } from '../src/index';

let reporter: NodeStatusReporter | undefined;
afterEach(() => reporter?.stop());

function start(reports: Message[], leaseRenewSeconds = 3600) {
  reporter = new NodeStatusReporter({
    nodeName: 'gw-1',
    labels: { site: 'plant-7' },
    kubeletVersion: 'v1.32.0-kedge',
    reporter: { report: (m) => reports.push(m) },
    logger: createLogger({ name: 'test', level: 'silent' }),
    leaseRenewSeconds,
  });
  reporter.start();
}

describe('edged - node status', () => {
  it('registers the node with host facts and labels, then renews its lease', () => {
    const reports: Message[] = [];
    start(reports);
    const [registration, lease] = reports;
    expect(registration?.route).toMatchObject({ group: 'resource', operation: 'insert', resource: 'null/node/gw-1' });
    const node = registration?.content as { metadata: { labels: Record<string, string> }; status: Record<string, unknown> };
    expect(node.metadata.labels).toMatchObject({ site: 'plant-7', 'kubernetes.io/hostname': 'gw-1' });
    expect(node.status).toMatchObject({
      capacity: { cpu: expect.stringMatching(/^\d+$/), memory: expect.stringMatching(/^\d+Ki$/) },
      nodeInfo: { kubeletVersion: 'v1.32.0-kedge', operatingSystem: 'linux' },
      conditions: [expect.objectContaining({ type: 'Ready', status: 'True' })],
    });
    expect(lease?.route).toMatchObject({ operation: 'update', resource: 'kube-node-lease/lease/gw-1' });
    expect(lease?.content).toMatchObject({ spec: { holderIdentity: 'gw-1', leaseDurationSeconds: 40 } });
  });

  it('keeps renewing the lease on its period', async () => {
    const reports: Message[] = [];
    start(reports, 0.05);
    await waitFor(() => reports.filter((m) => m.route.resource === 'kube-node-lease/lease/gw-1').length >= 3, 'three lease renewals');
  });

  it('a failing reporter is logged, not thrown', () => {
    reporter = new NodeStatusReporter({
      nodeName: 'gw-1',
      kubeletVersion: 'v1',
      reporter: {
        report: () => {
          throw new Error('metamanager stopped');
        },
      },
      logger: createLogger({ name: 'test', level: 'silent' }),
    });
    expect(() => reporter?.start()).not.toThrow();
  });
});
