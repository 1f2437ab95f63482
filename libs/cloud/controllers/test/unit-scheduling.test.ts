// The scheduler's filters and score as pure functions.
import { describe, expect, it } from 'vitest';
import { addUsage, effectiveTaints, emptyUsage, pickNode, podFitsNode, podRequests, tolerates, unschedulableMessage, type Node, type Pod } from '../src/index';

function node(name: string, options: { labels?: Record<string, string>; taints?: Array<{ key: string; value?: string; effect: string }>; ready?: string; unschedulable?: boolean; allocatable?: Record<string, string> } = {}): Node {
  return {
    metadata: { name, labels: options.labels ?? {} },
    spec: { ...(options.taints === undefined ? {} : { taints: options.taints }), ...(options.unschedulable === undefined ? {} : { unschedulable: options.unschedulable }) },
    status: { conditions: [{ type: 'Ready', status: options.ready ?? 'True' }], ...(options.allocatable === undefined ? {} : { allocatable: options.allocatable }) },
  };
}

function pod(spec: Pod['spec'] = {}): Pod {
  return { metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c' }], ...spec } };
}

const fits = (p: Pod, n: Node, usage = emptyUsage()) => podFitsNode(p, podRequests(p.spec), n, usage);

describe('scheduler filters', () => {
  it('filters - nodeSelector must match every label', () => {
    expect(fits(pod({ nodeSelector: { zone: 'edge' } }), node('a', { labels: { zone: 'edge' } }))).toEqual({ fits: true });
    expect(fits(pod({ nodeSelector: { zone: 'edge' } }), node('a', { labels: { zone: 'cloud' } }))).toEqual({ fits: false, reasons: ["node(s) didn't match Pod's node affinity/selector"] });
  });

  it('filters - required node affinity: In, NotIn, Exists, DoesNotExist, Gt, Lt; terms ORed', () => {
    const affinity = (operator: string, values?: string[]) =>
      pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator, ...(values ? { values } : {}) }] }] } } } });
    const withK = node('a', { labels: { k: '5' } });
    const withoutK = node('b');
    expect(fits(affinity('In', ['5', '6']), withK).fits).toBe(true);
    expect(fits(affinity('In', ['6']), withK).fits).toBe(false);
    expect(fits(affinity('NotIn', ['5']), withK).fits).toBe(false);
    expect(fits(affinity('NotIn', ['5']), withoutK).fits).toBe(true);
    expect(fits(affinity('Exists'), withK).fits).toBe(true);
    expect(fits(affinity('DoesNotExist'), withK).fits).toBe(false);
    expect(fits(affinity('Gt', ['4']), withK).fits).toBe(true);
    expect(fits(affinity('Lt', ['5']), withK).fits).toBe(false);
    expect(() => fits(affinity('Gt', ['x']), withK)).toThrow(/matchExpressions\[0\]\.values: must be exactly one integer/);
    const ored = pod({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'k', operator: 'In', values: ['1'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['b'] }] }] } } },
    });
    expect(fits(ored, withoutK).fits).toBe(true);
    expect(fits(ored, withK).fits).toBe(false);
  });

  it('filters - NoSchedule and NoExecute taints need a toleration; PreferNoSchedule does not', () => {
    const tainted = node('a', { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }, { key: 'soft', effect: 'PreferNoSchedule' }] });
    expect(fits(pod(), tainted)).toEqual({ fits: false, reasons: ['node(s) had untolerated taint {dedicated: gpu}'] });
    expect(fits(pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu' }] }), tainted).fits).toBe(true);
    expect(fits(pod({ tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'cpu' }] }), tainted).fits).toBe(false);
    expect(fits(pod({ tolerations: [{ operator: 'Exists' }] }), tainted).fits).toBe(true);
    expect(tolerates({ key: 'x', operator: 'Exists', effect: 'NoExecute' }, { key: 'x', effect: 'NoSchedule' })).toBe(false);
  });

  it('filters - a NotReady or Unknown node implies not-ready/unreachable NoSchedule taints, tolerable like real ones', () => {
    expect(effectiveTaints(node('a', { ready: 'Unknown' }))).toContainEqual({ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' });
    expect(effectiveTaints(node('a', { ready: 'False' }))).toContainEqual({ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' });
    expect(fits(pod(), node('a', { ready: 'Unknown' }))).toEqual({ fits: false, reasons: ['node(s) had untolerated taint {node.kubernetes.io/unreachable: }'] });
    expect(fits(pod({ tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' }] }), node('a', { ready: 'Unknown' })).fits).toBe(true);
  });

  it('filters - spec.unschedulable keeps pods off unless they tolerate node.kubernetes.io/unschedulable', () => {
    expect(fits(pod(), node('a', { unschedulable: true }))).toEqual({ fits: false, reasons: ['node(s) were unschedulable'] });
    expect(fits(pod({ tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), node('a', { unschedulable: true })).fits).toBe(true);
  });

  it('filters - cpu, memory and pod count against allocatable', () => {
    const small = node('a', { allocatable: { cpu: '1', memory: '1Gi', pods: '2' } });
    const hungry = pod({ containers: [{ name: 'c', resources: { requests: { cpu: '600m', memory: '512Mi' } } }] });
    expect(podRequests(hungry.spec)).toEqual({ cpu: 600, memory: 512 * 2 ** 20 });
    const usage = emptyUsage();
    expect(fits(hungry, small, usage).fits).toBe(true);
    addUsage(usage, podRequests(hungry.spec));
    expect(fits(hungry, small, usage)).toEqual({ fits: false, reasons: ['Insufficient cpu'] });
    addUsage(usage, {});
    expect(fits(pod(), small, usage)).toEqual({ fits: false, reasons: ['Too many pods'] });
    // init containers count by their maximum, not their sum
    expect(podRequests({ containers: [{ resources: { requests: { cpu: '100m' } } }], initContainers: [{ resources: { requests: { cpu: '1' } } }, { resources: { requests: { cpu: '500m' } } }] })).toEqual({ cpu: 1000 });
    expect(() => podRequests({ containers: [{ resources: { requests: { cpu: 'lots' } } }] })).toThrow(/spec\.containers\[0\]\.resources\.requests\.cpu/);
  });
});

describe('scheduler score and summary', () => {
  it('score - fewest pods wins, then the name, so the choice is stable', () => {
    const used = emptyUsage();
    addUsage(used, {});
    expect(pickNode([{ node: node('b'), usage: emptyUsage() }, { node: node('a'), usage: used }])?.metadata?.name).toBe('b');
    expect(pickNode([{ node: node('b'), usage: emptyUsage() }, { node: node('a'), usage: emptyUsage() }])?.metadata?.name).toBe('a');
    expect(pickNode([])).toBeUndefined();
  });

  it('summary - counts each reason as upstream prints it', () => {
    expect(unschedulableMessage(3, [["node(s) didn't match Pod's node affinity/selector"], ["node(s) didn't match Pod's node affinity/selector"], ['node(s) had untolerated taint {a: b}']])).toBe(
      "0/3 nodes are available: 1 node(s) had untolerated taint {a: b}, 2 node(s) didn't match Pod's node affinity/selector.",
    );
    expect(unschedulableMessage(0, [])).toBe('no nodes available to schedule pods');
  });
});
