// Durations on the command line: "90s", "30m", "24h", "7d" (a bare number is seconds).
export class DurationFormatError extends Error {
  override readonly name = 'DurationFormatError';
}

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function parseDurationSeconds(text: string, flag: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (!match) {
    throw new DurationFormatError(`${flag} "${text}": expected a duration like 90s, 30m, 24h or 7d`);
  }
  const seconds = Number(match[1]) * (unitSeconds[match[2] || 's'] ?? 1);
  if (seconds < 1 || seconds > 365 * 86400) {
    throw new DurationFormatError(`${flag} "${text}": must be between 1s and 365d`);
  }
  return seconds;
}
