import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { applyJoin, applyLeave, deltasSince, emptyPresence, UNKNOWN_VERSION, type PresenceLog } from '../../machines/presence.ts';
import { sessionMachine, type AuthOutcome, type Credentials } from '../../machines/session.ts';
import type { Truco } from '../../runtime/wire/types.ts';
import { addr, advance, flush, member, pageOf, snapshotOf } from './fixtures.ts';

type Canned = AuthOutcome | 'reject';

const OK: AuthOutcome = {
  ok: true,
  email: 'me@x',
  session: { sid: 5, intervalMs: 1000, misses: 3, epoch: 9, address: addr(5000) },
};
const OK2: AuthOutcome = {
  ok: true,
  email: 'me@x',
  session: { sid: 6, intervalMs: 500, misses: 3, epoch: 9, address: addr(5001) },
};

interface Doubles {
  logIn?: Canned;
  signUp?: Canned;
  /** consumed in order; once empty, resume keeps trying (never settles) */
  resume?: Canned[];
  logOut?: 'resolve' | 'reject' | 'pending';
}

function settle<T>(c: Canned | undefined, signal: AbortSignal): Promise<T | AuthOutcome> {
  if (c === undefined) {
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  }
  return c === 'reject' ? Promise.reject(new Error('boom')) : Promise.resolve(c);
}

function harness(d: Doubles = {}) {
  const clock = new SimulatedClock();
  const calls = {
    logIn: [] as Credentials[],
    signUp: [] as Credentials[],
    resume: [] as Array<{ email: string; at: number }>,
    resumeAborted: 0,
    logOut: 0,
    seis: [] as Array<{ probe: number; epoch: number; version: number }>,
    requests: [] as Array<{ request: number; cursor: string; at: number }>,
  };
  const resumeQueue = [...(d.resume ?? [])];
  const machine = sessionMachine.provide({
    actors: {
      logIn: fromPromise<AuthOutcome, Credentials>(async ({ input, signal }) => {
        calls.logIn.push(input);
        return settle<AuthOutcome>(d.logIn, signal);
      }),
      signUp: fromPromise<AuthOutcome, Credentials>(async ({ input, signal }) => {
        calls.signUp.push(input);
        return settle<AuthOutcome>(d.signUp, signal);
      }),
      resume: fromPromise<AuthOutcome, { email: string }>(async ({ input, signal }) => {
        calls.resume.push({ ...input, at: clock.now() });
        signal.addEventListener('abort', () => calls.resumeAborted++);
        return settle<AuthOutcome>(resumeQueue.shift(), signal);
      }),
      logOut: fromPromise<void>(async ({ signal }) => {
        calls.logOut++;
        if (d.logOut === 'reject') throw new Error('no socket');
        if (d.logOut === 'pending') await settle(undefined, signal);
      }),
    },
    actions: {
      sendSeis: (_, p) => calls.seis.push(p),
      requestRoster: (_, p) => calls.requests.push({ ...p, at: clock.now() }),
    },
  });
  const errors: unknown[] = [];
  const actor = createActor(machine, { clock, input: { server: 'lan:54319' } });
  actor.subscribe({ error: (e) => errors.push(e) });
  actor.start();
  const snap = () => actor.getSnapshot();
  const ctx = () => actor.getSnapshot().context;
  return { clock, actor, calls, errors, snap, ctx };
}

type H = ReturnType<typeof harness>;

async function loggedIn(d: Doubles = {}): Promise<H> {
  const h = harness({ logIn: OK, ...d });
  h.actor.send({ type: 'LOGIN', email: 'me@x', password: 'correct horse' });
  await flush();
  expect(h.snap().matches('online')).toBe(true);
  return h;
}

function trucoFrom(p: PresenceLog, base: number, probe: number): Truco {
  return { type: 'TRUCO', probe, epoch: p.epoch, ...deltasSince(p, base, 1170) };
}

