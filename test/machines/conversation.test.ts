import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, initialTransition, SimulatedClock, transition, type AnyActorRef } from 'xstate';
import {
  conversationMachine,
  MAX_LINES,
  MESSAGE_GIVE_UP_MS,
  RECENT_LINES,
  viewOf,
  withDelivered,
  type ChatLine,
  type ConversationInput,
  type ConversationView,
} from '../../machines/conversation.ts';
import { applyJoin, applyLeave, deltasSince, emptyPresence, type PresenceLog } from '../../machines/presence.ts';
import { conversationId, peerKeyText, sessionMachine, type AuthOutcome } from '../../machines/session.ts';
import type { Truco } from '../../runtime/wire/types.ts';
import { addr, advance, flush, member, pageOf } from './fixtures.ts';

// ---- a conversation on its own -----------------------------------------------------------------

const KEY1 = 'key-of-login-1';
const KEY2 = 'key-of-login-2';

function conversation(input: Partial<ConversationInput> = {}) {
  const clock = new SimulatedClock();
  const calls = { transmit: [] as Array<{ peer: string; id: string; text: string }>, cancel: [] as Array<{ peer: string; id: string }> };
  const machine = conversationMachine.provide({
    actions: {
      transmit: (_, p) => calls.transmit.push(...p.messages.map((m) => ({ peer: p.peer, ...m }))),
      cancelDelivery: (_, p) => calls.cancel.push(p),
    },
  });
  const errors: unknown[] = [];
  const actor = createActor(machine, { clock, input: { peer: 'bia@x', peerKey: KEY1, online: true, ...input } });
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const view = (): ConversationView => viewOf(actor.getSnapshot());
  const lines = (): readonly ChatLine[] => view().lines;
  const system = () => lines().flatMap((l) => (l.kind === 'system' ? [l.event] : []));
  const states = () => Object.fromEntries(lines().flatMap((l) => (l.kind === 'message' ? [[l.id, l.state]] : [])));
  const presence = (peerKey: string | null, at = clock.now(), online = true) => actor.send({ type: 'PRESENCE', online, peerKey, at });
  const send = (id: string, text = `text of ${id}`) => actor.send({ type: 'SEND', id, text, at: clock.now() });
  return { clock, actor, calls, errors, view, lines, system, states, presence, send };
}

describe('conversation: connected ⇄ disconnected', () => {
  it('opens connected when the peer is in the roster, disconnected when not, with no system line', () => {
    const on = conversation({ peerKey: KEY1 });
    expect(on.actor.getSnapshot().value).toBe('connected');
    expect(on.view()).toEqual({ peer: 'bia@x', connected: true, canSend: true, reason: null, lines: [], unread: 0 });
    const off = conversation({ peerKey: null });
    expect(off.actor.getSnapshot().value).toBe('disconnected');
    expect(off.view()).toMatchObject({ connected: false, canSend: false, reason: 'peer_offline', lines: [] });
    const notOnline = conversation({ online: false });
    expect(notOnline.view()).toMatchObject({ connected: true, canSend: false, reason: 'not_online' });
  });

  it('appends "disconnected" and disables sending when the peer leaves; "connected" and enables it when back', () => {
    const c = conversation();
    c.presence(null, 1000);
    expect(c.view()).toMatchObject({ connected: false, canSend: false, reason: 'peer_offline' });
    expect(c.lines()).toEqual([{ kind: 'system', id: 'system:0', event: 'disconnected', at: 1000 }]);
    // the same verdict again changes nothing
    c.presence(null, 1100);
    expect(c.system()).toEqual(['disconnected']);
    c.presence(KEY2, 2000);
    expect(c.view()).toMatchObject({ connected: true, canSend: true, reason: null });
    expect(c.lines()[1]).toEqual({ kind: 'system', id: 'system:1', event: 'connected', at: 2000 });
    c.presence(KEY2, 2100);
    expect(c.system()).toEqual(['disconnected', 'connected']);
    expect(c.errors).toEqual([]);
  });

  it('a peer that logs out and in again between two verdicts (a new key) shows one Disconnected and one Connected', () => {
    const c = conversation();
    c.send('m1');
    c.presence(KEY2, 500);
    expect(c.system()).toEqual(['disconnected', 'connected']);
    expect(c.view().connected).toBe(true);
    // what was pending went to the old login: failed
    expect(c.states()).toEqual({ m1: 'failed' });
    expect(c.calls.cancel).toEqual([{ peer: 'bia@x', id: 'm1' }]);
    c.presence(KEY2, 600);
    expect(c.system()).toEqual(['disconnected', 'connected']);
  });

  it('our own session going offline disables sending without a line; the pending ones wait', () => {
    const c = conversation();
    c.send('m1');
    c.presence(KEY1, 100, false);
    expect(c.view()).toMatchObject({ connected: true, canSend: false, reason: 'not_online' });
    expect(c.system()).toEqual([]);
    expect(c.states()).toEqual({ m1: 'pending' });
    c.send('m2');
    expect(c.states()).toEqual({ m1: 'pending' });
    expect(c.actor.getSnapshot().context.refused).toEqual({ id: 'm2', reason: 'not_online' });
    c.presence(KEY1, 200, true);
    expect(c.view().canSend).toBe(true);
    c.actor.send({ type: 'SESSION.ENDED' });
    expect(c.states()).toEqual({ m1: 'failed' });
    expect(c.view()).toMatchObject({ canSend: false, reason: 'not_online' });
  });
});

