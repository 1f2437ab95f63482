// A small, strict reader of the Prometheus text exposition format 0.0.4: the format the kubelet's
// /metrics/resource is written in. It reads samples (name, labels, value, optional ms timestamp) and
// ignores comments, HELP and TYPE lines. Anything else is an error naming the line, so a garbled scrape
// is refused whole instead of yielding half its points. Sizes are bounded before any work.

export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** ms since the epoch, when the line carries one */
  timestampMs?: number;
}

export class PrometheusTextError extends Error {
  override readonly name = 'PrometheusTextError';
  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

export const MAX_PROMETHEUS_TEXT_BYTES = 8 * 1024 * 1024;
export const MAX_PROMETHEUS_SAMPLES = 200_000;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf)$|^NaN$/;
const TIMESTAMP = /^-?\d{1,16}$/;

function parseValue(text: string, line: number): number {
  if (!FLOAT.test(text)) throw new PrometheusTextError(line, `value ${JSON.stringify(text.slice(0, 40))} is not a number`);
  if (text === 'NaN') return Number.NaN;
  if (/^[+-]?[Ii]nf$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  return Number(text);
}

/** Reads `{a="x",b="y"}` from the start of `rest`; returns the labels and the text after the brace. */
function parseLabels(rest: string, line: number): { labels: Record<string, string>; after: string } {
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  let index = 1;
  for (;;) {
    while (rest[index] === ' ' || rest[index] === '\t') index++;
    if (rest[index] === '}') return { labels: { ...labels }, after: rest.slice(index + 1) };
    const name = LABEL_NAME.exec(rest.slice(index))?.[0];
    if (name === undefined) throw new PrometheusTextError(line, `expected a label name at column ${index + 1}`);
    if (name in labels) throw new PrometheusTextError(line, `label ${name} appears twice`);
    index += name.length;
    while (rest[index] === ' ' || rest[index] === '\t') index++;
    if (rest[index] !== '=') throw new PrometheusTextError(line, `expected "=" after label ${name}`);
    index++;
    while (rest[index] === ' ' || rest[index] === '\t') index++;
    if (rest[index] !== '"') throw new PrometheusTextError(line, `the value of label ${name} must be quoted`);
    index++;
    let value = '';
    for (;;) {
      const char = rest[index];
      if (char === undefined) throw new PrometheusTextError(line, `unterminated value of label ${name}`);
      if (char === '"') break;
      if (char === '\\') {
        const escaped = rest[index + 1];
        if (escaped === '\\') value += '\\';
        else if (escaped === '"') value += '"';
        else if (escaped === 'n') value += '\n';
        else throw new PrometheusTextError(line, `invalid escape \\${escaped ?? ''} in the value of label ${name}`);
        index += 2;
        continue;
      }
      value += char;
      index++;
    }
    labels[name] = value;
    index++;
    while (rest[index] === ' ' || rest[index] === '\t') index++;
    if (rest[index] === ',') index++;
    else if (rest[index] !== '}') throw new PrometheusTextError(line, `expected "," or "}" after the value of label ${name}`);
  }
}

/** @throws PrometheusTextError naming the first bad line */
export function parsePrometheusText(text: string): PrometheusSample[] {
  if (typeof text !== 'string') throw new PrometheusTextError(0, `expected text, got ${typeof text}`);
  if (text.length > MAX_PROMETHEUS_TEXT_BYTES) throw new PrometheusTextError(0, `the text is ${text.length} characters, more than ${MAX_PROMETHEUS_TEXT_BYTES}`);
  const samples: PrometheusSample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const content = (lines[i] as string).replace(/\r$/, '').trim();
    if (content === '' || content.startsWith('#')) continue;
    const name = METRIC_NAME.exec(content)?.[0];
    if (name === undefined) throw new PrometheusTextError(line, `expected a metric name, got ${JSON.stringify(content.slice(0, 40))}`);
    let rest = content.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, after: rest } = parseLabels(rest, line));
    if (rest !== '' && !/^[ \t]/.test(rest)) throw new PrometheusTextError(line, `expected a space after ${name}`);
    const fields = rest.trim().split(/[ \t]+/);
    if (fields.length < 1 || fields[0] === '' || fields.length > 2) throw new PrometheusTextError(line, `expected "<value> [<timestamp>]" after ${name}`);
    const sample: PrometheusSample = { name, labels, value: parseValue(fields[0] as string, line) };
    if (fields[1] !== undefined) {
      if (!TIMESTAMP.test(fields[1])) throw new PrometheusTextError(line, `timestamp ${JSON.stringify(fields[1].slice(0, 40))} is not an integer of milliseconds`);
      sample.timestampMs = Number(fields[1]);
    }
    samples.push(sample);
    if (samples.length > MAX_PROMETHEUS_SAMPLES) throw new PrometheusTextError(line, `more than ${MAX_PROMETHEUS_SAMPLES} samples`);
  }
  return samples;
}
