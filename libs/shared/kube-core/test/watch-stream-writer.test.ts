// The watch stream writer over a real HTTP server on loopback, read by a real client line by line.
import { createServer, get, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { WatchStreamWriter, bookmarkObject, tooOldResourceVersion, type WatchStreamOptions } from '../src/index';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve()))));

/** Serves one watch driven by `drive`, and reads it to the end: status code and every JSON line. */
async function watchOnce(options: Partial<WatchStreamOptions>, drive: (writer: WatchStreamWriter, response: ServerResponse) => void) {
  server = createServer((_request, response) => {
    const writer = new WatchStreamWriter(response, { timeoutSeconds: 0, maxBufferedBytes: 1 << 20, onOverflow: () => undefined, ...options });
    writer.open();
    drive(writer, response);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return new Promise<{ status: number; headers: Record<string, unknown>; events: { type: string; object: Record<string, unknown> }[] }>((resolve, reject) => {
    get(`http://127.0.0.1:${port}/`, (response) => {
      const events: { type: string; object: Record<string, unknown> }[] = [];
      const lines = createInterface({ input: response });
      lines.on('line', (line) => events.push(JSON.parse(line) as (typeof events)[number]));
      lines.on('close', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, events }));
    }).on('error', reject);
  });
}

describe('watch stream writer', () => {
  it('watch stream writer - events are JSON lines on a chunked 200, and an ERROR event ends the stream', async () => {
    const result = await watchOnce({}, (writer) => {
      writer.send('ADDED', { kind: 'Pod', metadata: { name: 'a', resourceVersion: '5' } });
      writer.sendError(tooOldResourceVersion(3, 4).toStatus());
      writer.send('MODIFIED', { kind: 'Pod', metadata: { name: 'a' } });
    });
    expect(result.status).toBe(200);
    expect(result.headers['transfer-encoding']).toBe('chunked');
    expect(result.events.map((event) => event.type)).toEqual(['ADDED', 'ERROR']);
    expect(result.events[1]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 3 (4)' });
  });

  it('watch stream writer - bookmarks come every interval until timeoutSeconds ends the watch', async () => {
    let revision = 10;
    const started = Date.now();
    const result = await watchOnce({ timeoutSeconds: 1, bookmarks: { intervalMs: 200, object: () => bookmarkObject('Pod', 'v1', String(revision++)) } }, () => undefined);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(result.events.length).toBeGreaterThanOrEqual(3);
    expect(result.events.every((event) => event.type === 'BOOKMARK')).toBe(true);
    expect(result.events[0]?.object).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '10' } });
  });

  it('watch stream writer - a client that does not keep up is cut off and the close listeners run', async () => {
    let overflowed = 0;
    let closed = false;
    const result = await watchOnce({ maxBufferedBytes: 1024, onOverflow: (bytes) => (overflowed = bytes) }, (writer) => {
      writer.onClose(() => (closed = true));
      // far more than the socket takes at once: the response buffers past the limit
      for (let index = 0; index < 200 && !writer.closed; index++) writer.send('ADDED', { metadata: { name: `p${index}` }, data: 'x'.repeat(64 * 1024) });
    });
    expect(overflowed).toBeGreaterThan(1024);
    expect(closed).toBe(true);
    expect(result.events.length).toBeLessThan(200);
  });
});
