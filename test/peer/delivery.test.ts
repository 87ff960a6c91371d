import { describe, expect, it } from 'vitest';
import { DeliveryChannel, type DeliveryConfig, type MessageId } from '../../runtime/peer/delivery.ts';
import { RtoEstimator } from '../../runtime/peer/rto.ts';
import { MAX_FRAGMENT, MAX_MESSAGE_BYTES } from '../../runtime/wire/constants.ts';
import type { PeerBody } from '../../runtime/wire/types.ts';
import { lossyLink, rng, SimClock, type LinkOptions } from './sim.ts';

interface Side {
  ch: DeliveryChannel;
  delivered: Array<{ id: MessageId; text: string }>;
  acked: MessageId[];
  failed: MessageId[];
  sentFrames: Array<{ at: number; frame: PeerBody }>;
}

const id = (n: number, side = 0): MessageId => (side * 0x1000000 + n).toString(16).padStart(16, '0');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** Two engines joined by two one-way lossy links. */
function pair(link: LinkOptions, seed = 1, config: Partial<DeliveryConfig> = {}) {
  const clock = new SimClock();
  const random = rng(seed);
  const sides: Side[] = [];
  const links = [0, 1].map((i) =>
    lossyLink(clock, random, link, (frame) => sides[1 - i]!.ch.receive(frame)),
  );
  for (let i = 0; i < 2; i++) {
    const side: Side = { ch: null as unknown as DeliveryChannel, delivered: [], acked: [], failed: [], sentFrames: [] };
    side.ch = new DeliveryChannel(
      {
        transmit: (frame) => {
          side.sentFrames.push({ at: clock.now(), frame });
          links[i]!.send(frame);
        },
        deliver: (mid, payload) => side.delivered.push({ id: mid, text: text(payload) }),
        acked: (mid) => side.acked.push(mid),
        failed: (mid) => side.failed.push(mid),
      },
      clock,
      config,
    );
    sides.push(side);
  }
  return { clock, random, a: sides[0]!, b: sides[1]!, links };
}

const enc = (s: string) => new TextEncoder().encode(s);

describe('delivery engine over a lossy link', () => {
  it('1000 messages both ways at 20 % drop, duplicate and reorder arrive exactly once and in order', () => {
    const { clock, random, a, b, links } = pair({ delayMs: 5, jitterMs: 3, drop: 0.2, duplicate: 0.2, reorder: 0.2 }, 2024);
    const N = 1000;
    const expected: Array<Array<{ id: MessageId; text: string }>> = [[], []];
    // Each side sends N messages at random moments over ~20 s; about 1 in 10 spans several datagrams.
    for (const [s, side] of [a, b].entries()) {
      let at = 0;
      for (let n = 0; n < N; n++) {
        at += random() * 20;
        const long = random() < 0.1;
        const body = long ? `${s}:${n}:` + 'é'.repeat(600 + Math.floor(random() * 2500)) : `${s}:${n}:${'x'.repeat(Math.floor(random() * 200))}`;
        const mid = id(n, s + 1);
        expected[s]!.push({ id: mid, text: body });
        clock.setTimeout(() => {
          expect(side.ch.send(mid, enc(body)).isOk()).toBe(true);
        }, at);
      }
    }
    const done = () => a.delivered.length + b.delivered.length === 2 * N && a.acked.length + b.acked.length === 2 * N;
    expect(clock.runUntil(done, 600_000)).toBe(true);
    // exactly once, in order, intact
    expect(b.delivered).toEqual(expected[0]);
    expect(a.delivered).toEqual(expected[1]);
    expect(new Set(a.acked).size).toBe(N);
    expect(new Set(b.acked).size).toBe(N);
    expect(a.failed).toEqual([]);
    expect(b.failed).toEqual([]);
    // the link really was hostile, and the engines saw it
    for (const l of links) {
      expect(l.stats.dropped / l.stats.sent).toBeGreaterThan(0.15);
      expect(l.stats.duplicated).toBeGreaterThan(0);
      expect(l.stats.reordered).toBeGreaterThan(0);
    }
    expect(a.ch.stats.retransmits + b.ch.stats.retransmits).toBeGreaterThan(0);
    expect(a.ch.stats.duplicates + b.ch.stats.duplicates).toBeGreaterThan(0);
    // multi-datagram messages were split on the way
    expect(a.ch.stats.sent).toBeGreaterThan(N);
  });

  it('keeps at most `window` datagrams in flight: a 60 KiB message and a burst behind it', () => {
    const { clock, a, b } = pair({ delayMs: 10 }, 7, { window: 16 });
    let maxInFlight = 0;
    const big = 'ção'.repeat(Math.floor((60 * 1024) / 5));
    expect(a.ch.send(id(1), enc(big)).isOk()).toBe(true);
    for (let n = 2; n <= 50; n++) a.ch.send(id(n), enc(`burst ${n}`));
    while (clock.step()) maxInFlight = Math.max(maxInFlight, a.ch.inFlight);
    expect(maxInFlight).toBeLessThanOrEqual(16);
    expect(b.delivered.length).toBe(50);
    expect(b.delivered[0]!.text).toBe(big);
    expect(b.delivered.map((d) => d.id)).toEqual(Array.from({ length: 50 }, (_, i) => id(i + 1)));
    // every CHAT fits a datagram
    for (const { frame } of a.sentFrames) if (frame.type === 'CHAT') expect(frame.payload.length).toBeLessThanOrEqual(MAX_FRAGMENT);
  });

  it('refuses empty and over-long messages with a clear error', () => {
    const { a } = pair({ delayMs: 1 });
    expect(a.ch.send(id(1), new Uint8Array(0))._unsafeUnwrapErr().type).toBe('Empty');
    expect(a.ch.send(id(2), new Uint8Array(MAX_MESSAGE_BYTES + 1))._unsafeUnwrapErr()).toEqual({ type: 'TooLong', max: MAX_MESSAGE_BYTES });
    expect(a.ch.send('not an id', enc('x'))._unsafeUnwrapErr().type).toBe('BadId');
    expect(a.ch.send(id(3), new Uint8Array(MAX_MESSAGE_BYTES)).isOk()).toBe(true);
    a.ch.close();
    expect(a.ch.send(id(4), enc('x'))._unsafeUnwrapErr().type).toBe('Closed');
  });
});

