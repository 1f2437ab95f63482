// The all-in-one's extras: a private containerd for pods (when this machine can run one), a simulated
// device (virtual mapper against the edge's MQTT broker) and a demo pod, all applied with kubectl.
import { join } from 'node:path';
import { BUSYBOX_IMAGE, importKedgeImages, isContainerdAvailable, type PrivateContainerd, startPrivateContainerd } from '@kedge/containerd-fixture';
import { kubectlOk } from '../e2e/harness';

export type PodsRuntime = { on: true; containerd: PrivateContainerd } | { on: false; reason: string };

export async function startPodsRuntime(stateDir: string): Promise<PodsRuntime> {
  if (process.env.KEDGE_CONTAINERD === 'off') return { on: false, reason: 'KEDGE_CONTAINERD=off' };
  const availability = await isContainerdAvailable();
  if (!availability.available) return { on: false, reason: availability.reason };
  try {
    // own subnet and bridge name, so the e2e suites' private containerds do not clash with the demo's
    const containerd = await startPrivateContainerd(join(stateDir, 'ctd'), { podSubnet: '10.88.215.0/24', bridgeName: 'kedge-cni-demo' });
    await importKedgeImages(containerd.socketPath, containerd.paths.imageCacheDir);
    return { on: true, containerd };
  } catch (error) {
    return { on: false, reason: (error as Error).message.split('\n')[0] ?? 'containerd did not start' };
  }
}

export const DEMO_DEVICE = 'thermometer-1';

export function deviceManifests(nodeName: string): string {
  return `
apiVersion: devices.kubeedge.io/v1beta1
kind: DeviceModel
metadata: {name: demo-thermometer, namespace: default}
spec:
  protocol: virtual
  properties:
  - {name: temperature, type: FLOAT, accessMode: ReadOnly, minimum: "-20", maximum: "50", unit: C}
  - {name: setpoint, type: INT, accessMode: ReadWrite, minimum: "5", maximum: "30", unit: C}
---
apiVersion: devices.kubeedge.io/v1beta1
kind: Device
metadata: {name: ${DEMO_DEVICE}, namespace: default}
spec:
  deviceModelRef: {name: demo-thermometer}
  nodeName: ${nodeName}
  protocol: {protocolName: virtual, configData: {}}
  properties:
  - name: temperature
    collectCycle: 1000
    reportCycle: 2000
    visitors: {protocolName: virtual, configData: {kind: randomWalk, step: 0.5, initial: 21}}
  - name: setpoint
    desired: {value: "21"}
    visitors: {protocolName: virtual, configData: {kind: setpoint, initial: 21}}
`;
}

export function demoPodManifest(nodeName: string): string {
  return `
apiVersion: v1
kind: Pod
metadata: {name: demo-ticker, namespace: default}
spec:
  nodeName: ${nodeName}
  restartPolicy: Always
  containers:
  - name: ticker
    image: ${BUSYBOX_IMAGE}
    imagePullPolicy: Never
    command: [sh, -c, 'while true; do echo "hello from the edge at $(date)"; sleep 5 & wait $!; done']
`;
}

export async function applyDemoObjects(kubeconfig: string, nodeName: string, pods: boolean): Promise<void> {
  await kubectlOk({ kubeconfig }, ['apply', '-f', '-'], deviceManifests(nodeName));
  if (pods) await kubectlOk({ kubeconfig }, ['apply', '-f', '-'], demoPodManifest(nodeName));
}
