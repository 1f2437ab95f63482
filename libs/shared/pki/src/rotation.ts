// When to renew: early enough that a failed attempt has time to be retried before expiry, jittered
// so that a fleet joined in one afternoon does not come back to the cloud in the same minute.
import { describeCertificate } from './inspect';

export const DEFAULT_ROTATION_FRACTION = 0.8;
const MIN_FRACTION = 0.7;
const MAX_FRACTION = 0.9;

/** A fraction of the lifetime in [0.7, 0.9]; `random` is a value in [0, 1), Math.random by default. */
export function rotationFraction(random: number = Math.random()): number {
  const clamped = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0.5;
  return MIN_FRACTION + (MAX_FRACTION - MIN_FRACTION) * clamped;
}

/** The moment notBefore + fraction × lifetime. */
export function rotationTime(certPem: string, options: { fraction?: number } = {}): Date {
  const fraction = options.fraction ?? DEFAULT_ROTATION_FRACTION;
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`rotation fraction must be in (0, 1], got ${fraction}`);
  const { notBefore, notAfter } = describeCertificate(certPem);
  const lifetime = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + fraction * lifetime);
}

/** True once `now` is past notBefore + fraction × lifetime. */
export function rotationDue(certPem: string, now: Date = new Date(), options: { fraction?: number } = {}): boolean {
  return now.getTime() >= rotationTime(certPem, options).getTime();
}