describe('retransmission timeout (RFC 6298)', () => {
  it('converges on a steady RTT', () => {
    for (const oneWay of [150, 40]) {
      const { clock, a } = pair({ delayMs: oneWay }, 3);
      for (let n = 0; n < 200; n++) clock.setTimeout(() => a.ch.send(id(n), enc(`m${n}`)), n * 25);
      // before the first sample the RTO is the initial 250 ms, below a 300 ms RTT: a few spurious
      // retransmissions then, none once the estimate has settled
      clock.runUntil(() => a.acked.length >= 50, 60_000);
      const early = a.ch.stats.retransmits;
      clock.runUntil(() => a.acked.length === 200, 60_000);
      const rtt = 2 * oneWay;
      expect(a.ch.rto.samples).toBeGreaterThan(150);
      expect(Math.abs(a.ch.rto.srtt! - rtt)).toBeLessThan(1);
      // RTO = SRTT + max(G, 4·RTTVAR), floored at 100 ms
      expect(a.ch.rto.rto).toBeGreaterThanOrEqual(Math.max(100, rtt));
      expect(a.ch.rto.rto).toBeLessThan(Math.max(100, rtt) + 10);
      expect(a.ch.stats.retransmits).toBe(early);
      if (rtt < 250) expect(early).toBe(0);
    }
  });

  it('backs off exponentially under loss, up to the ceiling, then gives up after 10 s', () => {
    const { clock, a, b, links } = pair({ delayMs: 150 }, 4);
    for (let n = 0; n < 40; n++) clock.setTimeout(() => a.ch.send(id(n), enc(`warm ${n}`)), n * 20);
    clock.runUntil(() => a.acked.length === 40, 30_000);
    const settled = a.ch.rto.rto;
    expect(settled).toBeGreaterThanOrEqual(300);
    expect(settled).toBeLessThan(320);
    // now the link loses everything from A
    links[0]!.options.drop = 1;
    const t0 = clock.now();
    a.sentFrames.length = 0;
    a.ch.send(id(100), enc('into the void'));
    clock.runUntil(() => a.failed.length === 1, 20_000);
    const sends = a.sentFrames.filter((f) => f.frame.type === 'CHAT').map((f) => f.at - t0);
    const gaps = sends.slice(1).map((t, i) => t - sends[i]!);
    // first gap is the settled RTO, then it doubles until the ceiling (1 s by default)
    const ceiling = a.ch.rto.config.maxMs;
    expect(ceiling).toBe(1000);
    expect(gaps[0]).toBeCloseTo(settled, 5);
    expect(gaps[1]).toBeCloseTo(Math.min(ceiling, settled * 2), 5);
    expect(gaps[2]).toBeCloseTo(Math.min(ceiling, settled * 4), 5);
    expect(gaps.slice(3).every((g) => g === ceiling)).toBe(true);
    // about ten attempts before giving up
    expect(sends.length).toBeGreaterThanOrEqual(10);
    expect(a.ch.rto.backoff).toBeGreaterThanOrEqual(4);
    expect(a.failed).toEqual([id(100)]);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(10_000);
    expect(clock.now() - t0).toBeLessThan(10_100);
    expect(b.delivered.map((d) => d.text)).not.toContain('into the void');
    // the link heals: a new sample brings the RTO back down (the backoff does not stick)
    links[0]!.options.drop = 0;
    a.ch.send(id(101), enc('back'));
    clock.runUntil(() => a.acked.includes(id(101)), 10_000);
    expect(a.ch.rto.backoff).toBe(0);
    expect(a.ch.rto.rto).toBeLessThan(400);
    expect(b.delivered.at(-1)!.text).toBe('back');
  });

  it("takes no RTT sample from a retransmitted datagram (Karn's rule)", () => {
    const { clock, a, links } = pair({ delayMs: 20 }, 5);
    let first = true;
    // drop the first transmission of every CHAT
    links[0]!.options.filter = (f) => {
      if (f.type !== 'CHAT') return true;
      const keep = !first;
      first = !first;
      return keep;
    };
    a.ch.send(id(1), enc('once lost'));
    clock.runUntil(() => a.acked.length === 1, 5_000);
    expect(a.ch.stats.retransmits).toBe(1);
    expect(a.ch.rto.samples).toBe(0);
    expect(a.ch.rto.srtt).toBeNull();
    // the RTO stays backed off (initial 250 → 500) until a clean sample
    expect(a.ch.rto.rto).toBe(500);
  });

  it('the estimator follows RFC 6298 step by step', () => {
    const r = new RtoEstimator({ initialMs: 250, minMs: 100, maxMs: 2000, granularityMs: 1 });
    expect(r.rto).toBe(250);
    r.sample(200);
    expect([r.srtt, r.rttvar, r.rto]).toEqual([200, 100, 600]);
    r.sample(100);
    // RTTVAR = 3/4·100 + 1/4·|200−100| = 100; SRTT = 7/8·200 + 1/8·100 = 187.5
    expect([r.srtt, r.rttvar, r.rto]).toEqual([187.5, 100, 587.5]);
    r.timedOut();
    expect(r.rto).toBe(1175);
    r.timedOut();
    expect(r.rto).toBe(2000);
    r.sample(1);
    expect(r.rto).toBeGreaterThanOrEqual(100);
    for (let i = 0; i < 100; i++) r.sample(1);
    expect(r.rto).toBe(100);
  });
});

