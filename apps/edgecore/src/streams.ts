// kubectl logs/exec/attach/port-forward for this node's pods (edgestream), over the hub connection
// edgecore already has, on the same container runtime as edged (edged.containerRuntimeEndpoint).
// edgecore runs it only when edged is on.
import { connectCri } from '@kedge/cri';
import { EdgeStream, EdgeStreamMetrics } from '@kedge/edgestream';
import type { EdgeHub } from '@kedge/edgehub';
import type { MessageRouter } from '@kedge/router';
import type { Logger } from '@kedge/telemetry';
import type { Registry } from 'prom-client';
import type { EdgeCoreConfig } from '@kedge/edgecore-config';
import { containerRuntimeSocket } from '@kedge/edgecore-config/container-runtime';

export function startStreams(config: EdgeCoreConfig, hub: EdgeHub, router: MessageRouter, logger: Logger, registry?: Registry): { stop(): void } {
  // the CRI client connects on first use: a runtime that is down fails each stream, not edgecore
  const cri = connectCri(containerRuntimeSocket(config));
  const metrics = registry ? new EdgeStreamMetrics(registry) : undefined;
  const streams = new EdgeStream({ send: (message) => hub.send(message), router, cri, logger, ...(metrics ? { metrics } : {}) });
  return {
    stop() {
      streams.close();
      cri.close();
    },
  };
}