/** Logs in and completes the initial sync against `p` in one page. */
async function syncedWith(p: PresenceLog, d: Doubles = {}): Promise<H> {
  const h = await loggedIn(d);
  h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p, 0, '', 100) });
  expect(h.snap().matches({ online: { presence: 'idle' } })).toBe(true);
  return h;
}

describe('session: signing in', () => {
  it('starts signed out with nothing in context', () => {
    const h = harness();
    expect(h.snap().value).toBe('signedOut');
    expect(h.ctx()).toMatchObject({ server: 'lan:54319', email: null, session: null, error: null, kickReason: null });
  });

  it('LOGIN ok → online, live and syncing; the password never reaches the context', async () => {
    const h = harness({ logIn: OK });
    h.actor.send({ type: 'LOGIN', email: 'me@x', password: 'correct horse' });
    expect(h.snap().value).toBe('authenticating');
    expect(JSON.stringify(h.ctx())).not.toContain('correct horse');
    await flush();
    expect(h.calls.logIn).toEqual([{ email: 'me@x', password: 'correct horse' }]);
    expect(h.snap().value).toEqual({ online: { link: { live: 'hearing' }, presence: 'syncing' } });
    expect(h.ctx()).toMatchObject({ email: 'me@x', session: OK.ok ? OK.session : null, error: null });
    expect(JSON.stringify(h.ctx())).not.toContain('correct horse');
    expect(h.calls.requests).toEqual([{ request: 0, cursor: '', at: 0 }]);
    expect(h.errors).toEqual([]);
  });

  it('LOGIN refused → signed out with the reason', async () => {
    const h = harness({ logIn: { ok: false, reason: 'wrong_password' } });
    h.actor.send({ type: 'LOGIN', email: 'me@x', password: 'nope' });
    await flush();
    expect(h.snap().value).toBe('signedOut');
    expect(h.ctx().error).toEqual({ reason: 'wrong_password' });
    expect(h.ctx().session).toBeNull();
  });

  it('keeps retryAfterS of a rate limit', async () => {
    const h = harness({ logIn: { ok: false, reason: 'rate_limited', retryAfterS: 30 } });
    h.actor.send({ type: 'LOGIN', email: 'me@x', password: 'x' });
    await flush();
    expect(h.ctx().error).toEqual({ reason: 'rate_limited', retryAfterS: 30 });
  });

  it('an actor failure counts as server_error', async () => {
    const h = harness({ logIn: 'reject' });
    h.actor.send({ type: 'LOGIN', email: 'me@x', password: 'x' });
    await flush();
    expect(h.snap().value).toBe('signedOut');
    expect(h.ctx().error).toEqual({ reason: 'server_error' });
    expect(h.errors).toEqual([]);
  });

  it('SIGNUP ok → online; a later LOGIN clears the previous error', async () => {
    const h = harness({ signUp: { ok: false, reason: 'email_taken' }, logIn: OK });
    h.actor.send({ type: 'SIGNUP', email: 'me@x', password: 'pw' });
    expect(h.snap().value).toBe('signingUp');
    await flush();
    expect(h.snap().value).toBe('signedOut');
    expect(h.ctx().error).toEqual({ reason: 'email_taken' });
    h.actor.send({ type: 'LOGIN', email: 'me@x', password: 'pw' });
    expect(h.ctx().error).toBeNull();
    await flush();
    expect(h.snap().matches('online')).toBe(true);
  });

  it('SIGNUP ok → online with a sync started', async () => {
    const h = harness({ signUp: OK });
    h.actor.send({ type: 'SIGNUP', email: 'me@x', password: 'long enough' });
    await flush();
    expect(h.calls.signUp).toEqual([{ email: 'me@x', password: 'long enough' }]);
    expect(h.snap().value).toEqual({ online: { link: { live: 'hearing' }, presence: 'syncing' } });
    expect(h.ctx().email).toBe('me@x');
  });

  it('SIGNUP refused (weak password) and failing (reject) → signed out', async () => {
    const weak = harness({ signUp: { ok: false, reason: 'weak_password' } });
    weak.actor.send({ type: 'SIGNUP', email: 'me@x', password: 'a' });
    await flush();
    expect(weak.ctx().error).toEqual({ reason: 'weak_password' });
    const broken = harness({ signUp: 'reject' });
    broken.actor.send({ type: 'SIGNUP', email: 'me@x', password: 'a' });
    await flush();
    expect(broken.ctx().error).toEqual({ reason: 'server_error' });
  });
});

