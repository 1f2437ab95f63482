// Whether one set of RBAC rules covers another, after k8s.io/kubernetes/pkg/registry/rbac/validation
// (policy_comparator.go and the compaction of escalation messages). The servant rules are broken down
// into atomic rules (one API group, resource, verb and resource name, or one URL and verb), so each
// atomic rule is either wholly covered by a single owner rule or it is a missing permission.
import type { PolicyRule } from './rbac-authorizer';

const ALL = '*';

function rule(parts: Partial<PolicyRule>): PolicyRule {
  return { verbs: [], apiGroups: [], resources: [], resourceNames: [], nonResourceURLs: [], ...parts };
}

/** An equivalent list of rules with at most one verb, group, resource and resource name (or one URL and verb) each. */
export function breakdownRule(source: PolicyRule): PolicyRule[] {
  const atoms: PolicyRule[] = [];
  for (const group of source.apiGroups) {
    for (const resource of source.resources) {
      for (const verb of source.verbs) {
        if (source.resourceNames.length === 0) {
          atoms.push(rule({ apiGroups: [group], resources: [resource], verbs: [verb] }));
          continue;
        }
        for (const name of source.resourceNames) atoms.push(rule({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] }));
      }
    }
  }
  for (const url of source.nonResourceURLs) {
    for (const verb of source.verbs) atoms.push(rule({ nonResourceURLs: [url], verbs: [verb] }));
  }
  return atoms;
}

const has = (set: readonly string[], value: string): boolean => set.includes(value);
const hasAll = (set: readonly string[], values: readonly string[]): boolean => values.every((value) => set.includes(value));

function resourcesCoverAll(owned: readonly string[], wanted: readonly string[]): boolean {
  if (has(owned, ALL) || hasAll(owned, wanted)) return true;
  return wanted.every((resource) => {
    if (has(owned, resource)) return true;
    // `*/status` covers the status subresource of every resource, never a resource itself
    const slash = resource.indexOf('/');
    return slash !== -1 && has(owned, `*/${resource.slice(slash + 1)}`);
  });
}

function urlCovers(owned: string, wanted: string): boolean {
  return owned === wanted || (owned.endsWith(ALL) && wanted.startsWith(owned.replace(/\*+$/, '')));
}

/** Whether `owner` (any shape) covers `atom` (one verb, resource and name at most), as upstream's ruleCovers. */
export function ruleCovers(owner: PolicyRule, atom: PolicyRule): boolean {
  const verbs = has(owner.verbs, ALL) || hasAll(owner.verbs, atom.verbs);
  const groups = has(owner.apiGroups, ALL) || hasAll(owner.apiGroups, atom.apiGroups);
  const resources = resourcesCoverAll(owner.resources, atom.resources);
  const urls = atom.nonResourceURLs.every((url) => owner.nonResourceURLs.some((ownedUrl) => urlCovers(ownedUrl, url)));
  // a rule limited to names never covers the whole resource; an unlimited one covers every name
  const names = owner.resourceNames.length === 0 || (atom.resourceNames.length > 0 && hasAll(owner.resourceNames, atom.resourceNames));
  return verbs && groups && resources && urls && names;
}

/** Whether the owner's rules cover every permission of the servant's, and the atomic rules they miss. */
export function coversRules(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): { covered: boolean; missing: PolicyRule[] } {
  const missing = servant.flatMap(breakdownRule).filter((atom) => !owner.some((ownerRule) => ruleCovers(ownerRule, atom)));
  return { covered: missing.length === 0, missing };
}

/** Atomic rules that differ only in their verb merged into one rule, for a readable refusal (upstream's CompactRules). */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  const compacted: PolicyRule[] = [];
  for (const atom of rules) {
    const simple = atom.apiGroups.length === 1 && atom.resources.length === 1 && atom.resourceNames.length <= 1 && atom.nonResourceURLs.length === 0;
    if (!simple) {
      compacted.push(atom);
      continue;
    }
    const key = JSON.stringify([atom.apiGroups, atom.resources, atom.resourceNames]);
    const existing = merged.get(key);
    if (existing === undefined) {
      const copy = rule({ ...atom, verbs: [...atom.verbs] });
      merged.set(key, copy);
      compacted.push(copy);
    } else {
      for (const verb of atom.verbs) if (!existing.verbs.includes(verb)) (existing.verbs as string[]).push(verb);
    }
  }
  return compacted;
}

/** Go's %q of a []string: `["a" "b"]`. */
function quotedList(values: readonly string[]): string {
  return `[${values.map((value) => JSON.stringify(value)).join(' ')}]`;
}

/** `{APIGroups:[""], Resources:["secrets"], Verbs:["*"]}`, as upstream's CompactString words a rule in refusals. */
export function compactRuleText(source: PolicyRule): string {
  const parts: string[] = [];
  if (source.apiGroups.length > 0) parts.push(`APIGroups:${quotedList(source.apiGroups)}`);
  if (source.resources.length > 0) parts.push(`Resources:${quotedList(source.resources)}`);
  if (source.nonResourceURLs.length > 0) parts.push(`NonResourceURLs:${quotedList(source.nonResourceURLs)}`);
  if (source.resourceNames.length > 0) parts.push(`ResourceNames:${quotedList(source.resourceNames)}`);
  if (source.verbs.length > 0) parts.push(`Verbs:${quotedList(source.verbs)}`);
  return `{${parts.join(', ')}}`;
}
