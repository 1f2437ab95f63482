// Loads a YAML config file and validates it against a zod schema, so that a typo in a gateway's
// config is reported as "file, field, what was expected" instead of a crash deep inside a module.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';

export interface ConfigProblem {
  /** dotted path of the field at fault, empty for the whole document */
  field: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    super(
      `invalid config ${source}:\n` +
        problems.map((p) => `  - ${p.field ? `field "${p.field}": ` : ''}${p.message}`).join('\n'),
      options,
    );
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling; see docs/configuration.md)`;
  }
  return issue.message;
}

/** Parse YAML text (JSON is YAML too) and validate it; `source` names the file in errors. */
export function parseConfigText<S extends z.ZodType>(text: string, schema: S, source: string): z.output<S> {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(
      source,
      document.errors.map((e) => ({ field: '', message: `YAML syntax: ${e.message.split('\n')[0]}` })),
    );
  }
  let raw: unknown;
  try {
    // toJS resolves aliases and can still refuse the document (an alias to a missing anchor)
    raw = document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ConfigError(source, [{ field: '', message: `YAML: ${(error as Error).message}` }], { cause: error });
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => ({ field: issue.path.map(String).join('.'), message: describeIssue(issue) })),
    );
  }
  return result.data;
}

/** Read and validate a config file. A missing or unreadable file is a ConfigError too. */
export function loadConfigFile<S extends z.ZodType>(path: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : String(error);
    throw new ConfigError(path, [{ field: '', message: `cannot read: ${reason}` }], { cause: error });
  }
  return parseConfigText(text, schema, path);
}
