// The light entry of @kedge/edgecore-config (`@kedge/edgecore-config/container-runtime`): what edgecore's
// feature code needs from the config at run time, without the schema. Importing the main entry builds the
// zod schema and loads zod and the EventBus's topic checks, which a running edgecore does not keep in memory
// (its config is validated by a short-lived helper process; apps/edgecore/README.md).
import type { EdgeCoreConfig } from './edgecore-config';

/** the socket path of edged.containerRuntimeEndpoint (`unix:///run/x.sock` or `/run/x.sock`) */
export function containerRuntimeSocket(config: Pick<EdgeCoreConfig, 'edged'>): string {
  return config.edged.containerRuntimeEndpoint.replace(/^unix:\/\//, '');
}
