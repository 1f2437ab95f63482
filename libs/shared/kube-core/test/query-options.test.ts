// Query parameters decoded and validated as kube-apiserver does: each case is what a cluster answers
// (apimachinery's runtime conversions, metainternalversion and metav1 validation), so clients other
// than kubectl see the same meaning and the same Status.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  StatusError,
  parseDeleteOptionsQuery,
  parseListOptions,
  parsePatchOptions,
  parsePodLogOptions,
  parseWriteOptions,
  queryBoolean,
  queryInt64,
  queryPretty,
  validateDeleteOptions,
} from '../src/index';

function statusOf(run: () => unknown): StatusError {
  try {
    run();
  } catch (error) {
    if (error instanceof StatusError) return error;
    throw error;
  }
  throw new Error('expected a StatusError');
}

const q = (text: string) => new URLSearchParams(text);

describe('query parameters - booleans as runtime.Convert_Slice_string_To_bool', () => {
  it.each([
    ['watch=true', true],
    ['watch=True', true], // the official Python client
    ['watch=TRUE', true],
    ['watch=1', true],
    ['watch=t', true],
    ['watch=yes', true], // upstream: anything but 0/false is true
    ['watch=', true], // the empty string too
    ['watch', true],
    ['watch=false', false],
    ['watch=False', false],
    ['watch=FALSE', false],
    ['watch=fAlSe', false],
    ['watch=0', false],
    ['watch=0&watch=1', false], // the first value wins, as url.Values.Get
    ['other=1', undefined],
  ])('%s is %s', (text, expected) => {
    expect(queryBoolean(q(text), 'watch')).toBe(expected);
  });

  it.each([
    ['pretty=true', true],
    ['pretty=T', true],
    ['pretty=1', true],
    ['pretty=yes', false], // strconv.ParseBool refuses it and upstream takes that as false
    ['pretty=false', false],
    ['', false],
  ])('pretty: %s is %s (strconv.ParseBool, errors ignored)', (text, expected) => {
    expect(queryPretty(q(text))).toBe(expected);
  });
});

describe('query parameters - integers as strconv.ParseInt(s, 10, 64)', () => {
  it.each([
    ['limit=0', 0],
    ['limit=500', 500],
    ['limit=%2B7', 7], // '+' itself is a space in a query string
    ['limit=-1', -1],
    ['limit=007', 7],
    ['limit=9223372036854775807', 2 ** 63], // int64's largest, approximated
    ['other=1', undefined],
  ])('%s is %s', (text, expected) => {
    expect(queryInt64(q(text), 'limit')).toBe(expected);
  });

  it.each([
    ['limit=abc', 'invalid syntax'],
    ['limit=', 'invalid syntax'],
    ['limit=1.5', 'invalid syntax'],
    ['limit=1e3', 'invalid syntax'],
    ['limit=%201', 'invalid syntax'],
    ['limit=0x10', 'invalid syntax'],
    ['limit=9223372036854775808', 'value out of range'],
    ['limit=-9223372036854775809', 'value out of range'],
  ])('%s is a 400 BadRequest naming limit (%s)', (text, why) => {
    const error = statusOf(() => queryInt64(q(text), 'limit'));
    expect(error.code).toBe(400);
    expect(error.reason).toBe('BadRequest');
    expect(error.message).toContain('query parameter limit');
    expect(error.message).toContain(`strconv.ParseInt: parsing`);
    expect(error.message).toContain(why);
    expect(error.details?.causes?.[0]?.field).toBe('limit');
  });
});