describe('abandoned messages', () => {
  it('a message that fails does not block the ones behind it: the floor tells the receiver to skip', () => {
    const { clock, a, b, links } = pair({ delayMs: 10 }, 6);
    const lost = id(1);
    const lostBytes = Buffer.from(lost, 'hex');
    links[0]!.options.filter = (f) => !(f.type === 'CHAT' && Buffer.from(f.messageId).equals(lostBytes));
    a.ch.send(lost, enc('never arrives'));
    a.ch.send(id(2), enc('after it'));
    a.ch.send(id(3), enc('and this'));
    clock.runUntil(() => a.acked.length === 2, 5_000);
    // both later messages are acknowledged (selectively) but held back behind the gap
    expect(b.delivered).toEqual([]);
    clock.runUntil(() => b.delivered.length === 2, 15_000);
    expect(a.failed).toEqual([lost]);
    expect(b.delivered.map((d) => d.text)).toEqual(['after it', 'and this']);
    // the receiver learnt it from a floor probe: nothing else was being sent
    expect(a.ch.stats.floorProbes).toBeGreaterThanOrEqual(1);
    expect(b.ch.stats.skipped).toBeGreaterThanOrEqual(1);
  });

  it('abandon() stops retransmitting at once, and a retry under the same id is a new attempt', () => {
    const { clock, a, b, links } = pair({ delayMs: 10 }, 8);
    links[0]!.options.drop = 1;
    a.ch.send(id(1), enc('first try'));
    clock.advance(1_000);
    const before = a.ch.stats.retransmits;
    expect(before).toBeGreaterThan(0);
    expect(a.ch.abandon(id(1))).toBe(true);
    expect(a.ch.abandon(id(1))).toBe(false);
    clock.advance(5_000);
    expect(a.ch.stats.retransmits).toBe(before);
    expect(a.failed).toEqual([]);
    links[0]!.options.drop = 0;
    expect(a.ch.send(id(1), enc('first try')).isOk()).toBe(true);
    clock.runUntil(() => a.acked.length === 1, 5_000);
    expect(b.delivered).toEqual([{ id: id(1), text: 'first try' }]);
  });

  it('a half-received multi-datagram message that fails is discarded, the next one is whole', () => {
    const { clock, a, b, links } = pair({ delayMs: 10 }, 9);
    const big = 'y'.repeat(MAX_FRAGMENT * 3);
    // lose the middle fragment of message 1, always
    links[0]!.options.filter = (f) => !(f.type === 'CHAT' && f.index === 1 && f.count === 3);
    a.ch.send(id(1), enc(big));
    clock.runUntil(() => a.failed.length === 1, 15_000);
    links[0]!.options.filter = undefined;
    a.ch.send(id(2), enc('whole'));
    clock.runUntil(() => b.delivered.length === 1, 5_000);
    expect(b.delivered).toEqual([{ id: id(2), text: 'whole' }]);
  });

  it('ignores acknowledgements for sequence numbers never sent', () => {
    const { clock, a } = pair({ delayMs: 10 }, 10);
    a.ch.send(id(1), enc('x'));
    a.ch.receive({ type: 'ACK', cum: 1000, sack: 0n, floor: 0 });
    expect(a.ch.stats.acksBogus).toBe(1);
    expect(a.acked).toEqual([]);
    clock.runUntil(() => a.acked.length === 1, 5_000);
    expect(a.acked).toEqual([id(1)]);
  });
});

