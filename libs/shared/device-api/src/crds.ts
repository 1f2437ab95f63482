// The CRD manifests, read from the YAML files beside this library's sources.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const DEVICES_GROUP = 'devices.kubeedge.io';
export const DEVICES_VERSION = 'v1beta1';
export const DEVICES_API_VERSION = `${DEVICES_GROUP}/${DEVICES_VERSION}`;
export const DEVICE_CRD_NAMES = ['devicemodels.devices.kubeedge.io', 'devices.devices.kubeedge.io', 'devicestatuses.devices.kubeedge.io'] as const;

/** An apiextensions.k8s.io/v1 CustomResourceDefinition as parsed from YAML. */
export interface CrdManifest {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string };
  spec: { group: string; names: { kind: string; plural: string }; [key: string]: unknown };
}

const FILES = ['devicemodels.yaml', 'devices.yaml', 'devicestatuses.yaml'];

/** Every CRD kedge serves, parsed fresh on each call (callers may change them). */
export function kedgeCrdManifests(): CrdManifest[] {
  return FILES.map((file) => parse(readFileSync(new URL(`../crds/${file}`, import.meta.url), 'utf8')) as CrdManifest);
}