describe('conversation: outbound messages', () => {
  it('pending → delivered on the acknowledgement; the text goes to transmit', () => {
    const c = conversation();
    c.send('m1', 'olá');
    expect(c.lines()).toEqual([{ kind: 'message', id: 'm1', direction: 'out', text: 'olá', at: 0, state: 'pending' }]);
    expect(c.calls.transmit).toEqual([{ peer: 'bia@x', id: 'm1', text: 'olá' }]);
    expect(c.actor.getSnapshot().context.pending).toEqual([{ id: 'm1', attempt: 1, deadline: MESSAGE_GIVE_UP_MS }]);
    c.actor.send({ type: 'DELIVERY.ACKED', id: 'm1' });
    expect(c.states()).toEqual({ m1: 'delivered' });
    expect(c.actor.getSnapshot().context.pending).toEqual([]);
    // nothing fires later
    advance(c.clock, MESSAGE_GIVE_UP_MS + 10);
    expect(c.states()).toEqual({ m1: 'delivered' });
    expect(c.calls.cancel).toEqual([]);
  });

  it('pending → failed after the give-up time, not before; the engine is told to stop', () => {
    const c = conversation();
    c.send('m1');
    c.clock.increment(5000);
    c.send('m2');
    c.clock.increment(MESSAGE_GIVE_UP_MS - 5000 - 1);
    expect(c.states()).toEqual({ m1: 'pending', m2: 'pending' });
    c.clock.increment(1);
    expect(c.states()).toEqual({ m1: 'failed', m2: 'pending' });
    expect(c.calls.cancel).toEqual([{ peer: 'bia@x', id: 'm1' }]);
    c.clock.increment(5000);
    expect(c.states()).toEqual({ m1: 'failed', m2: 'failed' });
    // a late acknowledgement changes nothing
    c.actor.send({ type: 'DELIVERY.ACKED', id: 'm1' });
    expect(c.states()).toEqual({ m1: 'failed', m2: 'failed' });
    expect(c.errors).toEqual([]);
  });

  it('one give-up timer for all pending messages: each still fails at its own deadline, acknowledged ones never', () => {
    const c = conversation();
    c.send('m1');
    c.clock.increment(1000);
    c.send('m2');
    c.clock.increment(1000);
    c.send('m3');
    // armed once, for the earliest deadline
    expect(c.actor.getSnapshot().context.giveUp).toEqual({ at: MESSAGE_GIVE_UP_MS, in: MESSAGE_GIVE_UP_MS });
    c.clock.increment(1000);
    c.actor.send({ type: 'DELIVERY.ACKED', id: 'm1' });
    // m1's deadline comes: nothing fails, the timer moves on to m2's
    c.clock.increment(MESSAGE_GIVE_UP_MS - 3000);
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'pending', m3: 'pending' });
    expect(c.actor.getSnapshot().context.giveUp).toEqual({ at: 1000 + MESSAGE_GIVE_UP_MS, in: 1000 });
    c.clock.increment(999);
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'pending', m3: 'pending' });
    c.clock.increment(1);
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'failed', m3: 'pending' });
    c.clock.increment(999);
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'failed', m3: 'pending' });
    c.clock.increment(1);
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'failed', m3: 'failed' });
    expect(c.calls.cancel).toEqual([
      { peer: 'bia@x', id: 'm2' },
      { peer: 'bia@x', id: 'm3' },
    ]);
    expect(c.actor.getSnapshot().context.giveUp).toBeNull();
    expect(c.errors).toEqual([]);
  });

  it('the delivery engine giving up fails the message too', () => {
    const c = conversation();
    c.send('m1');
    c.actor.send({ type: 'DELIVERY.FAILED', id: 'm1' });
    expect(c.states()).toEqual({ m1: 'failed' });
    expect(c.calls.cancel).toEqual([{ peer: 'bia@x', id: 'm1' }]);
  });

  it('a failed message can be retried: pending again, transmitted again, then delivered', () => {
    const c = conversation();
    c.send('m1', 'again?');
    advance(c.clock, MESSAGE_GIVE_UP_MS);
    expect(c.states()).toEqual({ m1: 'failed' });
    c.actor.send({ type: 'RETRY', id: 'm1', at: c.clock.now() });
    expect(c.states()).toEqual({ m1: 'pending' });
    expect(c.calls.transmit).toEqual([
      { peer: 'bia@x', id: 'm1', text: 'again?' },
      { peer: 'bia@x', id: 'm1', text: 'again?' },
    ]);
    expect(c.actor.getSnapshot().context.pending).toEqual([{ id: 'm1', attempt: 2, deadline: 2 * MESSAGE_GIVE_UP_MS }]);
    // the retry has its own full give-up time
    advance(c.clock, MESSAGE_GIVE_UP_MS - 1);
    expect(c.states()).toEqual({ m1: 'pending' });
    c.actor.send({ type: 'DELIVERY.ACKED', id: 'm1' });
    expect(c.states()).toEqual({ m1: 'delivered' });
    expect(c.lines()).toHaveLength(1);
  });

  it('refuses a retry of what did not fail, and while the peer is away', () => {
    const c = conversation();
    c.send('m1');
    c.actor.send({ type: 'RETRY', id: 'm1', at: 0 });
    expect(c.actor.getSnapshot().context.refused).toEqual({ id: 'm1', reason: 'unknown_message' });
    c.actor.send({ type: 'RETRY', id: 'nope', at: 0 });
    expect(c.actor.getSnapshot().context.refused).toEqual({ id: 'nope', reason: 'unknown_message' });
    c.presence(null);
    expect(c.states()).toEqual({ m1: 'failed' });
    c.actor.send({ type: 'RETRY', id: 'm1', at: 0 });
    expect(c.actor.getSnapshot().context.refused).toEqual({ id: 'm1', reason: 'peer_offline' });
    expect(c.states()).toEqual({ m1: 'failed' });
    c.presence(KEY2);
    c.actor.send({ type: 'RETRY', id: 'm1', at: 0 });
    expect(c.states()).toEqual({ m1: 'pending' });
    expect(c.actor.getSnapshot().context.refused).toBeNull();
  });

  it('sending while disconnected is refused with the reason, and nothing is transmitted', () => {
    const c = conversation({ peerKey: null });
    c.send('m1');
    expect(c.lines()).toEqual([]);
    expect(c.calls.transmit).toEqual([]);
    expect(c.actor.getSnapshot().context.refused).toEqual({ id: 'm1', reason: 'peer_offline' });
  });

  it('pending → failed at once when the peer goes offline', () => {
    const c = conversation();
    c.send('m1');
    c.send('m2');
    c.actor.send({ type: 'DELIVERY.ACKED', id: 'm1' });
    c.clock.increment(300);
    c.presence(null, 300);
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'failed' });
    expect(c.calls.cancel).toEqual([{ peer: 'bia@x', id: 'm2' }]);
    expect(c.actor.getSnapshot().context.pending).toEqual([]);
    expect(c.lines().map((l) => (l.kind === 'system' ? l.event : l.id))).toEqual(['m1', 'm2', 'disconnected']);
  });
});

