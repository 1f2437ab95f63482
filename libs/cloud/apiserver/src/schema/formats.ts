// The `format` values worth checking for custom resources, loosely after kube-openapi's strfmt
// registry. Unknown formats pass, as upstream ignores formats it does not know.
import { isCIDR, isDns1123Subdomain, isIP } from '../validation/index';

const DATE_TIME_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID_RE = /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/;
const MAC_RE = /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/;
const DURATION_RE = /^-?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w))+$|^0$/;
const EMAIL_RE = /^[^@\s]+@[^@\s]+$/;

const STRING_FORMATS: Record<string, (v: string) => boolean> = {
  'date-time': (v) => DATE_TIME_RE.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T'))),
  datetime: (v) => DATE_TIME_RE.test(v) && !Number.isNaN(Date.parse(v.replace(' ', 'T'))),
  date: (v) => DATE_RE.test(v) && !Number.isNaN(Date.parse(v)),
  byte: (v) => BASE64_RE.test(v),
  uuid: (v) => UUID_RE.test(v),
  ipv4: (v) => isIP(v) && !v.includes(':'),
  ipv6: (v) => isIP(v) && v.includes(':'),
  cidr: (v) => isCIDR(v),
  mac: (v) => MAC_RE.test(v),
  hostname: (v) => v.length <= 253 && isDns1123Subdomain(v.toLowerCase()),
  duration: (v) => DURATION_RE.test(v),
  email: (v) => EMAIL_RE.test(v),
};

const INT32 = [-(2 ** 31), 2 ** 31 - 1] as const;

/** Whether `value` satisfies `format`; formats not applicable to the value's type pass. */
export function matchesFormat(format: string, value: unknown): boolean {
  if (typeof value === 'string') {
    const check = Object.prototype.hasOwnProperty.call(STRING_FORMATS, format) ? STRING_FORMATS[format] : undefined;
    return check ? check(value) : true;
  }
  if (typeof value === 'number' && Number.isInteger(value)) {
    if (format === 'int32') return value >= INT32[0] && value <= INT32[1];
    if (format === 'int64') return Number.isSafeInteger(value) || Math.abs(value) <= 2 ** 63;
  }
  return true;
}
