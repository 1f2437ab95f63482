// Delivery of collected values to pushMethod targets. Each target has a bounded retry queue: a value that cannot
// be delivered stays at the head and is retried with back-off; when the queue is full the oldest value is dropped
// (counted), so a receiver that is down for long costs bounded memory and gets the newest values when it is back.
import type { MqttClient } from 'mqtt';
import type { MapperMetrics } from '../metrics';
import type { HttpPush, MqttPush, PushTargetConfig } from './push-method';

/** one collected value, as pushed (JSON) */
export interface PushMessage {
  namespace: string;
  deviceName: string;
  propertyName: string;
  /** the twin's string form */
  value: string;
  type: string;
  /** ms since the epoch, when the value was collected */
  timestamp: number;
}

export interface PushQueueOptions {
  /** values kept while the target is unreachable; default 1000 */
  limit?: number;
  /** first retry delay, doubled up to maxRetryMs; defaults 200 and 5000 */
  retryMs?: number;
  maxRetryMs?: number;
  metrics?: MapperMetrics;
  onError?: (error: Error) => void;
}

interface Sender {
  send(message: PushMessage): Promise<void>;
  close(): Promise<void>;
}

function httpSender(config: HttpPush): Sender {
  return {
    async send(message) {
      const response = await fetch(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`POST ${config.url}: HTTP ${response.status}`);
    },
    async close() {},
  };
}

function mqttSender(config: MqttPush): Sender {
  // mqtt.js reconnects on its own; a publish while disconnected fails at once and the queue retries it
  let client: MqttClient | undefined;
  return {
    async send(message) {
      // mqtt.js is loaded with the first message pushed over MQTT
      client ??= (await import('mqtt')).connect(config.address, { reconnectPeriod: 1000, connectTimeout: 5000, clientId: `kedge-push-${process.pid}-${Math.random().toString(16).slice(2, 10)}` }).on('error', () => undefined);
      if (!client.connected) throw new Error(`MQTT ${config.address} is not connected`);
      await client.publishAsync(config.topic, JSON.stringify(message), { qos: config.qos, retain: config.retained });
    },
    async close() {
      await client?.endAsync(true).catch(() => undefined);
    },
  };
}

export class PushQueue {
  readonly method: 'http' | 'mqtt';
  private readonly sender: Sender;
  private readonly queue: PushMessage[] = [];
  private readonly limit: number;
  private pumping = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  dropped = 0;
  delivered = 0;

  constructor(
    readonly target: PushTargetConfig,
    private readonly options: PushQueueOptions = {},
  ) {
    this.method = target.method;
    this.sender = target.method === 'http' ? httpSender(target) : mqttSender(target);
    this.limit = Math.max(1, options.limit ?? 1000);
  }

  get length(): number {
    return this.queue.length;
  }

  push(message: PushMessage): void {
    if (this.closed) return;
    if (this.queue.length >= this.limit) {
      this.queue.shift();
      this.dropped += 1;
      this.options.metrics?.pushDropped.inc({ method: this.method });
    }
    this.queue.push(message);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    let delay = this.options.retryMs ?? 200;
    try {
      while (!this.closed && this.queue.length > 0) {
        const head = this.queue[0] as PushMessage;
        try {
          await this.sender.send(head);
          // the head may have been dropped meanwhile by a full queue; remove it only if it is still there
          if (this.queue[0] === head) this.queue.shift();
          this.delivered += 1;
          this.options.metrics?.pushed.inc({ method: this.method, result: 'delivered' });
          delay = this.options.retryMs ?? 200;
        } catch (error) {
          this.options.metrics?.pushed.inc({ method: this.method, result: 'failed' });
          this.options.onError?.(error as Error);
          await new Promise<void>((resolve) => {
            this.wake = resolve;
            this.timer = setTimeout(resolve, delay);
          });
          delay = Math.min(this.options.maxRetryMs ?? 5000, delay * 2);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.wake?.();
    await this.sender.close();
  }
}
