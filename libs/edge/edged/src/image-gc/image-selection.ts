// Which unused images to remove, and how much: the kubelet's image GC policy as pure functions, so the
// ordering and the stop condition are testable without a runtime.

/** What edged knows about one image that no container uses. */
export interface RemovalCandidate {
  id: string;
  repoTags: string[];
  size: number;
  /** ms since the epoch a container using it was last seen; 0 when edged never saw it used */
  lastUsedMs: number;
  /** ms since the epoch edged first saw it unused (reset by an edgecore restart) */
  unusedSinceMs: number;
}

export interface ImageGcThresholds {
  highThresholdPercent: number;
  lowThresholdPercent: number;
}

export interface FilesystemCapacity {
  capacityBytes: number;
  availableBytes: number;
}

/** Used share of the image filesystem, 0..1, as the kubelet computes it (from available, not used bytes). */
export function usageRatio(fs: FilesystemCapacity): number {
  if (fs.capacityBytes <= 0) return 0;
  return Math.min(1, Math.max(0, (fs.capacityBytes - fs.availableBytes) / fs.capacityBytes));
}

/** Bytes to free to bring usage down to the low threshold; 0 when usage is below the high threshold. */
export function bytesToFree(fs: FilesystemCapacity, thresholds: ImageGcThresholds): number {
  // integer percent, as the kubelet compares: 84.9 % used is below a high threshold of 85
  const usagePercent = 100 - Math.floor((fs.availableBytes * 100) / Math.max(fs.capacityBytes, 1));
  if (usagePercent < thresholds.highThresholdPercent) return 0;
  const target = Math.floor((fs.capacityBytes * (100 - thresholds.lowThresholdPercent)) / 100) - fs.availableBytes;
  return Math.max(0, target);
}

export interface RemovalPlan {
  images: RemovalCandidate[];
  /** sum of the planned images' sizes */
  plannedBytes: number;
  /** candidates left alone because they have not been unused for minimumAge yet */
  tooYoung: RemovalCandidate[];
}

/**
 * Least recently used first (never-used before used, then the longest unused), skipping images unused for
 * less than minimumAgeMs, until the planned sizes reach amountBytes.
 */
export function planImageRemoval(candidates: RemovalCandidate[], amountBytes: number, nowMs: number, minimumAgeMs: number): RemovalPlan {
  const ordered = [...candidates].sort((a, b) => a.lastUsedMs - b.lastUsedMs || a.unusedSinceMs - b.unusedSinceMs || a.id.localeCompare(b.id));
  const plan: RemovalPlan = { images: [], plannedBytes: 0, tooYoung: [] };
  for (const candidate of ordered) {
    if (plan.plannedBytes >= amountBytes) break;
    if (nowMs - candidate.unusedSinceMs < minimumAgeMs) {
      plan.tooYoung.push(candidate);
      continue;
    }
    plan.images.push(candidate);
    plan.plannedBytes += candidate.size;
  }
  return plan;
}
