// topicMatches walks both strings without splitting them (it runs for every message and subscription):
// it must agree with MQTT's level-by-level rule, which the reference below states the plain way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { topicMatches } from '../src/topics';

/** MQTT 3.1.1 §4.7, the obvious way: split into levels and compare. */
function referenceMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let index = 0; index < filterLevels.length; index += 1) {
    const level = filterLevels[index];
    if (level === '#') return true;
    const actual = topicLevels[index];
    if (actual === undefined) return false;
    if (level !== '+' && level !== actual) return false;
  }
  return filterLevels.length === topicLevels.length;
}

const level = fc.constantFrom('', 'a', 'b', 'ab', '$hw', 'twin', 'update', 'dev-1');
const topic = fc.array(level, { minLength: 1, maxLength: 6 }).map((levels) => levels.join('/'));
const filter = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 6 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));

describe('topic matching', () => {
  it('matches - the KubeEdge request filters, wildcards, the parent level of #, and $ topics', () => {
    const cases: [string, string, boolean][] = [
      ['$hw/events/device/+/+/twin/update', '$hw/events/device/default/dev-1/twin/update', true],
      ['$hw/events/device/+/+/twin/update', '$hw/events/device/default/dev-1/twin/update/result', false],
      ['$hw/events/device/+/+/twin/update', '$hw/events/device/dev-1/twin/update', false],
      ['$hw/events/device/+/twin/update', '$hw/events/device/default/dev-1/twin/update', false],
      ['a/#', 'a', true],
      ['a/#', 'a/b/c', true],
      ['a/+', 'a', false],
      ['a/+', 'a/', true],
      ['#', '$SYS/x', false],
      ['+/x', '$a/x', false],
      ['$a/x', '$a/x', true],
      ['a/b', 'a/bc', false],
      ['a/bc', 'a/b', false],
    ];
    for (const [f, t, expected] of cases) expect(topicMatches(f, t), `${f} ~ ${t}`).toBe(expected);
  });

  it('matches - agrees with the level-by-level rule on random filters and topics', () => {
    fc.assert(
      fc.property(filter, topic, (f, t) => topicMatches(f, t) === referenceMatches(f, t)),
      { numRuns: 5_000 },
    );
  });
});