describe('session: link watchdog', () => {
  it('goes reconnecting after misses + 2 intervals without a TRUCO, not before', async () => {
    const h = await loggedIn();
    advance(h.clock, 4999);
    expect(h.snap().matches('online')).toBe(true);
    advance(h.clock, 1);
    expect(h.snap().matches('reconnecting')).toBe(true);
    expect(h.ctx().reconnectCause).toBe('silence');
    expect(h.calls.resume).toEqual([{ email: 'me@x', at: 5000 }]);
  });

  it('stays online while TRUCOs keep coming, and each restarts the watchdog', async () => {
    const p = emptyPresence(9);
    const h = await syncedWith(p);
    for (let i = 1; i <= 20; i++) {
      advance(h.clock, 3000);
      h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(p, 0, i) });
    }
    expect(h.snap().matches('online')).toBe(true);
    // each TRUCO answered; the gaps of 3 intervals > 2 made the link quiet: keepalives (probe 0)
    expect(h.calls.seis.filter((x) => x.probe !== 0)).toHaveLength(20);
    expect(h.calls.seis.filter((x) => x.probe === 0).length).toBeGreaterThan(0);
    advance(h.clock, 4999);
    expect(h.snap().matches('online')).toBe(true);
    advance(h.clock, 1);
    expect(h.snap().matches('reconnecting')).toBe(true);
  });
});

describe('session: a quiet link', () => {
  it('after 2 intervals without a TRUCO sends an unsolicited SEIS every interval, until one comes', async () => {
    const p = emptyPresence(9);
    const h = await syncedWith(p);
    const before = h.calls.seis.length;
    advance(h.clock, 1999);
    expect(h.calls.seis).toHaveLength(before);
    advance(h.clock, 1);
    expect(h.snap().matches({ online: { link: { live: 'quiet' } } })).toBe(true);
    expect(h.calls.seis.slice(before)).toEqual([{ probe: 0, epoch: 9, version: 0 }]);
    advance(h.clock, 1000);
    advance(h.clock, 1000);
    expect(h.calls.seis.slice(before).map((x) => x.probe)).toEqual([0, 0, 0]);
    // a TRUCO ends it: answered, hearing again, the watchdog restarted
    h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(p, 0, 7) });
    expect(h.snap().matches({ online: { link: { live: 'hearing' } } })).toBe(true);
    expect(h.calls.seis.at(-1)?.probe).toBe(7);
    advance(h.clock, 1999);
    expect(h.calls.seis.at(-1)?.probe).toBe(7);
  });
});