describe('conversation: inbound messages', () => {
  it('appends each message once, in arrival order, and counts it unread until marked read', () => {
    const c = conversation();
    c.actor.send({ type: 'RECEIVED', id: 'r1', text: 'oi', at: 10 });
    c.actor.send({ type: 'RECEIVED', id: 'r2', text: 'tudo bem?', at: 11 });
    c.actor.send({ type: 'RECEIVED', id: 'r1', text: 'oi', at: 12 });
    expect(c.lines()).toEqual([
      { kind: 'message', id: 'r1', direction: 'in', text: 'oi', at: 10, state: 'delivered' },
      { kind: 'message', id: 'r2', direction: 'in', text: 'tudo bem?', at: 11, state: 'delivered' },
    ]);
    expect(c.view().unread).toBe(2);
    c.actor.send({ type: 'MARK_READ' });
    expect(c.view().unread).toBe(0);
  });

  it('a message arriving while disconnected is still shown', () => {
    const c = conversation({ peerKey: null });
    c.actor.send({ type: 'RECEIVED', id: 'r1', text: 'late', at: 10 });
    expect(c.lines()).toHaveLength(1);
  });
});

describe('conversation: batches (one pass of the runtime)', () => {
  it('SEND.BATCH: every new message pending in order, each transmitted, each with its own give-up time', () => {
    const c = conversation();
    c.actor.send({
      type: 'SEND.BATCH',
      messages: [
        { id: 'm1', text: 'one', at: 1 },
        { id: 'm2', text: 'two', at: 2 },
        { id: 'm1', text: 'one again', at: 3 },
      ],
    });
    expect(c.states()).toEqual({ m1: 'pending', m2: 'pending' });
    expect(c.calls.transmit.map((t) => t.id)).toEqual(['m1', 'm2']);
    expect(c.actor.getSnapshot().context.pending).toEqual([
      { id: 'm1', attempt: 1, deadline: 1 + MESSAGE_GIVE_UP_MS },
      { id: 'm2', attempt: 2, deadline: 2 + MESSAGE_GIVE_UP_MS },
    ]);
    c.actor.send({ type: 'DELIVERY.BATCH', acked: ['m2'], failed: [] });
    advance(c.clock, MESSAGE_GIVE_UP_MS);
    expect(c.states()).toEqual({ m1: 'failed', m2: 'delivered' });
    expect(c.calls.cancel).toEqual([{ peer: 'bia@x', id: 'm1' }]);
    expect(c.errors).toEqual([]);
  });

  it('SEND.BATCH that cannot be sent shows its messages failed (retry-able) and keeps the reason', () => {
    const c = conversation({ peerKey: null });
    c.actor.send({ type: 'SEND.BATCH', messages: [{ id: 'm1', text: 'hello?', at: 1 }] });
    expect(c.states()).toEqual({ m1: 'failed' });
    expect(c.calls.transmit).toEqual([]);
    // the runtime may have handed it to the engine ahead of this transition: it is told to forget it
    expect(c.calls.cancel).toEqual([{ peer: 'bia@x', id: 'm1' }]);
    expect(c.actor.getSnapshot().context.refused).toEqual({ id: 'm1', reason: 'peer_offline' });
    c.presence(KEY1);
    c.actor.send({ type: 'RETRY', id: 'm1', at: 2 });
    expect(c.states()).toEqual({ m1: 'pending' });
  });

  it('DELIVERY.BATCH settles many at once; unknown and late ids change nothing', () => {
    const c = conversation();
    for (const m of ['m1', 'm2', 'm3']) c.send(m);
    c.actor.send({ type: 'DELIVERY.BATCH', acked: ['m1', 'm3', 'nope'], failed: ['m2'] });
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'failed', m3: 'delivered' });
    expect(c.calls.cancel).toEqual([{ peer: 'bia@x', id: 'm2' }]);
    c.actor.send({ type: 'DELIVERY.BATCH', acked: ['m2'], failed: ['m1'] });
    expect(c.states()).toEqual({ m1: 'delivered', m2: 'failed', m3: 'delivered' });
    // the settled ones' give-up timers were cancelled
    advance(c.clock, MESSAGE_GIVE_UP_MS + 10);
    expect(c.calls.cancel).toHaveLength(1);
  });

  it('RECEIVED.BATCH appends in order, once each (also within the batch)', () => {
    const c = conversation();
    c.actor.send({ type: 'RECEIVED', id: 'r1', text: 'a', at: 1 });
    c.actor.send({
      type: 'RECEIVED.BATCH',
      messages: [
        { id: 'r1', text: 'a', at: 2 },
        { id: 'r2', text: 'b', at: 3 },
        { id: 'r2', text: 'b', at: 4 },
        { id: 'r3', text: 'c', at: 5 },
      ],
    });
    expect(c.lines().map((l) => l.id)).toEqual(['r1', 'r2', 'r3']);
    expect(c.view().unread).toBe(3);
  });

  it(`a repeat is refused within the last ${RECENT_LINES} lines, across appends, trims, acknowledgements and replayed snapshots`, () => {
    const c = conversation();
    // one message at a time, then in batches, far past MAX_LINES, each acknowledged
    for (let i = 0; i < 300; i++) c.send(`o${i}`);
    c.actor.send({ type: 'DELIVERY.BATCH', acked: Array.from({ length: 300 }, (_, i) => `o${i}`), failed: [] });
    for (let b = 0; b < 9; b++) {
      c.actor.send({ type: 'SEND.BATCH', messages: Array.from({ length: 100 }, (_, i) => ({ id: `b${b}-${i}`, text: 'x', at: b })) });
      c.actor.send({ type: 'DELIVERY.BATCH', acked: Array.from({ length: 100 }, (_, i) => `b${b}-${i}`), failed: [] });
      c.actor.send({ type: 'RECEIVED.BATCH', messages: Array.from({ length: 20 }, (_, i) => ({ id: `r${b}-${i}`, text: 'y', at: b })) });
    }
    expect(c.lines()).toHaveLength(MAX_LINES);
    const sent = c.calls.transmit.length;
    // recent ids are repeats: refused outbound, dropped inbound
    c.send('b8-99');
    c.actor.send({ type: 'SEND.BATCH', messages: [{ id: 'b8-0', text: 'again', at: 20 }] });
    c.actor.send({ type: 'RECEIVED.BATCH', messages: [{ id: 'r8-5', text: 'again', at: 20 }] });
    expect(c.calls.transmit).toHaveLength(sent);
    expect(c.lines()).toHaveLength(MAX_LINES);
    expect(c.actor.getSnapshot().context.refused?.id).toBe('b8-99');
    // ids that left the window (o0 is trimmed, b0-0 is further back than RECENT_LINES) are new again
    c.send('o0');
    c.actor.send({ type: 'SEND.BATCH', messages: [{ id: 'b0-0', text: 'old id', at: 21 }] });
    expect(c.calls.transmit.slice(sent).map((t) => t.id)).toEqual(['o0', 'b0-0']);

    // pure transitions: replaying an old snapshot after a newer one was derived from it decides the same
    const m = conversationMachine.provide({ actions: { transmit: () => {}, cancelDelivery: () => {} } });
    let [snap] = initialTransition(m, { peer: 'bia@x', peerKey: KEY1, online: true });
    for (let i = 0; i < 5; i++) [snap] = transition(m, snap, { type: 'SEND', id: `p${i}`, text: 't', at: i });
    const old = snap;
    const [newer] = transition(m, old, { type: 'SEND', id: 'p5', text: 't', at: 5 });
    expect(newer.context.lines).toHaveLength(6);
    const [again] = transition(m, old, { type: 'SEND', id: 'p4', text: 't', at: 6 });
    expect(again.context.refused).toEqual({ id: 'p4', reason: 'unknown_message' });
    const [fresh] = transition(m, old, { type: 'SEND', id: 'p5', text: 't', at: 6 });
    expect(fresh.context.lines.map((l) => l.id)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it(`keeps the last ${MAX_LINES} lines; system line ids keep counting`, () => {
    const c = conversation();
    const n = MAX_LINES + 10;
    c.actor.send({ type: 'RECEIVED.BATCH', messages: Array.from({ length: n }, (_, i) => ({ id: `r${i}`, text: 'x', at: i })) });
    expect(c.lines()).toHaveLength(MAX_LINES);
    expect(c.lines()[0]!.id).toBe('r10');
    c.presence(null, 5);
    expect(c.lines().at(-1)).toEqual({ kind: 'system', id: `system:${n}`, event: 'disconnected', at: 5 });
    expect(c.lines()).toHaveLength(MAX_LINES);
  });
});

// ---- spawned by the session ----------------------------------------------------------------------

const OK: AuthOutcome = {
  ok: true,
  email: 'me@x',
  session: { sid: 5, intervalMs: 1000, misses: 3, epoch: 9, address: addr(5000) },
};

function session(outcomes: AuthOutcome[] = [OK, OK]) {
  const clock = new SimulatedClock();
  const transmit: Array<{ peer: string; id: string; text: string }> = [];
  const queue = [...outcomes];
  const machine = sessionMachine.provide({
    actors: {
      logIn: fromPromise<AuthOutcome, { email: string; password: string }>(async () => queue.shift() ?? OK),
      logOut: fromPromise<void>(async () => {}),
      conversation: conversationMachine.provide({ actions: { transmit: (_, p) => transmit.push(...p.messages.map((m) => ({ peer: p.peer, ...m }))) } }),
    },
  });
  const errors: unknown[] = [];
  const actor = createActor(machine, { clock, input: { server: 'lan' } });
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const child = (peer: string) => actor.getSnapshot().children[conversationId(peer)] as AnyActorRef | undefined;
  const view = (peer: string): ConversationView | null => {
    const c = child(peer);
    return c ? viewOf(c.getSnapshot()) : null;
  };
  const system = (peer: string) => (view(peer)?.lines ?? []).flatMap((l) => (l.kind === 'system' ? [l.event] : []));
  let p: PresenceLog = emptyPresence(9);
  let probe = 0;
  const server = {
    get presence() {
      return p;
    },
    set presence(next: PresenceLog) {
      p = next;
    },
    /** a TRUCO carrying everything since `base` */
    truco(base: number, at = clock.now()): void {
      const t: Truco = { type: 'TRUCO', probe: ++probe, epoch: p.epoch, ...deltasSince(p, base, 1170) };
      actor.send({ type: 'SERVER.TRUCO', truco: t, at });
    },
  };
  async function logIn(email = 'me@x'): Promise<void> {
    actor.send({ type: 'LOGIN', email, password: 'pw' });
    await flush();
    actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p, actor.getSnapshot().context.roster.sync?.request ?? 0, '', 100), at: 1 });
    expect(actor.getSnapshot().matches({ online: { presence: 'idle' } })).toBe(true);
  }
  return { clock, actor, errors, child, view, system, server, logIn, transmit };
}

