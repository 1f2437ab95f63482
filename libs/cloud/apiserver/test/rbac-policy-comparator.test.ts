// Rule coverage as upstream's policy_comparator (k8s.io/kubernetes/pkg/registry/rbac/validation): which
// owner rules cover which servant rules, with wildcards, subresources, resourceNames and URL prefixes,
// and how missing permissions are worded in an escalation refusal.
import { describe, expect, it } from 'vitest';
import { breakdownRule, compactRuleText, compactRules, coversRules, type PolicyRule } from '../src/auth';

function rule(parts: Partial<PolicyRule>): PolicyRule {
  return { verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [], ...parts };
}

const covered = (owner: Partial<PolicyRule>[], servant: Partial<PolicyRule>[]): boolean => coversRules(owner.map(rule), servant.map(rule)).covered;

describe('rbac - rule coverage', () => {
  it('covers exact rules, and any rule with the * wildcards of verbs, groups and resources', () => {
    const podsGet = { apiGroups: [''], resources: ['pods'], verbs: ['get'] };
    expect(covered([podsGet], [podsGet])).toBe(true);
    expect(covered([{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }], [{ ...podsGet, verbs: ['get', 'delete'] }])).toBe(true);
    expect(covered([{ apiGroups: ['*'], resources: ['pods'], verbs: ['get'] }], [{ ...podsGet, apiGroups: ['', 'apps'] }])).toBe(true);
    expect(covered([{ apiGroups: [''], resources: ['*'], verbs: ['get'] }], [{ ...podsGet, resources: ['secrets', 'pods/log'] }])).toBe(true);
    expect(covered([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])).toBe(true);
  });

  it('does not let listed values cover a wildcard, nor one resource another', () => {
    const owner = [{ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list', 'watch'] }];
    expect(covered(owner, [{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }])).toBe(false);
    expect(covered(owner, [{ apiGroups: [''], resources: ['*'], verbs: ['get'] }])).toBe(false);
    expect(covered(owner, [{ apiGroups: ['*'], resources: ['pods'], verbs: ['get'] }])).toBe(false);
    expect(covered(owner, [{ apiGroups: ['apps'], resources: ['pods'], verbs: ['get'] }])).toBe(false);
    expect(covered(owner, [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }])).toBe(false);
  });

  it('tells subresources from resources: */status covers every status, pods does not cover pods/status', () => {
    expect(covered([{ apiGroups: [''], resources: ['*/status'], verbs: ['get'] }], [{ apiGroups: [''], resources: ['pods/status', 'nodes/status'], verbs: ['get'] }])).toBe(true);
    expect(covered([{ apiGroups: [''], resources: ['*/status'], verbs: ['get'] }], [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }])).toBe(false);
    expect(covered([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }], [{ apiGroups: [''], resources: ['pods/status'], verbs: ['get'] }])).toBe(false);
  });

  it('honours resourceNames: a named rule never covers the whole resource, an unnamed one covers every name', () => {
    const named = { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['a', 'b'] };
    expect(covered([named], [{ ...named, resourceNames: ['a'] }])).toBe(true);
    expect(covered([named], [{ ...named, resourceNames: ['a', 'c'] }])).toBe(false);
    expect(covered([named], [{ ...named, resourceNames: [] }])).toBe(false);
    expect(covered([{ ...named, resourceNames: [] }], [named])).toBe(true);
  });

  it('covers non-resource URLs exactly or by a trailing * prefix, and never by resource rules', () => {
    expect(covered([{ nonResourceURLs: ['/healthz'], verbs: ['get'] }], [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }])).toBe(true);
    expect(covered([{ nonResourceURLs: ['/apis/*'], verbs: ['get'] }], [{ nonResourceURLs: ['/apis/apps/v1', '/apis/'], verbs: ['get'] }])).toBe(true);
    expect(covered([{ nonResourceURLs: ['/apis'], verbs: ['get'] }], [{ nonResourceURLs: ['/apis/apps'], verbs: ['get'] }])).toBe(false);
    expect(covered([{ nonResourceURLs: ['*'], verbs: ['*'] }], [{ nonResourceURLs: ['/metrics'], verbs: ['get', 'post'] }])).toBe(true);
    expect(covered([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }], [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }])).toBe(false);
  });

  it('covers a rule spread over several owner rules, and nothing with no owner rules', () => {
    const owner = [
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ];
    expect(covered(owner, [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }])).toBe(true);
    expect(covered([], [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }])).toBe(false);
    expect(covered([], [])).toBe(true);
  });

  it('breaks rules down and words the missing ones as upstream, verbs merged', () => {
    expect(breakdownRule(rule({ apiGroups: ['', 'apps'], resources: ['pods'], verbs: ['get', 'list'], resourceNames: ['x'] }))).toHaveLength(4);
    const { missing } = coversRules([rule({ apiGroups: [''], resources: ['pods'], verbs: ['get'] })], [
      rule({ apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list'] }),
      rule({ nonResourceURLs: ['/metrics'], verbs: ['get'] }),
    ]);
    expect(compactRules(missing).map(compactRuleText)).toEqual([
      '{APIGroups:[""], Resources:["pods"], Verbs:["list"]}',
      '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}',
      '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
    ]);
  });
});
