// Shared helpers for the protocol tests.
import { expect } from 'vitest';
import { ProtocolError } from '../src/index';
import type { ProtocolErrorCode } from '../src/index';

/** Runs fn and returns the ProtocolError it threw; fails the test if it threw nothing or something else. */
export function catchProtocolError(fn: () => unknown): ProtocolError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error('expected a ProtocolError, but nothing was thrown');
}

export function expectProtocolError(fn: () => unknown, code: ProtocolErrorCode, field?: string): ProtocolError {
  const error = catchProtocolError(fn);
  expect({ code: error.code, field: error.field }).toEqual({ code, field });
  expect(error.name).toBe('ProtocolError');
  expect(error.message.length).toBeGreaterThan(10);
  return error;
}

/** A valid wire frame as a plain object, in the shape KubeEdge sends. */
export function validFrameObject(): Record<string, unknown> {
  return {
    header: {
      msg_id: '7f0f1a52-7d6c-4cf5-9d2b-7f3b3f1d6c11',
      parent_msg_id: '0b0c6f7e-1d7a-4d8e-9c1f-2a3b4c5d6e7f',
      timestamp: 1732530000000,
      resourceversion: '12345',
      sync: true,
    },
    route: { source: 'edgecontroller', group: 'resource', operation: 'update', resource: 'node/edge-1/default/pod/web-0' },
    content: { metadata: { name: 'web-0', namespace: 'default' }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
  };
}

/** validFrameObject with the value at `path` (dotted) replaced, or removed when value is `undefined`. */
export function frameWith(path: string, value: unknown): string {
  const frame = validFrameObject();
  const keys = path.split('.');
  const last = keys.pop() as string;
  let target = frame;
  for (const key of keys) target = target[key] as Record<string, unknown>;
  if (value === undefined) delete target[last];
  else target[last] = value;
  return JSON.stringify(frame);
}
