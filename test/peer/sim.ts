/**
 * A discrete-event simulation for the delivery engine: a clock whose timers
 * run in time order when the test advances it, a seeded random source, and a
 * lossy link that drops, duplicates, delays and reorders frames, passing
 * every frame through the real wire codec.
 */
import type { Clock } from '../../runtime/peer/clock.ts';
import { decodePeerBody, encodePeerBody } from '../../runtime/wire/peer.ts';
import type { PeerBody } from '../../runtime/wire/types.ts';

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

export class SimClock implements Clock {
  private t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Runs the earliest timer (ties in creation order); false when none is left. */
  step(): boolean {
    let first: Timer | null = null;
    for (const t of this.timers.values()) if (first === null || t.at < first.at || (t.at === first.at && t.id < first.id)) first = t;
    if (first === null) return false;
    this.timers.delete(first.id);
    this.t = Math.max(this.t, first.at);
    first.fn();
    return true;
  }

  /** Runs timers until `until` ms (inclusive), then sets the clock there. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let first: Timer | null = null;
      for (const t of this.timers.values()) if (first === null || t.at < first.at || (t.at === first.at && t.id < first.id)) first = t;
      if (first === null || first.at > until) break;
      this.step();
    }
    this.t = until;
  }

  /** Steps until `done()` or the simulated deadline; returns whether `done()` held. */
  runUntil(done: () => boolean, maxMs: number): boolean {
    const deadline = this.t + maxMs;
    while (!done()) {
      let first: Timer | null = null;
      for (const t of this.timers.values()) if (first === null || t.at < first.at) first = t;
      if (first === null || first.at > deadline) return done();
      this.step();
    }
    return true;
  }
}

/** mulberry32: a small seeded generator, enough for test traffic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LinkOptions {
  /** one-way delay, ms */
  delayMs: number;
  /** uniform extra delay in [0, jitterMs) */
  jitterMs?: number;
  drop?: number;
  duplicate?: number;
  /** probability a frame is held back long enough to arrive after later ones */
  reorder?: number;
  /** drops a frame when this says so (besides `drop`) */
  filter?: (frame: PeerBody) => boolean;
}

export interface LinkStats {
  sent: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  delivered: number;
}

/** A one-way link: `send(frame)` delivers (maybe) to `deliver` later, on the clock. */
export function lossyLink(clock: SimClock, random: () => number, opts: LinkOptions, deliver: (frame: PeerBody) => void) {
  const stats: LinkStats = { sent: 0, dropped: 0, duplicated: 0, reordered: 0, delivered: 0 };
  const link = {
    options: { ...opts },
    stats,
    send(frame: PeerBody): void {
      stats.sent++;
      const o = link.options;
      if (o.filter?.(frame) === false || random() < (o.drop ?? 0)) {
        stats.dropped++;
        return;
      }
      const wire = encodePeerBody(frame)._unsafeUnwrap();
      const copies = random() < (o.duplicate ?? 0) ? 2 : 1;
      if (copies === 2) stats.duplicated++;
      for (let i = 0; i < copies; i++) {
        let delay = o.delayMs + random() * (o.jitterMs ?? 0);
        if (random() < (o.reorder ?? 0)) {
          stats.reordered++;
          delay += o.delayMs * 2 + 5 + random() * 20;
        }
        clock.setTimeout(() => {
          stats.delivered++;
          deliver(decodePeerBody(wire.code, wire.bytes)._unsafeUnwrap());
        }, delay);
      }
    },
  };
  return link;
}
