// Config fields every kedge process shares, so cloudcore and edgecore spell and check them alike.
import { isIP } from 'node:net';
import { z } from 'zod';

export const portField = z.number().int().min(0).max(65535);

export const ipAddressField = z.string().refine((a) => isIP(a) !== 0, 'expected an IP address, e.g. 0.0.0.0 or 127.0.0.1');

/** An endpoint a process serves: `{enable, address, port}` with the given defaults. */
export function endpointField(defaults: { enable: boolean; address: string; port: number }) {
  return z
    .object({
      enable: z.boolean().default(defaults.enable),
      address: ipAddressField.default(defaults.address),
      port: portField.default(defaults.port),
    })
    .strict()
    .prefault({});
}

export const logField = z
  .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
  .strict()
  .prefault({});

/**
 * The metrics and health endpoint: an endpoint plus `allowRemote` (default false), which lets peers other
 * than loopback read /metrics and the debug routes; /healthz and /readyz answer everyone (kubelet probes).
 */
export function metricsEndpointField(defaults: { enable: boolean; address: string; port: number }) {
  return z
    .object({
      enable: z.boolean().default(defaults.enable),
      address: ipAddressField.default(defaults.address),
      port: portField.default(defaults.port),
      allowRemote: z.boolean().default(false),
    })
    .strict()
    .prefault({});
}