describe('session: held by a restarted server (HOLD)', () => {
  it('stops the watchdog and the keepalives until the STALE, which resumes at once', async () => {
    const p = emptyPresence(9);
    const h = await syncedWith(p, { resume: [OK2] });
    advance(h.clock, 2500);
    expect(h.snap().matches({ online: { link: { live: 'quiet' } } })).toBe(true);
    const seis = h.calls.seis.length;
    h.actor.send({ type: 'SERVER.HOLD', waitMs: 20_000 });
    expect(h.snap().matches({ online: { link: 'held' } })).toBe(true);
    // far past the watchdog (5 s): still online, waiting, and silent
    advance(h.clock, 15_000);
    expect(h.snap().matches({ online: { link: 'held' } })).toBe(true);
    expect(h.calls.seis).toHaveLength(seis);
    expect(h.calls.resume).toHaveLength(0);
    // a second HOLD (a replayed copy) does not extend the wait
    h.actor.send({ type: 'SERVER.HOLD', waitMs: 30_000 });
    h.actor.send({ type: 'SERVER.STALE' });
    expect(h.snap().matches('reconnecting')).toBe(true);
    expect(h.ctx().reconnectCause).toBe('dropped');
    await flush();
    expect(h.calls.resume).toHaveLength(1);
    expect(h.snap().value).toEqual({ online: { link: { live: 'hearing' }, presence: 'idle' } });
  });

  it('resumes on its own when the wait is over and no STALE came', async () => {
    const h = await syncedWith(emptyPresence(9), { resume: [OK2] });
    h.actor.send({ type: 'SERVER.HOLD', waitMs: 7000 });
    advance(h.clock, 6999);
    expect(h.snap().matches({ online: { link: 'held' } })).toBe(true);
    h.actor.send({ type: 'SERVER.HOLD', waitMs: 30_000 });
    advance(h.clock, 1);
    expect(h.snap().matches('reconnecting')).toBe(true);
    expect(h.ctx().reconnectCause).toBe('dropped');
    await flush();
    expect(h.snap().matches('online')).toBe(true);
    // the new session is live again: its watchdog runs
    expect(h.snap().matches({ online: { link: { live: 'hearing' } } })).toBe(true);
  });
});