describe('withDelivered: an acknowledgement shown before the machine settles it', () => {
  it('shows exactly what the DELIVERY.BATCH of the same ids then makes of the lines', () => {
    const c = conversation();
    c.send('old'); // fails: its 9.5 s pass before any ACK
    advance(c.clock, MESSAGE_GIVE_UP_MS + 10);
    c.send('a');
    c.send('b');
    c.actor.send({ type: 'RECEIVED', id: 'in1', text: 'hi', at: c.clock.now() });
    c.actor.send({ type: 'SEND.BATCH', messages: [{ id: 'c', text: 'c', at: c.clock.now() }, { id: 'd', text: 'd', at: c.clock.now() }] });
    c.actor.send({ type: 'DELIVERY.BATCH', acked: ['d'], failed: [] });
    expect(c.states()).toEqual({ old: 'failed', a: 'pending', b: 'pending', in1: 'delivered', c: 'pending', d: 'delivered' });

    // acknowledged: a failed line, two pending ones, one delivered already, an inbound id, an unknown id
    const ids = new Set(['old', 'a', 'c', 'd', 'in1', 'nobody']);
    const before = c.lines();
    const shown = withDelivered(before, ids);
    c.actor.send({ type: 'DELIVERY.BATCH', acked: [...ids], failed: [] });
    expect(shown).toEqual(c.lines());
    expect(c.states()).toEqual({ old: 'failed', a: 'delivered', b: 'pending', in1: 'delivered', c: 'delivered', d: 'delivered' });
    // the lines it was given are not touched; nothing to show → the same array
    expect(before.map((l) => (l.kind === 'message' ? l.state : l.event))).toEqual(['failed', 'pending', 'pending', 'delivered', 'pending', 'delivered']);
    expect(withDelivered(c.lines(), ids)).toBe(c.lines());
  });
});

