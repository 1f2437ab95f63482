// MQTT topic rules: validating topics and filters, matching a topic against a filter (with the `$`
// rule: a filter starting with a wildcard never matches a `$...` topic), and the coarse class of a
// topic used as a metric label.
import { DEVICE_TOPIC_PREFIX, HW_EVENTS_PREFIX, NODE_TOPIC_PREFIX } from '@kedge/device-api';
import { EventBusError } from './errors';

/** MQTT's limit on a UTF-8 encoded topic. */
export const MAX_TOPIC_BYTES = 65_535;

export type TopicClass = 'device' | 'node' | 'hw_other' | 'sys' | 'app';

function checkCommon(topic: unknown, field: string, what: string): string {
  if (typeof topic !== 'string' || topic === '') throw new EventBusError('INVALID_TOPIC', `${what} must be a non-empty string`, field);
  if (topic.includes('\u0000')) throw new EventBusError('INVALID_TOPIC', `${what} ${JSON.stringify(topic.slice(0, 80))} contains NUL`, field);
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) throw new EventBusError('INVALID_TOPIC', `${what} is longer than ${MAX_TOPIC_BYTES} bytes`, field);
  return topic;
}

/** A topic to publish on: no wildcards. @throws EventBusError INVALID_TOPIC */
export function checkTopic(topic: unknown, field = 'topic'): string {
  const checked = checkCommon(topic, field, 'a topic');
  if (checked.includes('+') || checked.includes('#')) {
    throw new EventBusError('INVALID_TOPIC', `topic ${JSON.stringify(checked.slice(0, 80))} contains a wildcard; publish needs a concrete topic`, field);
  }
  return checked;
}

/** A subscription filter: `+` fills a whole level, `#` only the whole last level. @throws EventBusError INVALID_TOPIC */
export function checkFilter(filter: unknown, field = 'topicFilter'): string {
  const checked = checkCommon(filter, field, 'a topic filter');
  const levels = checked.split('/');
  levels.forEach((level, index) => {
    if (level.includes('#') && (level !== '#' || index !== levels.length - 1)) {
      throw new EventBusError('INVALID_TOPIC', `filter ${JSON.stringify(checked.slice(0, 80))}: "#" must be the whole last level`, field);
    }
    if (level.includes('+') && level !== '+') {
      throw new EventBusError('INVALID_TOPIC', `filter ${JSON.stringify(checked.slice(0, 80))}: "+" must be a whole level`, field);
    }
  });
  return checked;
}

function sameLevel(a: string, aStart: number, aEnd: number, b: string, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let i = 0; i < aEnd - aStart; i++) if (a.charCodeAt(aStart + i) !== b.charCodeAt(bStart + i)) return false;
  return true;
}

/** Whether `topic` matches `filter` (both assumed valid). Runs for every message and subscription: no allocation. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 36 /* $ */ && (filter.charCodeAt(0) === 43 /* + */ || filter.charCodeAt(0) === 35 /* # */)) return false;
  // walk both level by level: f and t are the starts of the current levels
  let f = 0;
  let t = 0;
  for (;;) {
    let filterEnd = filter.indexOf('/', f);
    if (filterEnd === -1) filterEnd = filter.length;
    if (filterEnd - f === 1 && filter.charCodeAt(f) === 35 /* # */) return true;
    let topicEnd = topic.indexOf('/', t);
    if (topicEnd === -1) topicEnd = topic.length;
    const wildcard = filterEnd - f === 1 && filter.charCodeAt(f) === 43; /* + */
    if (!wildcard && !sameLevel(filter, f, filterEnd, topic, t, topicEnd)) return false;
    const filterDone = filterEnd === filter.length;
    const topicDone = topicEnd === topic.length;
    if (filterDone || topicDone) {
      if (filterDone && topicDone) return true;
      // `a/#` also matches `a` (the parent level)
      if (topicDone && !filterDone) return filter.length - filterEnd === 2 && filter.charCodeAt(filterEnd + 1) === 35;
      return false;
    }
    f = filterEnd + 1;
    t = topicEnd + 1;
  }
}

/**
 * Whether every topic `requested` (a subscription filter) can match is also matched by `allowed`: the
 * test for a SUBSCRIBE against a client's allow list. Both assumed valid.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  // a filter starting with a wildcard matches no `$` topic, so it cannot cover a `$...` filter
  if (requested.startsWith('$') && (allowed.startsWith('+') || allowed.startsWith('#'))) return false;
  const allowedLevels = allowed.split('/');
  const requestedLevels = requested.split('/');
  for (let index = 0; index < allowedLevels.length; index += 1) {
    const level = allowedLevels[index];
    if (level === '#') return true;
    const asked = requestedLevels[index];
    if (asked === undefined || asked === '#') return false;
    if (level === '+') continue;
    if (asked === '+' || asked !== level) return false;
  }
  return allowedLevels.length === requestedLevels.length;
}

/** A bounded label for metrics: which family a topic belongs to. */
export function topicClass(topic: string): TopicClass {
  if (topic.startsWith(DEVICE_TOPIC_PREFIX)) return 'device';
  if (topic.startsWith(NODE_TOPIC_PREFIX)) return 'node';
  if (topic.startsWith(HW_EVENTS_PREFIX)) return 'hw_other';
  if (topic.startsWith('$')) return 'sys';
  return 'app';
}