describe('session: reconnecting', () => {
  it('resumes → online with the new session and the roster kept', async () => {
    const p = applyJoin(emptyPresence(9), member('a@x'));
    const h = await syncedWith(p, { resume: [OK2] });
    const roster = h.ctx().roster;
    h.actor.send({ type: 'SERVER.STALE' });
    expect(h.snap().matches('reconnecting')).toBe(true);
    expect(h.ctx().reconnectCause).toBe('dropped');
    await flush();
    expect(h.snap().value).toEqual({ online: { link: { live: 'hearing' }, presence: 'idle' } });
    expect(h.ctx().session).toEqual(OK2.ok ? OK2.session : null);
    expect(h.ctx().roster).toBe(roster);
    expect(h.ctx().reconnectCause).toBeNull();
    // the new session's interval drives the watchdog: (3 + 2) × 500 ms
    advance(h.clock, 2499);
    expect(h.snap().matches('online')).toBe(true);
    advance(h.clock, 1);
    expect(h.snap().matches('reconnecting')).toBe(true);
  });

  it('a resume in the middle of a sync abandons it; the first TRUCO starts a new one', async () => {
    const h = await loggedIn({ resume: [OK] });
    h.actor.send({ type: 'SERVER.KICK', reason: 'shutdown' });
    await flush();
    expect(h.snap().matches({ online: { presence: 'idle' } })).toBe(true);
    expect(h.ctx().roster.sync).toBeNull();
    h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(emptyPresence(9), -1, 1) });
    expect(h.snap().matches({ online: { presence: 'syncing' } })).toBe(true);
    expect(h.calls.requests.at(-1)).toMatchObject({ request: 1, cursor: '' });
  });

  it('gives up after 30 s of silence → signed out, server unreachable', async () => {
    const h = await loggedIn();
    advance(h.clock, 5000);
    expect(h.snap().matches('reconnecting')).toBe(true);
    advance(h.clock, 29_999);
    expect(h.snap().matches('reconnecting')).toBe(true);
    advance(h.clock, 1);
    expect(h.snap().value).toBe('signedOut');
    expect(h.ctx()).toMatchObject({ signedOutReason: 'server_unreachable', session: null, reconnectCause: null });
    expect(h.ctx().roster.members.size).toBe(0);
    expect(h.calls.resumeAborted).toBe(1);
  });

  it('gives up after 30 s when dropped → kicked, dropped', async () => {
    const h = await loggedIn();
    h.actor.send({ type: 'SERVER.KICK', reason: 'dropped' });
    expect(h.ctx().reconnectCause).toBe('dropped');
    advance(h.clock, 29_999);
    expect(h.snap().matches('reconnecting')).toBe(true);
    advance(h.clock, 1);
    expect(h.snap().value).toBe('kicked');
    expect(h.ctx().kickReason).toBe('dropped');
  });

  it('a server shutdown that lasts → signed out, server unreachable', async () => {
    const h = await loggedIn();
    h.actor.send({ type: 'SERVER.KICK', reason: 'shutdown' });
    expect(h.ctx().reconnectCause).toBe('shutdown');
    advance(h.clock, 30_000);
    expect(h.snap().value).toBe('signedOut');
    expect(h.ctx().signedOutReason).toBe('server_unreachable');
  });

  it('a refused ticket → kicked, ticket revoked', async () => {
    const h = await loggedIn({ resume: [{ ok: false, reason: 'ticket_refused' }] });
    h.actor.send({ type: 'SERVER.STALE' });
    await flush();
    expect(h.snap().value).toBe('kicked');
    expect(h.ctx().kickReason).toBe('ticket_revoked');
    expect(h.ctx().session).toBeNull();
  });

  it('retries transient failures after resumeRetry (or the server-given delay) until success', async () => {
    const h = await loggedIn({
      resume: [{ ok: false, reason: 'server_unreachable' }, { ok: false, reason: 'rate_limited', retryAfterS: 3 }, 'reject', OK],
    });
    h.actor.send({ type: 'SERVER.STALE' });
    await flush();
    expect(h.snap().matches({ reconnecting: 'waiting' })).toBe(true);
    expect(h.ctx().error).toEqual({ reason: 'server_unreachable' });
    advance(h.clock, 1000);
    await flush();
    expect(h.ctx().error).toEqual({ reason: 'rate_limited', retryAfterS: 3 });
    advance(h.clock, 2999);
    expect(h.calls.resume).toHaveLength(2);
    advance(h.clock, 1);
    await flush();
    expect(h.ctx().error).toEqual({ reason: 'server_error' });
    advance(h.clock, 1000);
    await flush();
    expect(h.calls.resume.map((c) => c.at)).toEqual([0, 1000, 4000, 5000]);
    expect(h.snap().matches('online')).toBe(true);
    expect(h.ctx().error).toBeNull();
  });

  it('a refusal retrying cannot fix → kicked, refused, with the reason', async () => {
    const h = await loggedIn({ resume: [{ ok: false, reason: 'unknown_email' }] });
    h.actor.send({ type: 'SERVER.STALE' });
    await flush();
    expect(h.snap().value).toBe('kicked');
    expect(h.ctx()).toMatchObject({ kickReason: 'refused', error: { reason: 'unknown_email' } });
  });

  it('a claimed key change is retried, not a kick (a KEY is unauthenticated), the reason shown', async () => {
    const h = await loggedIn({ resume: [{ ok: false, reason: 'server_key_changed' }, OK] });
    h.actor.send({ type: 'SERVER.STALE' });
    await flush();
    expect(h.snap().matches({ reconnecting: 'waiting' })).toBe(true);
    expect(h.ctx().error).toEqual({ reason: 'server_key_changed' });
    advance(h.clock, 1000);
    await flush();
    expect(h.snap().matches('online')).toBe(true);
    expect(h.ctx().kickReason).toBeNull();
  });

  it('LOGOUT while reconnecting → signed out at once, the resume stopped', async () => {
    const h = await loggedIn();
    h.actor.send({ type: 'SERVER.STALE' });
    h.actor.send({ type: 'LOGOUT' });
    expect(h.snap().value).toBe('signedOut');
    expect(h.ctx().signedOutReason).toBe('logout');
    expect(h.calls.resumeAborted).toBe(1);
    expect(h.calls.logOut).toBe(0);
  });
});

