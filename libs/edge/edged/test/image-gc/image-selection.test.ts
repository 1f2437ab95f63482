// The image GC policy without a runtime: when to collect, how much, and which images first.
import { describe, expect, it } from 'vitest';
import { bytesToFree, planImageRemoval, usageRatio, type RemovalCandidate } from '../../src/index';

const MB = 1024 * 1024;
const candidate = (id: string, size: number, lastUsedMs: number, unusedSinceMs = 0): RemovalCandidate => ({ id, repoTags: [`localhost/${id}:1`], size, lastUsedMs, unusedSinceMs });

describe('image GC - thresholds', () => {
  const thresholds = { highThresholdPercent: 85, lowThresholdPercent: 80 };

  it('does nothing below the high threshold', () => {
    // 84 % used
    expect(bytesToFree({ capacityBytes: 100 * MB, availableBytes: 16 * MB }, thresholds)).toBe(0);
  });

  it('at or above the high threshold frees down to the low threshold', () => {
    // 90 % used: 10 MB available, 20 MB must be available at 80 %
    expect(bytesToFree({ capacityBytes: 100 * MB, availableBytes: 10 * MB }, thresholds)).toBe(10 * MB);
    // exactly 85 %
    expect(bytesToFree({ capacityBytes: 100 * MB, availableBytes: 15 * MB }, thresholds)).toBe(5 * MB);
  });

  it('with both thresholds at 0 frees everything in use on the filesystem', () => {
    expect(bytesToFree({ capacityBytes: 100 * MB, availableBytes: 30 * MB }, { highThresholdPercent: 0, lowThresholdPercent: 0 })).toBe(70 * MB);
  });

  it('reports usage as a 0..1 ratio from the available bytes', () => {
    expect(usageRatio({ capacityBytes: 200 * MB, availableBytes: 50 * MB })).toBe(0.75);
    expect(usageRatio({ capacityBytes: 0, availableBytes: 0 })).toBe(0);
  });
});

describe('image GC - which images', () => {
  const now = 1_000_000;

  it('removes the least recently used first and never-used before used', () => {
    const plan = planImageRemoval(
      [candidate('recent', 10 * MB, now - 1_000), candidate('never-used', 10 * MB, 0), candidate('old', 10 * MB, now - 500_000)],
      25 * MB,
      now,
      0,
    );
    expect(plan.images.map((image) => image.id)).toEqual(['never-used', 'old', 'recent']);
    expect(plan.plannedBytes).toBe(30 * MB);
  });

  it('stops as soon as the planned sizes reach the amount to free', () => {
    const plan = planImageRemoval([candidate('a', 4 * MB, 1), candidate('b', 6 * MB, 2), candidate('c', 50 * MB, 3)], 10 * MB, now, 0);
    expect(plan.images.map((image) => image.id)).toEqual(['a', 'b']);
    expect(plan.plannedBytes).toBe(10 * MB);
  });

  it('among images with the same last use, the longest unused goes first', () => {
    const plan = planImageRemoval([candidate('later', MB, 0, now - 10), candidate('earlier', MB, 0, now - 20)], MB, now, 0);
    expect(plan.images.map((image) => image.id)).toEqual(['earlier']);
  });

  it('skips images unused for less than the minimum age and takes the next one', () => {
    const minimumAgeMs = 120_000;
    const plan = planImageRemoval([candidate('young', 100 * MB, 0, now - 60_000), candidate('aged', 5 * MB, 1, now - 200_000)], 50 * MB, now, minimumAgeMs);
    expect(plan.images.map((image) => image.id)).toEqual(['aged']);
    expect(plan.tooYoung.map((image) => image.id)).toEqual(['young']);
    expect(plan.plannedBytes).toBe(5 * MB);
  });

  it('plans nothing when nothing needs freeing', () => {
    expect(planImageRemoval([candidate('a', MB, 0)], 0, now, 0).images).toEqual([]);
  });
});
