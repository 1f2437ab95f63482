// One timer for the liveness probes of every link with the same interval, instead of a setInterval
// per link: a hub with 10,000 edges keeps 16 small sets and one timer, not 10,000 timers, and probes a
// sixteenth of its links at each tick instead of all of them at once. A link is probed once per
// interval, as with its own timer (the first probe comes within one interval of joining).

const SLOTS = 16;

export interface Probed {
  probe(): void;
}

class ProbeWheel {
  private readonly slots: Set<Probed>[] = Array.from({ length: SLOTS }, () => new Set());
  private readonly slotOf = new Map<Probed, Set<Probed>>();
  private timer: NodeJS.Timeout | undefined;
  private next = 0;
  /** turns are counted from here, so a late timer catches up instead of stretching every link's interval */
  private startedAt = 0;
  private turns = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly emptied: () => void,
  ) {}

  add(link: Probed): void {
    if (this.slotOf.has(link)) return;
    // round robin: the slots stay even however links come and go
    const slot = this.slots[this.next]!;
    this.next = (this.next + 1) % SLOTS;
    slot.add(link);
    this.slotOf.set(link, slot);
    if (this.timer === undefined) {
      this.startedAt = performance.now();
      this.turns = 0;
      this.timer = setInterval(() => this.catchUp(), this.intervalMs / SLOTS);
      // the links' sockets keep the process alive while they are open; the timer need not
      this.timer.unref();
    }
  }

  remove(link: Probed): void {
    const slot = this.slotOf.get(link);
    if (slot === undefined) return;
    slot.delete(link);
    this.slotOf.delete(link);
    if (this.slotOf.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      this.emptied();
    }
  }

  /** Probes every slot whose turn has come: one per interval/16 of time since start, however late the timer runs. */
  private catchUp(): void {
    const due = Math.floor((performance.now() - this.startedAt) / (this.intervalMs / SLOTS));
    // more than a whole round behind (a stalled process): one round probes every link once
    if (due - this.turns > SLOTS) this.turns = due - SLOTS;
    for (; this.turns < due; this.turns += 1) this.turn(this.slots[this.turns % SLOTS]!);
  }

  private turn(slot: Set<Probed>): void {
    // a probe may close its link, which removes it from the slot: iterate over a copy
    for (const link of [...slot]) {
      try {
        link.probe();
      } catch {
        // one link's failure must not stop the others' probes; the link reports its own errors
      }
    }
  }
}

const wheels = new Map<number, ProbeWheel>();

/** Probes `link` every `intervalMs` until `stopProbing`. */
export function startProbing(link: Probed, intervalMs: number): void {
  let wheel = wheels.get(intervalMs);
  if (wheel === undefined) {
    wheel = new ProbeWheel(intervalMs, () => wheels.delete(intervalMs));
    wheels.set(intervalMs, wheel);
  }
  wheel.add(link);
}

export function stopProbing(link: Probed, intervalMs: number): void {
  wheels.get(intervalMs)?.remove(link);
}