describe('delivery engine: acknowledging before the application', () => {
  it('the ACK goes out before the message is delivered', () => {
    const clock = new SimClock();
    const events: string[] = [];
    const rx = new DeliveryChannel(
      {
        transmit: (f) => events.push(f.type),
        deliver: () => events.push('deliver'),
        acked: () => {},
        failed: () => {},
      },
      clock,
    );
    rx.receive({ type: 'CHAT', seq: 0, floor: 0, messageId: Buffer.from(id(1), 'hex'), index: 0, count: 1, payload: enc('hi') });
    expect(events).toEqual(['ACK', 'deliver']);
  });

  it('with ackSoon, the CHATs of one pass get one ACK, sent on flushAck, and then their messages are handed over', () => {
    const clock = new SimClock();
    const acks: PeerBody[] = [];
    const delivered: string[] = [];
    const order: string[] = [];
    let asked = 0;
    const rx = new DeliveryChannel(
      {
        transmit: (f) => {
          acks.push(f);
          order.push(f.type);
        },
        deliver: (_, p) => {
          delivered.push(text(p));
          order.push('deliver');
        },
        acked: () => {},
        failed: () => {},
        ackSoon: () => asked++,
      },
      clock,
    );
    for (let seq = 0; seq < 5; seq++) {
      rx.receive({ type: 'CHAT', seq, floor: 0, messageId: Buffer.from(id(seq), 'hex'), index: 0, count: 1, payload: enc(`m${seq}`) });
    }
    expect(asked).toBe(1);
    expect(acks).toEqual([]);
    expect(delivered).toEqual([]);
    rx.flushAck();
    rx.flushAck();
    expect(acks).toEqual([{ type: 'ACK', cum: 5, sack: 0n, floor: 0 }]);
    expect(rx.stats.acksSent).toBe(1);
    expect(delivered).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(order).toEqual(['ACK', 'deliver', 'deliver', 'deliver', 'deliver', 'deliver']);
  });

  it('coalesced ACKs still carry a whole window both ways', () => {
    const clock = new SimClock();
    const sides: DeliveryChannel[] = [];
    const queues: PeerBody[][] = [[], []];
    const acked: MessageId[] = [];
    const got: string[] = [];
    for (let i = 0; i < 2; i++) {
      sides.push(
        new DeliveryChannel(
          {
            transmit: (f) => queues[1 - i]!.push(f),
            deliver: (_, p) => got.push(text(p)),
            acked: (m) => acked.push(m),
            failed: () => {},
            ackSoon: () => {},
          },
          clock,
        ),
      );
    }
    const [a, b] = sides as [DeliveryChannel, DeliveryChannel];
    for (let n = 0; n < 200; n++) a.send(id(n), enc(`${n}`))._unsafeUnwrap();
    // one "pass" at a time: each side reads what is waiting, then flushes its ACK
    for (let pass = 0; pass < 50 && acked.length < 200; pass++) {
      for (const [i, side] of [a, b].entries()) {
        const waiting = queues[i]!.splice(0);
        for (const f of waiting) side.receive(f);
        side.flushAck();
      }
    }
    expect(got).toEqual(Array.from({ length: 200 }, (_, n) => `${n}`));
    expect(acked).toHaveLength(200);
    expect(b.stats.acksSent).toBeLessThan(20);
    expect(a.stats.retransmits).toBe(0);
  });
});
