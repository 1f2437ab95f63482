import { describe, expect, it } from 'vitest';
import { Group, Operation, newErrorResponse, newMessage, newResponse } from '../src/index';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function request() {
  return newMessage({
    source: 'metamanager',
    group: Group.Resource,
    operation: Operation.Query,
    resource: 'default/configmap/settings',
    content: null,
    sync: true,
  });
}

describe('message builders', () => {
  it('newMessage - gives a fresh uuid v4, a current timestamp and only the options given', () => {
    const before = Date.now();
    const a = newMessage({ source: 'edged', group: Group.Resource, operation: Operation.Update, resource: 'default/pod/web', content: { x: 1 } });
    const b = newMessage({ source: 'edged', group: Group.Resource, operation: Operation.Update, resource: 'default/pod/web', content: { x: 1 } });
    expect(a.header.msg_id).toMatch(UUID);
    expect(a.header.msg_id).not.toBe(b.header.msg_id);
    expect(a.header.timestamp).toBeGreaterThanOrEqual(before);
    expect(a.header.timestamp).toBeLessThanOrEqual(Date.now());
    expect(Object.keys(a.header).sort()).toEqual(['msg_id', 'timestamp']);
    expect(a.route).toEqual({ source: 'edged', group: 'resource', operation: 'update', resource: 'default/pod/web' });
    expect(a.content).toEqual({ x: 1 });
  });

  it('newMessage - sets parent id, resource version and sync when asked', () => {
    const m = newMessage({ source: 's', group: 'g', operation: 'o', resource: 'r', content: 1, parentId: 'p', resourceVersion: '42', sync: false });
    expect(m.header).toMatchObject({ parent_msg_id: 'p', resourceversion: '42', sync: false });
  });

  it('newResponse - points at the request, keeps group and resource, uses the response operation', () => {
    const req = request();
    const res = newResponse(req, { data: 'x' });
    expect(res.header.parent_msg_id).toBe(req.header.msg_id);
    expect(res.header.msg_id).not.toBe(req.header.msg_id);
    expect(res.route).toEqual({ source: 'metamanager', group: 'resource', operation: 'response', resource: 'default/configmap/settings' });
    expect(res.content).toEqual({ data: 'x' });
    expect(res.header.sync).toBeUndefined();
  });

  it('newResponse - uses the given source', () => {
    expect(newResponse(request(), null, 'edgehub').route.source).toBe('edgehub');
  });

  it('newErrorResponse - uses the error operation and carries the reason as content', () => {
    const req = request();
    const err = newErrorResponse(req, 'configmap not found', 'metamanager');
    expect(err.route.operation).toBe(Operation.Error);
    expect(err.header.parent_msg_id).toBe(req.header.msg_id);
    expect(err.content).toBe('configmap not found');
    expect(err.route.resource).toBe(req.route.resource);
  });
});
