// Which topics the embedded broker's clients subscribe to, so a publisher can skip building and
// publishing a message no one would receive (the twin's `document` per update, when no app listens).
// It is kept from aedes's public hooks and events, never from its internals, and errs only one way: a
// filter may be remembered after the broker dropped it (the answer is then "someone listens", the old
// behaviour), never forgotten while the broker still delivers to it.
import type { Client } from 'aedes';
import { topicMatches } from './topics';

/** topics answered from the cache between subscription changes; past this the cache starts again */
const MAX_CACHED_TOPICS = 10_000;

export class SubscriberIndex {
  /** filters of clean-session clients: they end with the connection */
  readonly #live = new Map<Client, Set<string>>();
  /** filters of persistent sessions (clean = false) by client id: aedes keeps them, and queues for them, while offline */
  readonly #persistent = new Map<string, Set<string>>();
  /** the distinct filters of both, rebuilt after a change */
  #filters: string[] | undefined = [];
  readonly #answers = new Map<string, boolean>();

  /** a subscription the broker granted (also when a persistent session is restored): counted from now on */
  granted(client: Client, filter: string): void {
    this.#setOf(client, true).add(filter);
    this.#changed();
  }

  /** the client unsubscribed (explicitly, or all its filters as a clean session ends) */
  unsubscribed(client: Client, filters: readonly string[]): void {
    const set = this.#setOf(client, false);
    if (set === undefined) return;
    for (const filter of filters) set.delete(filter);
    this.#changed();
  }

  /** a client connected: a clean session discards what a persistent session of that id had */
  connected(client: Client): void {
    if (client.clean && this.#persistent.delete(client.id)) this.#changed();
  }

  /** a client went away: a clean session's filters go with it; a persistent session's stay */
  disconnected(client: Client): void {
    if (this.#live.delete(client)) this.#changed();
  }

  /** Whether some client's filter matches `topic` (`$` topics follow the MQTT rule). */
  matches(topic: string): boolean {
    const known = this.#answers.get(topic);
    if (known !== undefined) return known;
    const filters = this.#filters ?? this.#rebuild();
    let found = false;
    for (const filter of filters) {
      if (topicMatches(filter, topic)) {
        found = true;
        break;
      }
    }
    if (this.#answers.size >= MAX_CACHED_TOPICS) this.#answers.clear();
    this.#answers.set(topic, found);
    return found;
  }

  #setOf(client: Client, create: true): Set<string>;
  #setOf(client: Client, create: false): Set<string> | undefined;
  #setOf(client: Client, create: boolean): Set<string> | undefined {
    const persistent = client.clean === false;
    let set = persistent ? this.#persistent.get(client.id) : this.#live.get(client);
    if (set === undefined && create) {
      set = new Set();
      if (persistent) this.#persistent.set(client.id, set);
      else this.#live.set(client, set);
    }
    return set;
  }

  #changed(): void {
    this.#filters = undefined;
    this.#answers.clear();
  }

  #rebuild(): string[] {
    const filters = new Set<string>();
    for (const [client, set] of this.#live) {
      // a clean client that closed without its events (a session taken over mid-subscribe) is gone
      if (client.closed) this.#live.delete(client);
      else for (const filter of set) filters.add(filter);
    }
    for (const set of this.#persistent.values()) for (const filter of set) filters.add(filter);
    this.#filters = [...filters];
    return this.#filters;
  }
}
