// Name and key syntax checks, ported from k8s.io/apimachinery/pkg/util/validation. Each `*Problems`
// function returns upstream's messages (empty = valid) so callers can wrap them in FieldErrors.

const DNS1123_LABEL_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = '[a-z]([-a-z0-9]*[a-z0-9])?';
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const CONFIG_KEY_FMT = '[-._a-zA-Z0-9]+';

const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const CONFIG_KEY_RE = new RegExp(`^${CONFIG_KEY_FMT}$`);

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
const LABEL_VALUE_MAX = 63;

function maxLenMsg(max: number): string {
  return `must be no more than ${max} characters`;
}

function regexMsg(what: string, fmt: string, examples: string[]): string {
  const ex = examples.map((e) => `'${e}'`).join(',  or ');
  return `${what} (e.g. ${ex}, regex used for validation is '${fmt}')`;
}

export function dns1123LabelProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) out.push(maxLenMsg(DNS1123_LABEL_MAX));
  if (!DNS1123_LABEL_RE.test(value)) {
    out.push(
      regexMsg(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL_FMT,
        ['my-name', '123-abc'],
      ),
    );
  }
  return out;
}

export function dns1123SubdomainProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) out.push(maxLenMsg(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN_RE.test(value)) {
    out.push(
      regexMsg(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        ['example.com'],
      ),
    );
  }
  return out;
}

export function dns1035LabelProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_LABEL_MAX) out.push(maxLenMsg(DNS1123_LABEL_MAX));
  if (!DNS1035_LABEL_RE.test(value)) {
    out.push(
      regexMsg(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        ['my-name', 'abc-123'],
      ),
    );
  }
  return out;
}

/** Path-segment names (used by some kinds): anything that is safe in a URL path segment. */
export function pathSegmentProblems(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const out: string[] = [];
  for (const bad of ['/', '%']) if (value.includes(bad)) out.push(`may not contain '${bad}'`);
  return out;
}

/** Label keys, annotation keys, finalizers: `[prefix/]name` with a DNS-subdomain prefix. */
export function qualifiedNameProblems(value: string): string[] {
  const parts = value.split('/');
  let name: string;
  const out: string[] = [];
  if (parts.length === 1) {
    name = parts[0] ?? '';
  } else if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    name = parts[1] ?? '';
    if (prefix.length === 0) out.push('prefix part must be non-empty');
    else for (const p of dns1123SubdomainProblems(prefix)) out.push(`prefix part ${p}`);
  } else {
    return [
      regexMsg(
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_FMT,
        ['MyName', 'my.name', '123-abc'],
      ) + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) out.push('name part must be non-empty');
  else if (name.length > 63) out.push(`name part ${maxLenMsg(63)}`);
  if (name.length > 0 && !QUALIFIED_NAME_RE.test(name)) {
    out.push(
      regexMsg(
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        QUALIFIED_NAME_FMT,
        ['MyName', 'my.name', '123-abc'],
      ),
    );
  }
  return out;
}

export function labelValueProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > LABEL_VALUE_MAX) out.push(maxLenMsg(LABEL_VALUE_MAX));
  if (!LABEL_VALUE_RE.test(value)) {
    out.push(
      regexMsg(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        ['MyValue', 'my_value', '12345'],
      ),
    );
  }
  return out;
}

/** ConfigMap/Secret data keys. */
export function configMapKeyProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > DNS1123_SUBDOMAIN_MAX) out.push(maxLenMsg(DNS1123_SUBDOMAIN_MAX));
  if (!CONFIG_KEY_RE.test(value)) {
    out.push(
      regexMsg("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_KEY_FMT, [
        'key.name',
        'KEY_NAME',
        'key-name',
      ]),
    );
  }
  if (value === '.') out.push("must not be '.'");
  else if (value === '..') out.push("must not be '..'");
  else if (value.startsWith('..')) out.push("must not start with '..'");
  return out;
}

/** IANA service names used as port names (`http`, `metrics`): ≤15 chars, a letter, no `--`. */
export function portNameProblems(value: string): string[] {
  const out: string[] = [];
  if (value.length > 15) out.push(maxLenMsg(15));
  if (!/^[-a-z0-9]+$/.test(value)) out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (value.includes('--')) out.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(value)) out.push('must contain at least one letter (a-z)');
  if (value.startsWith('-') || value.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

export function isDns1123Label(value: string): boolean {
  return typeof value === 'string' && dns1123LabelProblems(value).length === 0;
}

export function isDns1123Subdomain(value: string): boolean {
  return typeof value === 'string' && dns1123SubdomainProblems(value).length === 0;
}

export function isDns1035Label(value: string): boolean {
  return typeof value === 'string' && dns1035LabelProblems(value).length === 0;
}

export function isQualifiedName(value: string): boolean {
  return typeof value === 'string' && qualifiedNameProblems(value).length === 0;
}

export function isValidLabelValue(value: string): boolean {
  return typeof value === 'string' && labelValueProblems(value).length === 0;
}

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(value: string): boolean {
  return IPV4_RE.test(value);
}

/** Loose IPv6 check: hex groups with at most one `::` (enough to reject garbage). */
export function isIPv6(value: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(value) || !value.includes(':')) return false;
  const halves = value.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g) && !(g.includes('.') && isIPv4(g)))) return false;
  return halves.length === 2 ? groups.length < 8 : groups.length === 8;
}

export function isIP(value: string): boolean {
  return isIPv4(value) || isIPv6(value);
}

export function isCIDR(value: string): boolean {
  const [ip, bits, extra] = value.split('/');
  if (ip === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  return isIPv4(ip) ? n <= 32 : isIPv6(ip) && n <= 128;
}