describe('session: kicked and logout', () => {
  it('KICK elsewhere → kicked with the reason; LOGIN from kicked clears it', async () => {
    const h = await loggedIn();
    h.actor.send({ type: 'SERVER.KICK', reason: 'elsewhere' });
    expect(h.snap().value).toBe('kicked');
    expect(h.ctx()).toMatchObject({ kickReason: 'elsewhere', session: null });
    h.actor.send({ type: 'LOGIN', email: 'me@x', password: 'pw' });
    expect(h.ctx().kickReason).toBeNull();
    await flush();
    expect(h.snap().matches('online')).toBe(true);
  });

  it('KICK ticket_revoked → kicked; SIGNUP works from there', async () => {
    const h = await loggedIn({ signUp: { ok: false, reason: 'email_taken' } });
    h.actor.send({ type: 'SERVER.KICK', reason: 'ticket_revoked' });
    expect(h.snap().value).toBe('kicked');
    expect(h.ctx().kickReason).toBe('ticket_revoked');
    h.actor.send({ type: 'SIGNUP', email: 'other@x', password: 'pw' });
    expect(h.snap().value).toBe('signingUp');
    await flush();
    expect(h.snap().value).toBe('signedOut');
  });

  it('LOGOUT → signing out → signed out when the actor settles, session and roster cleared', async () => {
    const p = applyJoin(emptyPresence(9), member('a@x'));
    const h = await syncedWith(p, { logOut: 'pending' });
    expect(h.ctx().roster.members.size).toBe(1);
    h.actor.send({ type: 'LOGOUT' });
    expect(h.snap().value).toBe('signingOut');
    expect(h.calls.logOut).toBe(1);
    h.actor.send({ type: 'SERVER.KICK', reason: 'elsewhere' });
    expect(h.snap().value).toBe('signingOut');
    h.actor.stop();
  });

  it('LOGOUT completes on done and on error alike', async () => {
    for (const logOut of ['resolve', 'reject'] as const) {
      const p = applyJoin(emptyPresence(9), member('a@x'));
      const h = await syncedWith(p, { logOut });
      h.actor.send({ type: 'LOGOUT' });
      await flush();
      expect(h.snap().value).toBe('signedOut');
      expect(h.ctx()).toMatchObject({ signedOutReason: 'logout', session: null });
      expect(h.ctx().roster.members.size).toBe(0);
      expect(h.ctx().roster.version).toBe(-1);
    }
  });
});