describe('query parameters - ListOptions as metainternalversion validation', () => {
  it('decodes every field of a list', () => {
    expect(parseListOptions(q('labelSelector=a%3Db&fieldSelector=metadata.name%3Dx&limit=5&continue=tok&timeoutSeconds=3'), false)).toEqual({
      watch: false,
      labelSelector: 'a=b',
      fieldSelector: 'metadata.name=x',
      resourceVersion: '',
      resourceVersionMatch: undefined,
      limit: 5,
      continue: 'tok',
      timeoutSeconds: 3,
      allowWatchBookmarks: false,
      sendInitialEvents: undefined,
    });
  });

  it.each([
    ['resourceVersion=5&resourceVersionMatch=Exact', false, 'Exact'],
    ['resourceVersion=0&resourceVersionMatch=NotOlderThan', false, 'NotOlderThan'],
    ['sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan', true, 'NotOlderThan'],
    ['sendInitialEvents=false&resourceVersionMatch=NotOlderThan&resourceVersion=4', true, 'NotOlderThan'],
    // validating allowWatchBookmarks would break clients that asked for initial events before watch-list
    ['sendInitialEvents=true&resourceVersionMatch=NotOlderThan', true, 'NotOlderThan'],
  ])('accepts %s (watch=%s)', (text, watch, match) => {
    expect(parseListOptions(q(text), watch).resourceVersionMatch).toBe(match);
  });

  it.each([
    ['resourceVersion=0&resourceVersionMatch=Exact', false, 'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'],
    ['resourceVersion=0&resourceVersionMatch=foo', false, 'resourceVersionMatch: Unsupported value: "foo": supported values: "Exact", "NotOlderThan", ""'],
    ['resourceVersionMatch=Exact', false, 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided'],
    ['resourceVersion=3&resourceVersionMatch=Exact&continue=x', false, 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided'],
    ['sendInitialEvents=true', false, 'sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list'],
    ['resourceVersionMatch=NotOlderThan', true, 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided'],
    ['sendInitialEvents=true', true, 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'],
    ['sendInitialEvents=false', true, 'resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'],
    [
      'sendInitialEvents=true&resourceVersionMatch=Exact',
      true,
      '[resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan, resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"]',
    ],
    ['sendInitialEvents=true&resourceVersionMatch=NotOlderThan&continue=1', true, 'resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided'],
  ])('refuses %s (watch=%s) with a 422 ListOptions', (text, watch, message) => {
    const error = statusOf(() => parseListOptions(q(text), watch));
    expect(error.code).toBe(422);
    expect(error.reason).toBe('Invalid');
    expect(error.message).toBe(`ListOptions.meta.k8s.io "" is invalid: ${message}`);
    expect(error.details?.kind).toBe('ListOptions');
    expect(error.details?.group).toBe('meta.k8s.io');
  });

  it.each(['limit=abc', 'timeoutSeconds=ten', 'resourceVersion=abc', 'resourceVersion=-1'])('refuses %s with a 400 naming the parameter', (text) => {
    const error = statusOf(() => parseListOptions(q(text), true));
    expect(error.code).toBe(400);
    expect(error.message).toContain(text.split('=')[0]);
  });
});

describe('query parameters - write options as metav1 validation', () => {
  it('defaults and decodes create options', () => {
    expect(parseWriteOptions(q(''), 'CreateOptions')).toEqual({ dryRun: false, fieldManager: undefined, fieldValidation: 'Warn' });
    expect(parseWriteOptions(q('dryRun=All&fieldManager=ci&fieldValidation=Strict'), 'CreateOptions')).toEqual({
      dryRun: true,
      fieldManager: 'ci',
      fieldValidation: 'Strict',
    });
  });

  it.each([
    ['dryRun=Some', 'dryRun: Unsupported value: []string{"Some"}: supported values: "All"'],
    ['dryRun=All&dryRun=x', 'dryRun: Unsupported value: []string{"All", "x"}: supported values: "All"'],
    ['dryRun=', 'dryRun: Unsupported value: []string{""}: supported values: "All"'],
    ['fieldValidation=Loud', 'fieldValidation: Unsupported value: "Loud": supported values: "", "Ignore", "Strict", "Warn"'],
    ['fieldValidation=strict', 'fieldValidation: Unsupported value: "strict": supported values: "", "Ignore", "Strict", "Warn"'],
    [`fieldManager=${'m'.repeat(129)}`, 'fieldManager: Too long: may not be more than 128 bytes'],
    ['fieldManager=a%0Ab', 'fieldManager: Invalid value: "a\\nb": invalid character U+000A (at position 1)'],
  ])('refuses %s with a 422 CreateOptions', (text, message) => {
    const error = statusOf(() => parseWriteOptions(q(text), 'CreateOptions'));
    expect(error.code).toBe(422);
    expect(error.message).toBe(`CreateOptions.meta.k8s.io "" is invalid: ${message}`);
  });

  it('accepts a field manager of printable characters in any script, up to 128 bytes', () => {
    expect(parseWriteOptions(q(`fieldManager=${encodeURIComponent('gestionnaire é 控制器')}`), 'UpdateOptions').fieldManager).toBe('gestionnaire é 控制器');
    expect(parseWriteOptions(q(`fieldManager=${'m'.repeat(128)}`), 'UpdateOptions').fieldManager).toHaveLength(128);
  });

  it('patch options: force only on apply, and apply names its field manager', () => {
    expect(parsePatchOptions(q('fieldManager=me&force=true'), true)).toMatchObject({ fieldManager: 'me', force: true });
    expect(statusOf(() => parsePatchOptions(q('force=true'), false)).message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
    );
    expect(statusOf(() => parsePatchOptions(q(''), true)).message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
  });

  it('delete options: policy, orphanDependents and dryRun as ValidateDeleteOptions', () => {
    const decoded = parseDeleteOptionsQuery(q('gracePeriodSeconds=-5&propagationPolicy=Foreground&dryRun=All'));
    expect(decoded).toMatchObject({ gracePeriodSeconds: -5, propagationPolicy: 'Foreground', dryRun: true });
    expect(() => validateDeleteOptions(decoded)).not.toThrow();
    const policy = statusOf(() => validateDeleteOptions({ propagationPolicy: 'Sideways', orphanDependents: undefined, dryRunValues: [] }));
    expect(policy.code).toBe(422);
    expect(policy.message).toBe(
      'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "Sideways": supported values: "Foreground", "Background", "Orphan", "nil"',
    );
    const both = statusOf(() => validateDeleteOptions({ propagationPolicy: 'Orphan', orphanDependents: true, dryRunValues: [] }));
    expect(both.message).toContain('orphanDependents and deletionPropagation cannot be both set');
    expect(statusOf(() => parseDeleteOptionsQuery(q('gracePeriodSeconds=soon'))).code).toBe(400);
  });
});

describe('query parameters - PodLogOptions as ValidatePodLogOptions', () => {
  it('decodes what kubectl logs sends', () => {
    expect(parsePodLogOptions(q('container=app&follow=true&tailLines=10&timestamps=1&limitBytes=100&sinceSeconds=60'), 'web')).toEqual({
      container: 'app',
      follow: true,
      previous: false,
      timestamps: true,
      sinceSeconds: 60,
      sinceTime: undefined,
      tailLines: 10,
      limitBytes: 100,
      insecureSkipTLSVerifyBackend: false,
    });
  });

  it.each([
    ['tailLines=-1', 'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0', 422],
    ['limitBytes=0', 'PodLogOptions "web" is invalid: limitBytes: Invalid value: 0: must be greater than 0', 422],
    ['sinceSeconds=0', 'PodLogOptions "web" is invalid: sinceSeconds: Invalid value: 0: must be greater than 0', 422],
    ['sinceSeconds=5&sinceTime=2024-01-01T00:00:00Z', 'PodLogOptions "web" is invalid: Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified', 422],
    ['tailLines=ten', 'query parameter tailLines', 400],
    ['sinceTime=yesterday', 'query parameter sinceTime', 400],
  ])('refuses %s', (text, message, code) => {
    const error = statusOf(() => parsePodLogOptions(q(text), 'web'));
    expect(error.code).toBe(code);
    expect(error.message).toContain(message);
  });
});

describe('query parameters - random input', () => {
  const names = ['watch', 'limit', 'timeoutSeconds', 'resourceVersion', 'resourceVersionMatch', 'sendInitialEvents', 'allowWatchBookmarks', 'continue', 'dryRun',
    'fieldManager', 'fieldValidation', 'force', 'gracePeriodSeconds', 'propagationPolicy', 'orphanDependents', 'tailLines', 'sinceSeconds', 'sinceTime', 'limitBytes', 'pretty'];
  const value = fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('true', 'True', '0', 'All', 'Exact', 'NotOlderThan', 'Strict', '-1', '12', ''));
  const queryText = fc.array(fc.tuple(fc.constantFrom(...names), value), { maxLength: 8 }).map((pairs) => {
    const params = new URLSearchParams();
    for (const [name, text] of pairs) params.append(name, text);
    return params.toString();
  });

  it('never throw anything but a 400 or 422 Status', () => {
    fc.assert(
      fc.property(queryText, fc.boolean(), fc.boolean(), (text, watch, apply) => {
        for (const run of [
          () => parseListOptions(q(text), watch),
          () => parseWriteOptions(q(text), 'CreateOptions'),
          () => parsePatchOptions(q(text), apply),
          () => validateDeleteOptions(parseDeleteOptionsQuery(q(text))),
          () => parsePodLogOptions(q(text), 'p'),
          () => queryPretty(q(text)),
        ]) {
          try {
            run();
          } catch (error) {
            expect(error).toBeInstanceOf(StatusError);
            expect([400, 422]).toContain((error as StatusError).code);
            // a message quotes at most a bounded part of what the client sent
            expect((error as StatusError).message.length).toBeLessThan(2000);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('valid values round-trip: what a client encodes is what the server decodes', () => {
    const options = fc.record({
      limit: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      timeoutSeconds: fc.option(fc.integer({ min: -1000, max: 100_000 }), { nil: undefined }),
      resourceVersion: fc.option(fc.bigInt({ min: 0n, max: 10n ** 19n - 1n }).map(String), { nil: undefined }),
      allowWatchBookmarks: fc.boolean(),
      sendInitialEvents: fc.option(fc.boolean(), { nil: undefined }),
      labelSelector: fc.string(),
      continue: fc.string(),
      // how each client spells a boolean: client-go, the Python client, curl users
      spelling: fc.constantFrom((b: boolean) => String(b), (b: boolean) => (b ? 'True' : 'False'), (b: boolean) => (b ? '1' : '0')),
    });
    fc.assert(
      fc.property(options, (o) => {
        const params = new URLSearchParams();
        params.set('limit', String(o.limit));
        if (o.timeoutSeconds !== undefined) params.set('timeoutSeconds', String(o.timeoutSeconds));
        if (o.resourceVersion !== undefined) params.set('resourceVersion', o.resourceVersion);
        params.set('allowWatchBookmarks', o.spelling(o.allowWatchBookmarks));
        if (o.sendInitialEvents !== undefined) {
          params.set('sendInitialEvents', o.spelling(o.sendInitialEvents));
          params.set('resourceVersionMatch', 'NotOlderThan');
        }
        params.set('labelSelector', o.labelSelector);
        // continue and resourceVersionMatch exclude each other
        const continueToken = o.sendInitialEvents === undefined ? o.continue : '';
        params.set('continue', continueToken);
        const decoded = parseListOptions(new URLSearchParams(params.toString()), true);
        expect(decoded).toEqual({
          watch: true,
          labelSelector: o.labelSelector,
          fieldSelector: '',
          resourceVersion: o.resourceVersion ?? '',
          resourceVersionMatch: o.sendInitialEvents === undefined ? undefined : 'NotOlderThan',
          limit: o.limit,
          continue: continueToken,
          timeoutSeconds: o.timeoutSeconds,
          allowWatchBookmarks: o.allowWatchBookmarks,
          sendInitialEvents: o.sendInitialEvents,
        });
      }),
      { numRuns: 500 },
    );
  });
});
