// Resource keys, as KubeEdge writes them in route.resource. The edge speaks `<ns>/<type>[/<name>]`;
// the cloud prefixes `node/<node>/`, and that prefix is always taken from the authenticated
// connection, never from the edge, so an edge can only ever name its own node's resources.
import { ProtocolError } from './errors';

export const ResourceType = {
  Pod: 'pod',
  PodStatus: 'podstatus',
  ConfigMap: 'configmap',
  Secret: 'secret',
  Node: 'node',
  NodeStatus: 'nodestatus',
  Lease: 'lease',
  Event: 'event',
  Service: 'service',
  Endpoints: 'endpoints',
  Device: 'device',
  DeviceModel: 'devicemodel',
  Membership: 'membership',
  Twin: 'twin',
} as const;
export type ResourceType = (typeof ResourceType)[keyof typeof ResourceType];

/** The namespace segment KubeEdge uses for cluster-scoped objects (nodes, leases of nodes...). */
export const CLUSTER_SCOPED_NAMESPACE = 'null';

/** First segment of every cloud resource key. */
const CLOUD_PREFIX = 'node';

export interface EdgeResource {
  /** a namespace, or CLUSTER_SCOPED_NAMESPACE */
  namespace: string;
  /** a ResourceType or another lowercase type name */
  type: string;
  /** absent when the key names every object of the type (list, watch) */
  name?: string;
}

export interface CloudResource extends EdgeResource {
  /** the edge node the message is for or from */
  node: string;
}

const MAX_NAME_LENGTH = 253;
const MAX_TYPE_LENGTH = 63;
// DNS-1123 subdomain, the rule Kubernetes applies to object and node names
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const TYPE = /^[a-z0-9]+$/;

type Segment = 'node' | 'namespace' | 'type' | 'name';

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

function invalidResource(resource: string, field: Segment | 'resource', problem: string): ProtocolError {
  return new ProtocolError('INVALID_RESOURCE', `resource ${quote(resource)}: ${problem}`, { field });
}

function checkSegment(resource: string, field: Segment, value: unknown): string {
  if (field === 'type') {
    if (typeof value !== 'string' || value.length > MAX_TYPE_LENGTH || !TYPE.test(value)) {
      throw invalidResource(
        resource,
        field,
        `type segment ${quote(String(value))} must be 1 to ${MAX_TYPE_LENGTH} lowercase letters or digits`,
      );
    }
    return value;
  }
  // length first: it also bounds the regular expression's work
  if (typeof value !== 'string' || value.length > MAX_NAME_LENGTH || !NAME.test(value)) {
    throw invalidResource(
      resource,
      field,
      `${field} segment ${quote(String(value))} must be a Kubernetes name: 1 to ${MAX_NAME_LENGTH} lowercase ` +
        `letters, digits, "-" and ".", starting and ending with a letter or digit`,
    );
  }
  return value;
}

function splitResource(resource: unknown, expected: string, counts: readonly number[]): string[] {
  if (typeof resource !== 'string') {
    throw new ProtocolError('INVALID_RESOURCE', `resource must be a string of the form ${expected}, got ${typeof resource}`, {
      field: 'resource',
    });
  }
  const segments = resource.split('/');
  if (!counts.includes(segments.length)) {
    throw invalidResource(resource, 'resource', `expected ${expected}, got ${segments.length} segment(s)`);
  }
  return segments;
}

const EDGE_FORM = '<namespace>/<type>[/<name>]';
const CLOUD_FORM = 'node/<node>/<namespace>/<type>[/<name>]';

/** Parses `<namespace>/<type>[/<name>]`. @throws ProtocolError INVALID_RESOURCE */
export function parseEdgeResource(resource: string): EdgeResource {
  const [namespace, type, name] = splitResource(resource, EDGE_FORM, [2, 3]);
  const parsed: EdgeResource = {
    namespace: checkSegment(resource, 'namespace', namespace),
    type: checkSegment(resource, 'type', type),
  };
  if (name !== undefined) parsed.name = checkSegment(resource, 'name', name);
  return parsed;
}

/** Formats an edge resource key, refusing segments that would not parse back. @throws ProtocolError INVALID_RESOURCE */
export function formatEdgeResource(resource: EdgeResource): string {
  const shown = [resource.namespace, resource.type, resource.name].filter((s) => s !== undefined).join('/');
  const segments = [checkSegment(shown, 'namespace', resource.namespace), checkSegment(shown, 'type', resource.type)];
  if (resource.name !== undefined) segments.push(checkSegment(shown, 'name', resource.name));
  return segments.join('/');
}

/** Parses `node/<node>/<namespace>/<type>[/<name>]`. @throws ProtocolError INVALID_RESOURCE */
export function parseCloudResource(resource: string): CloudResource {
  const [prefix, node, namespace, type, name] = splitResource(resource, CLOUD_FORM, [4, 5]);
  if (prefix !== CLOUD_PREFIX) {
    throw invalidResource(resource, 'resource', `expected ${CLOUD_FORM}, but the first segment is ${quote(String(prefix))}`);
  }
  const parsed: CloudResource = {
    node: checkSegment(resource, 'node', node),
    namespace: checkSegment(resource, 'namespace', namespace),
    type: checkSegment(resource, 'type', type),
  };
  if (name !== undefined) parsed.name = checkSegment(resource, 'name', name);
  return parsed;
}

/** Formats a cloud resource key. @throws ProtocolError INVALID_RESOURCE */
export function formatCloudResource(resource: CloudResource): string {
  const node = checkSegment(`${CLOUD_PREFIX}/${String(resource.node)}`, 'node', resource.node);
  return `${CLOUD_PREFIX}/${node}/${formatEdgeResource(resource)}`;
}

/**
 * What CloudHub does to every upstream resource: validates the edge form and prefixes it with the
 * node of the authenticated connection (never a node named by the edge itself).
 * @throws ProtocolError INVALID_RESOURCE
 */
export function toCloudResource(node: string, edgeResource: string): string {
  return formatCloudResource({ node, ...parseEdgeResource(edgeResource) });
}

/**
 * What CloudHub does to every downstream resource: strips `node/<node>/`, refusing a key addressed
 * to another node than the connection's, so one edge never receives another edge's objects.
 * @throws ProtocolError INVALID_RESOURCE, or NODE_MISMATCH when the node differs
 */
export function toEdgeResource(cloudResource: string, expectedNode: string): string {
  const { node, edgeResource } = splitCloudResource(cloudResource);
  if (node !== expectedNode) {
    throw new ProtocolError(
      'NODE_MISMATCH',
      `resource ${quote(cloudResource)} is addressed to node ${quote(node)}, not to ${quote(String(expectedNode))}`,
      { field: 'node' },
    );
  }
  return edgeResource;
}

/**
 * Parses `node/<node>/<namespace>/<type>[/<name>]` once and returns the node and the edge key after
 * the prefix (every segment already checked, so nothing needs formatting again).
 * @throws ProtocolError INVALID_RESOURCE
 */
export function splitCloudResource(cloudResource: string): { node: string; edgeResource: string } {
  const { node } = parseCloudResource(cloudResource);
  return { node, edgeResource: cloudResource.slice(CLOUD_PREFIX.length + node.length + 2) };
}
