import { describe, expect, it } from 'vitest';
import { startProbing, stopProbing } from '../src/probe-wheel';
import { waitFor } from './helpers';

function link(): { probes: number; probe(): void } {
  return {
    probes: 0,
    probe() {
      this.probes += 1;
    },
  };
}

describe('probe wheel', () => {
  it('probe wheel - every link is probed again and again by one shared timer, spread over the interval', async () => {
    const links = Array.from({ length: 40 }, link);
    for (const l of links) startProbing(l, 160);
    await waitFor(() => links.every((l) => l.probes >= 3), 'every link probed three times', { timeoutMs: 30_000 });
    // round robin over 16 slots: no link is probed much more often than another
    const counts = links.map((l) => l.probes);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(2);
    for (const l of links) stopProbing(l, 160);
  });

  it('probe wheel - a removed link is not probed any more, and one link failing does not stop the others', async () => {
    const kept = link();
    const removed = link();
    const failing = { probe: (): void => { throw new Error('broken link'); } };
    startProbing(failing, 80);
    startProbing(removed, 80);
    startProbing(kept, 80);
    await waitFor(() => removed.probes >= 1 && kept.probes >= 1, 'both probed', { timeoutMs: 30_000 });
    stopProbing(removed, 80);
    const removedAt = removed.probes;
    const keptAt = kept.probes;
    await waitFor(() => kept.probes >= keptAt + 3, 'the kept link probed three more times', { timeoutMs: 30_000 });
    expect(removed.probes).toBe(removedAt);
    stopProbing(kept, 80);
    stopProbing(failing, 80);
  });
});
