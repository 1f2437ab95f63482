import type { Message } from '@kedge/protocol';
import { createLogger } from '@kedge/telemetry';
import { waitFor } from '@kedge/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeStatusReporter, readySinceOf } from '../src/index';

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

  it("a restart keeps Ready's lastTransitionTime while Ready stays True, as kubelet does; a change of status gets a new one", () => {
    const readyTransition = (storedNode: unknown, now: string): string | undefined => {
      const reports: Message[] = [];
      const restarted = new NodeStatusReporter({
        nodeName: 'gw-1',
        kubeletVersion: 'v1',
        reporter: { report: (m) => reports.push(m) },
        logger: createLogger({ name: 'test', level: 'silent' }),
        leaseRenewSeconds: 3600,
        now: () => new Date(now),
        storedNode: () => storedNode,
      });
      restarted.start();
      restarted.stop();
      const node = reports[0]?.content as { status: { conditions: { type: string; lastTransitionTime: string }[] } };
      return node.status.conditions.find((condition) => condition.type === 'Ready')?.lastTransitionTime;
    };
    const storedWith = (status: string) => ({
      metadata: { name: 'gw-1' },
      status: { conditions: [{ type: 'Ready', status, lastTransitionTime: '2024-03-01T10:00:00.000Z' }] },
    });
    // stays True across the restart: unchanged
    expect(readyTransition(storedWith('True'), '2024-03-02T12:00:00.000Z')).toBe('2024-03-01T10:00:00.000Z');
    // was Unknown (the cloud marked the silent node) or False: a transition now
    expect(readyTransition(storedWith('Unknown'), '2024-03-02T12:00:00.000Z')).toBe('2024-03-02T12:00:00.000Z');
    expect(readyTransition(storedWith('False'), '2024-03-02T12:00:00.000Z')).toBe('2024-03-02T12:00:00.000Z');
    // never stored (the first start) or unreadable: a transition now
    expect(readyTransition(undefined, '2024-03-02T12:00:00.000Z')).toBe('2024-03-02T12:00:00.000Z');
    expect(readyTransition({ status: { conditions: 'garbage' } }, '2024-03-02T12:00:00.000Z')).toBe('2024-03-02T12:00:00.000Z');
    expect(readySinceOf({ status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: 'not a time' }] } })).toBeUndefined();
  });

  it('the periodic status keeps the same lastTransitionTime', async () => {
    const reports: Message[] = [];
    reporter = new NodeStatusReporter({
      nodeName: 'gw-1',
      kubeletVersion: 'v1',
      reporter: { report: (m) => reports.push(m) },
      logger: createLogger({ name: 'test', level: 'silent' }),
      leaseRenewSeconds: 3600,
      statusUpdateSeconds: 0.05,
    });
    reporter.start();
    await waitFor(() => reports.filter((m) => m.route.resource === 'null/nodestatus/gw-1').length >= 2, 'two status refreshes');
    const transitions = reports
      .filter((m) => m.route.resource === 'null/node/gw-1' || m.route.resource === 'null/nodestatus/gw-1')
      .map((m) => {
        const content = m.content as { status?: { conditions: { lastTransitionTime: string }[] }; conditions?: { lastTransitionTime: string }[] };
        return (content.status?.conditions ?? content.conditions)?.[0]?.lastTransitionTime;
      });
    expect(new Set(transitions).size).toBe(1);
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
