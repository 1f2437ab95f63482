// Live watch events are decoded once per event and resource type, and encoded once for every plain-JSON
// watcher: watchers with different selectors and forms must still each get exactly their own events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness';

let test: TestServer;
const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';

beforeAll(async () => {
  test = await startTestServer();
});
afterAll(async () => {
  await test.close();
});

interface Line {
  type: string;
  object: { kind?: string; metadata?: { name?: string; labels?: Record<string, string>; resourceVersion?: string }; rows?: Array<{ cells: unknown[] }> };
}

const lines = (text: string): Line[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Line);

describe('watch fan-out', () => {
  it('watchers sharing one decoding and encoding still get their own event types, objects and forms', async () => {
    const listed = await test.request('GET', CONFIGMAPS);
    const from = listed.json.metadata.resourceVersion as string;
    const watch = (query: string, accept?: string) =>
      test.request('GET', `${CONFIGMAPS}?watch=1&resourceVersion=${from}&timeoutSeconds=4${query}`, accept === undefined ? {} : { accept });
    const all = watch('');
    const allAgain = watch('');
    const onlyA = watch('&labelSelector=app%3Da');
    const onlyATable = watch('&labelSelector=app%3Da', 'application/json;as=Table;v=v1;g=meta.k8s.io');
    // give the watches time to be live (they would replay what they missed anyway)
    await new Promise((resolve) => setTimeout(resolve, 500));

    const created = await test.request('POST', CONFIGMAPS, { body: { metadata: { name: 'fan', labels: { app: 'a' } }, data: { k: 'v' } } });
    expect(created.status).toBe(201);
    const relabel = async (app: string) =>
      expect((await test.request('PATCH', `${CONFIGMAPS}/fan`, { body: { metadata: { labels: { app } } }, contentType: 'application/merge-patch+json' })).status).toBe(200);
    await relabel('b');
    await relabel('a');

    const [everything, everythingAgain, selected, table] = await Promise.all([all, allAgain, onlyA, onlyATable]);
    const summary = (text: string) => lines(text).map((line) => `${line.type} ${line.object.metadata?.labels?.['app'] ?? ''}@${line.object.metadata?.resourceVersion ?? ''}`);
    const rv = (n: number) => String(Number(created.json.metadata.resourceVersion) + n);
    expect(summary(everything.text)).toEqual([`ADDED a@${rv(0)}`, `MODIFIED b@${rv(1)}`, `MODIFIED a@${rv(2)}`]);
    // the same lines, byte for byte
    expect(everythingAgain.text).toBe(everything.text);
    // stops matching: DELETED with the new object; matches again: ADDED
    expect(summary(selected.text)).toEqual([`ADDED a@${rv(0)}`, `DELETED b@${rv(1)}`, `ADDED a@${rv(2)}`]);
    const tables = lines(table.text);
    expect(tables.map((line) => [line.type, line.object.kind, line.object.rows?.[0]?.cells[0]])).toEqual([
      ['ADDED', 'Table', 'fan'],
      ['DELETED', 'Table', 'fan'],
      ['ADDED', 'Table', 'fan'],
    ]);
  });
});
