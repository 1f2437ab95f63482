// Tests that drive an optional component declare it: `const quic = await requires('quic'); quic.describe(...)`.
// Present: the tests run. Missing and required (the default): they FAIL, naming the component, why it is
// missing and what installs it. Missing and explicitly allowed (KEDGE_TEST_ALLOW_MISSING=quic,... or =all),
// or on a machine kind that cannot have it: they skip, and the reason rides along in the test's meta so
// tools/ci/summarize-vitest.mjs can tell an allowed skip from a plain it.skip (which it fails).
import { describe as vitestDescribe, it as vitestIt, type SuiteFactory, type TestFunction, type TestOptions } from 'vitest';
import { COMPONENT_DEFINITIONS, COMPONENTS, type Component, INSTALL_SYSTEM_DEPS, isComponent, machineKind } from './components';

export const ALLOW_MISSING_ENV = 'KEDGE_TEST_ALLOW_MISSING';

declare module 'vitest' {
  interface TaskMeta {
    /** what a skipped test was missing; vitest's JSON report carries it to tools/ci/summarize-vitest.mjs */
    kedgeMissing?: MissingComponent[];
  }
}

/** Why a missing component does not fail the test: the developer opted out, or this machine kind cannot have it. */
export type Allowance = 'required' | 'opted-out' | 'not-on-this-platform';

export interface MissingComponent {
  component: Component;
  reason: string;
  install: string;
  allowance: Allowance;
  /** the machine kinds that can have it, when limited (for 'not-on-this-platform') */
  platforms?: readonly string[];
}

/** A misspelt name in KEDGE_TEST_ALLOW_MISSING: failing beats silently requiring (or allowing) the wrong thing. */
export class UnknownComponentError extends Error {
  override readonly name = 'UnknownComponentError';
  constructor(
    readonly variable: string,
    readonly component: string,
  ) {
    super(`${variable} names ${JSON.stringify(component)}, which is not a test component; known: ${COMPONENTS.join(', ')}, or all`);
  }
}

/** Tests named `test` need components this machine lacks and nobody allowed to be missing. */
export class MissingComponentError extends Error {
  override readonly name = 'MissingComponentError';
  constructor(
    readonly test: string,
    readonly missing: readonly MissingComponent[],
  ) {
    const names = missing.map((m) => m.component).join(',');
    super(
      [
        `"${test}" requires ${missing.map((m) => m.component).join(', ')}, missing on this machine:`,
        ...missing.map((m) => `  ${m.component}: ${m.reason}; install: ${m.install}`),
        `Install everything with ${INSTALL_SYSTEM_DEPS}, or skip these tests explicitly with ${ALLOW_MISSING_ENV}=${names}`,
      ].join('\n'),
    );
  }
}

/** The components the developer allowed to be missing: KEDGE_TEST_ALLOW_MISSING, comma separated, or `all`. */
export function allowedMissing(env: NodeJS.ProcessEnv = process.env): ReadonlySet<Component> {
  const names = (env[ALLOW_MISSING_ENV] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.includes('all')) return new Set(COMPONENTS);
  for (const name of names) if (!isComponent(name)) throw new UnknownComponentError(ALLOW_MISSING_ENV, name);
  return new Set(names as Component[]);
}

const probes = new Map<Component, Promise<string | undefined>>();

/** Why `component` is missing here, or undefined when it is present; probed once per test process. */
export function probeComponent(component: Component): Promise<string | undefined> {
  let probe = probes.get(component);
  if (probe === undefined) {
    probe = Promise.resolve().then(() => COMPONENT_DEFINITIONS[component].probe());
    probes.set(component, probe);
  }
  return probe;
}

/** The missing ones among `components`, each with whether it may be missing here. */
export async function missingComponents(components: readonly Component[], allowed = allowedMissing(), kind = machineKind()): Promise<MissingComponent[]> {
  const missing: MissingComponent[] = [];
  for (const component of new Set(components)) {
    const definition = COMPONENT_DEFINITIONS[component];
    const { platforms } = definition;
    if (platforms !== undefined && !platforms.includes(kind)) {
      const reason = `not available on ${kind} (only ${platforms.join(', ')})`;
      missing.push({ component, reason, install: definition.install, allowance: 'not-on-this-platform', platforms });
      continue;
    }
    const reason = await probeComponent(component);
    if (reason === undefined) continue;
    missing.push({ component, reason, install: definition.install, allowance: allowed.has(component) ? 'opted-out' : 'required' });
  }
  return missing;
}

export interface Requirement {
  readonly components: readonly Component[];
  /** every missing component, whether required or allowed; empty when the tests run */
  readonly missing: readonly MissingComponent[];
  describe(name: string, factory: SuiteFactory): void;
  describe(name: string, options: TestOptions, factory: SuiteFactory): void;
  /** `options` may be a timeout in ms, as with vitest's it */
  it(name: string, fn: TestFunction, options?: number | TestOptions): void;
  it(name: string, options: TestOptions, fn: TestFunction): void;
}

/** vitest's two argument orders: (name, fn, options or timeout?) and (name, options, fn) */
function split<F extends SuiteFactory | TestFunction>(second: TestOptions | F, third: F | number | TestOptions | undefined): { options: TestOptions; body: F } {
  if (typeof second !== 'function') return { options: second, body: third as F };
  return { options: typeof third === 'number' ? { timeout: third } : ((third as TestOptions | undefined) ?? {}), body: second as F };
}

const reported = new Set<string>();

/** Says once per test process and component that tests skip, and why: vitest shows no reason for a static skip. */
function reportSkip(missing: readonly MissingComponent[]): void {
  for (const m of missing) {
    if (reported.has(m.component)) continue;
    reported.add(m.component);
    const why = m.allowance === 'opted-out' ? `allowed by ${ALLOW_MISSING_ENV}` : 'this machine kind cannot have it';
    console.warn(`[kedge tests] skipping the tests that require ${m.component}: ${m.reason} (${why})`);
  }
}

/**
 * Declares that the tests given to the returned `describe`/`it` need `components`. Await it at the top of the
 * test file (probes such as QUIC's are asynchronous); then use its describe/it in place of vitest's.
 */
export async function requires(...components: Component[]): Promise<Requirement> {
  const missing = await missingComponents(components);
  const required = missing.filter((m) => m.allowance === 'required');
  const meta = { kedgeMissing: missing };

  function describe(name: string, second: TestOptions | SuiteFactory, third?: SuiteFactory | number | TestOptions): void {
    const { options, body } = split<SuiteFactory>(second, third);
    if (missing.length === 0) {
      vitestDescribe(name, options, body);
      return;
    }
    if (required.length > 0) {
      // one failing test that says what is missing; the suite's own tests are listed, skipped, and marked
      // required (so the summary fails them too) instead of failing one by one in hooks that cannot work here
      const error = new MissingComponentError(name, required);
      vitestIt(`${name} - requires ${components.join(', ')}`, () => {
        throw error;
      });
    } else {
      reportSkip(missing);
    }
    vitestDescribe(name, { ...options, skip: true, meta }, body);
  }

  function it(name: string, second: TestOptions | TestFunction, third?: TestFunction | number | TestOptions): void {
    const { options, body } = split<TestFunction>(second, third);
    if (missing.length === 0) {
      vitestIt(name, options, body);
    } else if (required.length > 0) {
      const error = new MissingComponentError(name, required);
      vitestIt(name, { ...options, meta }, () => {
        throw error;
      });
    } else {
      reportSkip(missing);
      vitestIt(name, { ...options, skip: true, meta }, body);
    }
  }

  return { components, missing, describe, it };
}
