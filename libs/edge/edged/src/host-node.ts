// What this gateway is, as a Kubernetes Node: identity labels, addresses, capacity and node info
// read from the host. The cloud creates or updates the Node from it.
import { arch, cpus, hostname, networkInterfaces, release, totalmem, type } from 'node:os';

export interface HostNodeOptions {
  nodeName: string;
  /** extra labels from the config, e.g. region or site */
  labels?: Record<string, string>;
  /** runtime name and version once edged runs pods; "none" until then */
  containerRuntimeVersion?: string;
  kubeletVersion: string;
  now?: () => Date;
}

export type NodeCondition = { type: string; status: 'True' | 'False' | 'Unknown'; reason: string; message: string; lastHeartbeatTime: string; lastTransitionTime: string };

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };

export function internalAddresses(): string[] {
  const found: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (!address.internal && address.family === 'IPv4') found.push(address.address);
    }
  }
  // a gateway with only loopback (tests, containers without network) still needs an address
  return found.length > 0 ? found : ['127.0.0.1'];
}

/** @param readySince the Ready condition's lastTransitionTime: when it last changed status, not when edgecore started */
export function hostNodeStatus(options: HostNodeOptions, readySince: Date): Record<string, unknown> {
  const now = (options.now ?? (() => new Date()))().toISOString();
  const memoryKi = `${Math.floor(totalmem() / 1024)}Ki`;
  const capacity = { cpu: String(cpus().length), memory: memoryKi, pods: '110' };
  const ready: NodeCondition = {
    type: 'Ready',
    status: 'True',
    reason: 'EdgeReady',
    message: 'edgecore is running and reporting',
    lastHeartbeatTime: now,
    lastTransitionTime: readySince.toISOString(),
  };
  return {
    addresses: [...internalAddresses().map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: hostname() }],
    capacity,
    allocatable: capacity,
    conditions: [ready],
    nodeInfo: {
      architecture: GOARCH[arch()] ?? arch(),
      operatingSystem: type().toLowerCase(),
      kernelVersion: release(),
      osImage: `${type()} ${release()}`,
      kubeletVersion: options.kubeletVersion,
      kubeProxyVersion: '',
      containerRuntimeVersion: options.containerRuntimeVersion ?? 'none',
      machineID: '',
      systemUUID: '',
      bootID: '',
    },
  };
}

export function hostNode(options: HostNodeOptions, readySince: Date): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: options.nodeName,
      labels: {
        ...options.labels,
        'kubernetes.io/hostname': options.nodeName,
        'kubernetes.io/os': type().toLowerCase(),
        'kubernetes.io/arch': GOARCH[arch()] ?? arch(),
      },
    },
    status: hostNodeStatus(options, readySince),
  };
}

/** The node's first internal IPv4 address: the hostIP of its pods (and podIP of hostNetwork pods). */
export function primaryHostIP(): string {
  return internalAddresses()[0] ?? '127.0.0.1';
}