describe('session: presence', () => {
  it('retries the same roster request every pageTimeout until a page comes', async () => {
    const h = await loggedIn();
    advance(h.clock, 499);
    expect(h.calls.requests).toHaveLength(1);
    advance(h.clock, 1);
    expect(h.calls.requests).toEqual([
      { request: 0, cursor: '', at: 0 },
      { request: 0, cursor: '', at: 500 },
    ]);
    advance(h.clock, 500);
    expect(h.calls.requests).toHaveLength(3);
    expect(h.calls.requests.every((r) => r.request === 0 && r.cursor === '')).toBe(true);
  });

  it('pages through the roster, ignores stray pages and shows the members once complete', async () => {
    let p = emptyPresence(9);
    for (const e of ['a@x', 'b@x', 'c@x', 'd@x', 'e@x']) p = applyJoin(p, member(e));
    const h = await loggedIn();
    h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p, 7, '', 2) });
    expect(h.calls.requests).toHaveLength(1);

    advance(h.clock, 100);
    h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p, 0, '', 2) });
    expect(h.calls.requests.at(-1)).toEqual({ request: 1, cursor: 'b@x', at: 100 });
    expect(h.ctx().roster.members.size).toBe(0);
    // the timer restarted with the new request
    advance(h.clock, 499);
    expect(h.calls.requests).toHaveLength(2);
    advance(h.clock, 1);
    expect(h.calls.requests.at(-1)).toEqual({ request: 1, cursor: 'b@x', at: 600 });

    // a late duplicate of the first page changes nothing
    h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p, 0, '', 2) });
    expect(h.calls.requests).toHaveLength(3);

    const p2 = applyLeave(p, 'a@x');
    h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p2, 1, 'b@x', 2) });
    expect(h.calls.requests.at(-1)).toMatchObject({ request: 2, cursor: 'd@x' });
    h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p2, 2, 'd@x', 2) });
    expect(h.snap().matches({ online: { presence: 'idle' } })).toBe(true);
    expect(h.ctx().roster).toMatchObject({ epoch: 9, version: 5, sync: null });
    expect(h.ctx().nextRequest).toBe(3);
    advance(h.clock, 2000);
    expect(h.calls.requests).toHaveLength(4);

    // the next TRUCO carries the leave from the first page's version on
    h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(p2, 5, 1) });
    expect(snapshotOf(h.ctx().roster.members)).toEqual(snapshotOf(p2.members));
    expect(h.calls.seis.at(-1)).toEqual({ probe: 1, epoch: 9, version: 6 });
  });

  it('answers each TRUCO with sendSeis carrying the version after the deltas', async () => {
    let p = applyJoin(emptyPresence(9), member('a@x'));
    const h = await syncedWith(p);
    p = applyJoin(applyJoin(p, member('b@x')), member('c@x'));
    h.actor.send({ type: 'SERVER.TRUCO', truco: { ...trucoFrom(p, 1, 42) } });
    expect(h.calls.seis).toEqual([{ probe: 42, epoch: 9, version: 3 }]);
    expect([...h.ctx().roster.members.keys()].sort()).toEqual(['a@x', 'b@x', 'c@x']);
    // an old truco (already applied) leaves the roster alone and acknowledges what we hold
    h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(p, 1, 43) });
    expect(h.calls.seis.at(-1)).toEqual({ probe: 43, epoch: 9, version: 3 });
    expect(h.snap().matches({ online: { presence: 'idle' } })).toBe(true);
  });

  it('a TRUCO from another epoch or with resync starts a new sync with a new request id', async () => {
    const p = applyJoin(emptyPresence(9), member('a@x'));
    const h = await syncedWith(p);
    const restarted = applyJoin(emptyPresence(77), member('z@x'));
    h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(restarted, -1, 5) });
    expect(h.snap().matches({ online: { presence: 'syncing' } })).toBe(true);
    expect(h.calls.requests.at(-1)).toMatchObject({ request: 1, cursor: '' });
    // the seis still acknowledges what we hold until the first page arrives
    expect(h.calls.seis.at(-1)).toEqual({ probe: 5, epoch: 9, version: 1 });
    // while syncing, TRUCOs are answered but their deltas ignored
    h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(restarted, 1, '', 100) });
    expect(h.ctx().roster).toMatchObject({ epoch: 77, version: 1 });
    expect([...h.ctx().roster.members.keys()]).toEqual(['z@x']);
  });

  it('during a sync the SEIS acknowledges the first page version', async () => {
    let p = emptyPresence(9);
    for (const e of ['a@x', 'b@x', 'c@x']) p = applyJoin(p, member(e));
    const h = await loggedIn();
    h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(p, -1, 1) });
    expect(h.calls.seis.at(-1)).toEqual({ probe: 1, epoch: 0, version: UNKNOWN_VERSION });
    h.actor.send({ type: 'SERVER.ROSTER_PAGE', page: pageOf(p, 0, '', 1) });
    p = applyJoin(p, member('d@x'));
    h.actor.send({ type: 'SERVER.TRUCO', truco: trucoFrom(p, 3, 2) });
    expect(h.calls.seis.at(-1)).toEqual({ probe: 2, epoch: 9, version: 3 });
    expect(h.snap().matches({ online: { presence: 'syncing' } })).toBe(true);
    expect(h.ctx().roster.members.size).toBe(0);
  });
});
