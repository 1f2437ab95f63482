import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfigFile, parseConfigText } from '../src/index';

const schema = z
  .object({
    hub: z.object({ port: z.number().int().min(1).max(65535).default(10000), protocol: z.enum(['websocket', 'quic']) }).strict(),
    name: z.string().min(1),
  })
  .strict();

function problemsOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config - parsing', () => {
  it('returns typed values with defaults applied', () => {
    const config = parseConfigText('hub:\n  protocol: quic\nname: gw-1\n', schema, 'edgecore.yaml');
    expect(config).toEqual({ hub: { port: 10000, protocol: 'quic' }, name: 'gw-1' });
  });

  it('names the file and the field of a wrong type', () => {
    const error = problemsOf(() => parseConfigText('hub:\n  port: "x"\n  protocol: quic\nname: a\n', schema, 'edgecore.yaml'));
    expect(error.source).toBe('edgecore.yaml');
    expect(error.problems).toEqual([{ field: 'hub.port', message: expect.stringContaining('expected number') }]);
    expect(error.message).toContain('field "hub.port"');
  });

  it('reports an unknown field with its name', () => {
    const error = problemsOf(() => parseConfigText('hub:\n  protocol: quic\n  prot: 1\nname: a\n', schema, 'c.yaml'));
    expect(error.problems[0]).toEqual({ field: 'hub', message: expect.stringContaining('"prot"') });
  });

  it('reports an enum value that is not allowed', () => {
    const error = problemsOf(() => parseConfigText('hub:\n  protocol: tcp\nname: a\n', schema, 'c.yaml'));
    expect(error.problems[0]?.field).toBe('hub.protocol');
  });

  it('reports YAML syntax errors instead of throwing the parser error', () => {
    const error = problemsOf(() => parseConfigText('hub: [unclosed\nname: a', schema, 'c.yaml'));
    expect(error.problems[0]?.message).toMatch(/YAML syntax/);
  });

  it('reports duplicate keys', () => {
    const error = problemsOf(() => parseConfigText('name: a\nname: b\nhub: {protocol: quic}\n', schema, 'c.yaml'));
    expect(error.problems[0]?.message).toMatch(/YAML syntax/);
  });

  it('never throws anything but ConfigError on random text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        try {
          parseConfigText(text, schema, 'random.yaml');
        } catch (error) {
          if (!(error instanceof ConfigError)) throw error;
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('config - files', () => {
  it('loads a file from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kedge-config-'));
    const file = join(dir, 'edgecore.yaml');
    writeFileSync(file, 'hub: {protocol: websocket}\nname: gw\n');
    expect(loadConfigFile(file, schema).hub.protocol).toBe('websocket');
  });

  it('says so when the file is missing', () => {
    const error = problemsOf(() => loadConfigFile('/nonexistent/edgecore.yaml', schema));
    expect(error.message).toContain('/nonexistent/edgecore.yaml');
    expect(error.problems[0]?.message).toContain('file not found');
  });
});
