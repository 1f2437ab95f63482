// `--ttl` parsing: units, bare seconds, and the 1s..365d bounds.
import { describe, expect, it } from 'vitest';
import { DurationFormatError, parseDurationSeconds } from '../src/duration';

describe('kedgeadm duration', () => {
  it('duration - reads s, m, h, d and bare seconds', () => {
    expect(parseDurationSeconds('90s', '--ttl')).toBe(90);
    expect(parseDurationSeconds('90', '--ttl')).toBe(90);
    expect(parseDurationSeconds('30m', '--ttl')).toBe(1_800);
    expect(parseDurationSeconds('24h', '--ttl')).toBe(86_400);
    expect(parseDurationSeconds('7d', '--ttl')).toBe(604_800);
    expect(parseDurationSeconds(' 2h ', '--ttl')).toBe(7_200);
  });

  it('duration - accepts exactly the bounds 1s and 365d', () => {
    expect(parseDurationSeconds('1s', '--ttl')).toBe(1);
    expect(parseDurationSeconds('1', '--ttl')).toBe(1);
    expect(parseDurationSeconds('365d', '--ttl')).toBe(365 * 86_400);
    expect(parseDurationSeconds(`${365 * 24}h`, '--ttl')).toBe(365 * 86_400);
  });

  it('duration - refuses values outside 1s..365d and names the flag', () => {
    for (const text of ['0', '0s', '0d', '366d', `${365 * 86_400 + 1}`, '99999999999999999999999d']) {
      expect(() => parseDurationSeconds(text, '--ttl'), text).toThrow(DurationFormatError);
    }
    expect(() => parseDurationSeconds('366d', '--ttl')).toThrow('--ttl "366d": must be between 1s and 365d');
  });

  it('duration - refuses what is not a duration', () => {
    for (const text of ['', ' ', 'abc', '1.5h', '-5m', '10w', 'h', '5 m', '5ms', '1h30m', '+5s', '0x10']) {
      expect(() => parseDurationSeconds(text, '--expires'), JSON.stringify(text)).toThrow(DurationFormatError);
    }
    expect(() => parseDurationSeconds('10w', '--expires')).toThrow(/^--expires "10w": expected a duration like 90s, 30m, 24h or 7d$/);
  });
});