describe('conversations spawned by the session', () => {
  it('OPEN spawns one child per peer with systemId conversation:<email>; a second OPEN is harmless', async () => {
    const s = session();
    s.server.presence = applyJoin(emptyPresence(9), member('bia@x', 4000, 7));
    await s.logIn();
    s.actor.send({ type: 'CONVERSATION.OPEN', peer: 'bia@x' });
    s.actor.send({ type: 'CONVERSATION.OPEN', peer: 'bia@x' });
    expect(s.errors).toEqual([]);
    expect(s.actor.getSnapshot().context.conversations).toEqual(['bia@x']);
    expect(s.actor.system.get('conversation:bia@x')).toBe(s.child('bia@x'));
    expect(s.view('bia@x')).toMatchObject({ connected: true, canSend: true, lines: [] });
    // not with ourselves
    s.actor.send({ type: 'CONVERSATION.OPEN', peer: 'me@x' });
    expect(s.actor.getSnapshot().context.conversations).toEqual(['bia@x']);
    // a peer not online opens disconnected, silently
    s.actor.send({ type: 'CONVERSATION.OPEN', peer: 'caio@x' });
    expect(s.view('caio@x')).toMatchObject({ connected: false, reason: 'peer_offline', lines: [] });
  });

  it('a message from a peer with no conversation opens one', async () => {
    const s = session();
    s.server.presence = applyJoin(emptyPresence(9), member('bia@x', 4000, 7));
    await s.logIn();
    s.actor.send({ type: 'PEER.RECEIVED', peer: 'bia@x', id: 'r1', text: 'oi!', at: 5 });
    expect(s.view('bia@x')?.lines).toEqual([{ kind: 'message', id: 'r1', direction: 'in', text: 'oi!', at: 5, state: 'delivered' }]);
    expect(s.view('bia@x')?.unread).toBe(1);
    s.actor.send({ type: 'CONVERSATION.MARK_READ', peer: 'bia@x' });
    expect(s.view('bia@x')?.unread).toBe(0);
  });

  it('presence deltas drive the lines: leave → Disconnected, join → Connected; log out and in within one probe → one of each', async () => {
    const s = session();
    s.server.presence = applyJoin(emptyPresence(9), member('bia@x', 4000, 7));
    await s.logIn();
    s.actor.send({ type: 'CONVERSATION.OPEN', peer: 'bia@x' });
    s.actor.send({ type: 'CONVERSATION.SEND', peer: 'bia@x', id: 'm1', text: 'hello', at: 2 });
    expect(s.transmit).toEqual([{ peer: 'bia@x', id: 'm1', text: 'hello' }]);
    s.actor.send({ type: 'PEER.ACKED', peer: 'bia@x', id: 'm1' });
    // unrelated churn, then bia leaves
    let v = s.server.presence.version;
    s.server.presence = applyJoin(s.server.presence, member('caio@x', 4001, 8));
    s.server.truco(v, 100);
    expect(s.system('bia@x')).toEqual([]);
    v = s.server.presence.version;
    s.server.presence = applyLeave(s.server.presence, 'bia@x');
    s.server.truco(v, 200);
    expect(s.system('bia@x')).toEqual(['disconnected']);
    expect(s.view('bia@x')).toMatchObject({ connected: false, canSend: false });
    s.actor.send({ type: 'CONVERSATION.SEND', peer: 'bia@x', id: 'm2', text: 'are you there', at: 201 });
    expect(s.view('bia@x')?.lines.some((l) => l.id === 'm2')).toBe(false);
    v = s.server.presence.version;
    s.server.presence = applyJoin(s.server.presence, member('bia@x', 4002, 9));
    s.server.truco(v, 300);
    expect(s.system('bia@x')).toEqual(['disconnected', 'connected']);
    // bia logs out and in again between two probes: a LEAVE and a JOIN with a new key in one TRUCO
    s.actor.send({ type: 'CONVERSATION.SEND', peer: 'bia@x', id: 'm3', text: 'still there?', at: 301 });
    v = s.server.presence.version;
    s.server.presence = applyJoin(applyLeave(s.server.presence, 'bia@x'), member('bia@x', 4003, 10));
    s.server.truco(v, 400);
    expect(s.system('bia@x')).toEqual(['disconnected', 'connected', 'disconnected', 'connected']);
    const states = (s.view('bia@x')?.lines ?? []).flatMap((l) => (l.kind === 'message' ? [[l.id, l.state]] : []));
    expect(states).toEqual([
      ['m1', 'delivered'],
      ['m3', 'failed'],
    ]);
    // the same verdict again: nothing more
    s.server.truco(s.server.presence.version, 500);
    expect(s.system('bia@x')).toHaveLength(4);
    expect(s.errors).toEqual([]);
  });

  it('logging out fails what is pending and disables sending; logging in as someone else closes the conversations', async () => {
    const s = session([OK, OK, { ...OK, email: 'other@x' } as AuthOutcome]);
    s.server.presence = applyJoin(emptyPresence(9), member('bia@x', 4000, 7));
    await s.logIn();
    s.actor.send({ type: 'CONVERSATION.SEND', peer: 'bia@x', id: 'm1', text: 'bye?', at: 2 });
    s.actor.send({ type: 'LOGOUT' });
    await flush();
    expect(s.actor.getSnapshot().value).toBe('signedOut');
    expect(s.view('bia@x')).toMatchObject({ connected: true, canSend: false, reason: 'not_online' });
    expect(s.view('bia@x')?.lines[0]).toMatchObject({ id: 'm1', state: 'failed' });
    expect(s.system('bia@x')).toEqual([]);
    // the same account again: the conversation is still there, and sending works once synced
    await s.logIn();
    expect(s.view('bia@x')).toMatchObject({ connected: true, canSend: true, reason: null });
    expect(s.system('bia@x')).toEqual([]);
    s.actor.send({ type: 'LOGOUT' });
    await flush();
    await s.logIn('other@x');
    expect(s.actor.getSnapshot().context.conversations).toEqual([]);
    expect(s.child('bia@x')).toBeUndefined();
    expect(s.errors).toEqual([]);
  });

  it('pending → failed on the session clock after the give-up time', async () => {
    const s = session();
    s.server.presence = applyJoin(emptyPresence(9), member('bia@x', 4000, 7));
    await s.logIn();
    s.actor.send({ type: 'CONVERSATION.SEND', peer: 'bia@x', id: 'm1', text: 'tick', at: 0 });
    // keep the session alive meanwhile (its watchdog runs on the same clock)
    for (let t = 0; t < MESSAGE_GIVE_UP_MS; t += 1000) {
      s.clock.increment(1000);
      s.server.truco(s.server.presence.version);
    }
    expect(s.view('bia@x')?.lines[0]).toMatchObject({ id: 'm1', state: 'failed' });
    expect(peerKeyText(member('x', 1, 7))).toBe(Buffer.from(new Uint8Array(32).fill(7)).toString('base64'));
  });
});
