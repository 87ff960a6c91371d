import { createActor, fromPromise, sendTo, setup, spawnChild, stopChild, type AnyActorRef } from 'xstate';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { livenessMachine } from '../../machines/liveness.ts';
import { createHub, stateString, type ActorView, type Hub, type LogEntry } from '../../runtime/inspector/hub.ts';

const CANARY = 'CANARY-hub-4411';

/** A parent that spawns and stops liveness children, like the server's registry does. */
const parent = setup({
  types: { events: {} as { type: 'ADD'; email: string } | { type: 'DROP'; email: string } | { type: 'POKE'; email: string } },
  actors: { liveness: livenessMachine },
}).createMachine({
  id: 'parent',
  on: {
    ADD: { actions: spawnChild('liveness', { id: ({ event }) => `liveness:${event.email}`, input: ({ event }) => ({ email: event.email, suspectProbes: 2, suspectIntervalMs: 10 }) }) },
    DROP: { actions: stopChild(({ event }) => `liveness:${event.email}`) },
    POKE: { actions: sendTo(({ event }) => `liveness:${event.email}`, { type: 'LIVENESS.MISSED' }) },
  },
});

/** A login flow with a password in an event and in an invoked actor's input. */
const login = setup({
  types: { events: {} as { type: 'LOGIN'; email: string; password: string }, context: {} as { email: string | null; ticket: Uint8Array | null } },
  actors: { logIn: fromPromise<string, { email: string; password: string }>(async ({ input }) => input.email) },
}).createMachine({
  id: 'login',
  context: { email: null, ticket: null },
  initial: 'out',
  states: {
    out: { on: { LOGIN: 'auth' } },
    auth: {
      invoke: {
        src: 'logIn',
        input: ({ event }) => ({ email: (event as { email: string }).email, password: (event as { password: string }).password }),
        onDone: { target: 'in', actions: ({ context }) => void (context.ticket = new Uint8Array(16)) },
      },
    },
    in: {},
  },
});

const hubs: Hub[] = [];
const actors: AnyActorRef[] = [];
afterEach(() => {
  for (const a of actors.splice(0)) a.stop();
  for (const h of hubs.splice(0)) h.close();
});

function setupHub(opts: Parameters<typeof createHub>[0] = {}) {
  const hub = createHub({ flushMs: 5, ...opts });
  hubs.push(hub);
  const start = <T extends AnyActorRef>(a: T) => {
    actors.push(a);
    a.start();
    return a;
  };
  return { hub, start };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('the inspection hub', () => {
  it('tracks the actor tree: roots named by their machine, children by id, with state and status', async () => {
    const { hub, start } = setupHub();
    const p = start(createActor(parent, { inspect: hub.observe }));
    p.send({ type: 'ADD', email: 'ana@example.com' });
    p.send({ type: 'ADD', email: 'bob@example.com' });
    const roots = hub.children(null)!;
    expect(roots.rows).toEqual([expect.objectContaining({ name: 'parent', kind: 'parent', parent: null, status: 'active', children: 2 })]);
    const kids = hub.children(roots.rows[0]!.uid)!;
    expect(kids.total).toBe(2);
    expect(kids.rows.map((r) => [r.name, r.kind, r.state])).toEqual([
      ['liveness:ana@example.com', 'liveness', 'alive'],
      ['liveness:bob@example.com', 'liveness', 'alive'],
    ]);
    p.send({ type: 'POKE', email: 'ana@example.com' });
    expect(hub.search('ana').rows).toEqual([expect.objectContaining({ name: 'liveness:ana@example.com', state: 'suspect.probing', path: ['parent'] })]);
    // ana gives up after 2 re-probes: final state, status done; bob is stopped by the parent
    await tick(60);
    p.send({ type: 'DROP', email: 'bob@example.com' });
    const after = hub.children(roots.rows[0]!.uid)!.rows;
    expect(after.map((r) => [r.name, r.status, r.state])).toEqual([
      ['liveness:ana@example.com', 'done', 'offline'],
      ['liveness:bob@example.com', 'stopped', 'alive'],
    ]);
    expect(after.every((r) => r.endedAt !== null)).toBe(true);
    expect(hub.stats()).toMatchObject({ actors: 3, live: 1, ended: 2 });
  });

  it('lists, pages and searches 10 000 actors without handing them all out', () => {
    const { hub, start } = setupHub();
    const pool = setup({ types: { input: {} as { n: number } }, actors: { liveness: livenessMachine } }).createMachine({
      id: 'pool',
      entry: Array.from({ length: 100 }, (_, i) =>
        spawnChild('liveness', { id: `liveness:u${i}`, input: ({ self }) => ({ email: `${self.id}-u${i}@example.com` }) }),
      ),
    });
    for (let n = 0; n < 100; n++) start(createActor(pool, { id: `pool${n}`, input: { n }, inspect: hub.observe }));
    expect(hub.stats().live).toBe(10_100);
    const roots = hub.children(null, { limit: 10 })!;
    expect(roots.total).toBe(100);
    expect(roots.rows).toHaveLength(10);
    expect(roots.rows.map((r) => r.children)).toEqual(Array(10).fill(100));
    const page = hub.children(roots.rows[3]!.uid, { offset: 40, limit: 25 })!;
    expect(page.total).toBe(100);
    expect(page.rows.map((r) => r.name)).toEqual(Array.from({ length: 25 }, (_, i) => `liveness:u${40 + i}`));
    const filtered = hub.children(roots.rows[3]!.uid, { q: 'u9', limit: 5 })!;
    expect(filtered.matched).toBe(11); // u9, u90-u99
    expect(filtered.rows).toHaveLength(5);
    const found = hub.search('liveness:u42');
    expect(found.matched).toBe(100);
    expect(found.rows[0]).toMatchObject({ name: 'liveness:u42', state: 'alive', path: ['pool0'] });
    expect(hub.search('liveness', 50).rows).toHaveLength(50);
  });

  it('renders and pushes only watched actors, coalesced, with the active states and sanitized context', async () => {
    const { hub, start } = setupHub();
    const p = start(createActor(parent, { inspect: hub.observe }));
    p.send({ type: 'ADD', email: 'ana@example.com' });
    p.send({ type: 'ADD', email: 'bob@example.com' });
    const [ana, bob] = hub.children(hub.children(null)!.rows[0]!.uid)!.rows;
    const anaRef = (p.getSnapshot().children as Record<string, AnyActorRef>)['liveness:ana@example.com']!;
    const bobRef = (p.getSnapshot().children as Record<string, AnyActorRef>)['liveness:bob@example.com']!;
    const anaSnap = vi.spyOn(anaRef, 'getSnapshot');
    const bobSnap = vi.spyOn(bobRef, 'getSnapshot');

    const views: ActorView[] = [];
    const logs: LogEntry[] = [];
    const unwatch = hub.watch(ana!.uid, { view: (v) => views.push(v), log: (e) => logs.push(...e), gone: () => {} })!;
    const t0 = Date.now();
    p.send({ type: 'POKE', email: 'ana@example.com' });
    p.send({ type: 'POKE', email: 'bob@example.com' });
    await vi.waitFor(() => expect(views.length).toBeGreaterThan(0), { timeout: 1000, interval: 2 });
    const first = views[0]!;
    expect(Date.now() - t0).toBeLessThan(200);
    expect(first.active).toEqual(expect.arrayContaining(['liveness.suspect', 'liveness.suspect.probing']));
    expect(first.context).toMatchObject({ email: 'ana@example.com', probes: 1 });
    expect(first.taken).toEqual([expect.objectContaining({ source: 'liveness.alive', event: 'LIVENESS.MISSED', targets: ['liveness.suspect'] })]);
    expect(logs.map((e) => [e.kind, e.type])).toEqual(expect.arrayContaining([['event', 'LIVENESS.MISSED'], ['state', 'suspect.probing']]));
    expect(anaSnap).toHaveBeenCalled();
    // nobody watches bob: his snapshots were never asked for
    expect(bobSnap).not.toHaveBeenCalled();
    await tick(60);
    expect(views.at(-1)).toMatchObject({ status: 'done', state: 'offline' });
    unwatch();
    const n = views.length;
    p.send({ type: 'ADD', email: 'ana@example.com' });
    await tick(20);
    expect(views.length).toBe(n);
    expect(bob).toBeDefined();
  });

  it('keeps no password: events, invoked actors\' input and contexts are sanitized as they come in', async () => {
    const { hub, start } = setupHub();
    const a = start(createActor(login, { inspect: hub.observe }));
    a.send({ type: 'LOGIN', email: 'ana@example.com', password: CANARY });
    const all = () => {
      const out: unknown[] = [];
      for (const r of hub.search('').rows) out.push(hub.view(r.uid), hub.log(r.uid));
      return JSON.stringify(out);
    };
    // while the invoked actor runs: its input is visible, without the password
    const invoked = hub.search('login.auth').rows[0]!;
    expect(invoked.kind).toBe('logIn');
    expect(hub.view(invoked.uid)?.input).toEqual({ email: 'ana@example.com', password: '[redacted]' });
    expect(all()).not.toContain(CANARY);
    await vi.waitFor(() => expect(a.getSnapshot().value).toBe('in'));
    expect(hub.view(hub.children(null)!.rows[0]!.uid)?.context).toEqual({ email: null, ticket: '[redacted]' });
    expect(all()).not.toContain(CANARY);
    expect(all()).toContain('"password":"[redacted]"');
  });

  it('forgets ended actors beyond endedKeep and tells their watchers', () => {
    const { hub, start } = setupHub({ endedKeep: 3 });
    const p = start(createActor(parent, { inspect: hub.observe }));
    for (let i = 0; i < 6; i++) p.send({ type: 'ADD', email: `u${i}@x.org` });
    const kids = hub.children(hub.children(null)!.rows[0]!.uid)!.rows;
    let gone = 0;
    hub.watch(kids[0]!.uid, { view: () => {}, log: () => {}, gone: () => gone++ });
    for (let i = 0; i < 6; i++) p.send({ type: 'DROP', email: `u${i}@x.org` });
    const left = hub.children(hub.children(null)!.rows[0]!.uid)!.rows;
    expect(left.map((r) => r.name)).toEqual(['liveness:u3@x.org', 'liveness:u4@x.org', 'liveness:u5@x.org']);
    expect(gone).toBe(1);
    expect(hub.view(kids[0]!.uid)).toBeNull();
  });

  it('keeps a bounded log per actor', () => {
    const { hub, start } = setupHub({ logSize: 5 });
    const a = start(createActor(livenessMachine, { input: { email: 'a@x.org' }, inspect: hub.observe }));
    for (let i = 0; i < 20; i++) a.send({ type: 'LIVENESS.LIFE' });
    const log = hub.log(hub.children(null)!.rows[0]!.uid);
    expect(log).toHaveLength(5);
    expect(log.map((e) => e.seq)).toEqual([...log.map((e) => e.seq)].sort((x, y) => x - y));
    expect(log.at(-1)?.type).toBe('LIVENESS.LIFE');
  });

  it('writes state values compactly', () => {
    expect(stateString('alive')).toBe('alive');
    expect(stateString({ suspect: 'probing' })).toBe('suspect.probing');
    expect(stateString({ online: { link: { live: 'hearing' }, presence: 'idle' } })).toBe('online(link.live.hearing presence.idle)');
    expect(stateString(undefined)).toBe('');
  });

  it('never throws into the inspected process, and stops listening when closed', () => {
    const { hub } = setupHub();
    expect(() => hub.observe({ type: '@xstate.event', actorRef: null, event: null } as never)).not.toThrow();
    hub.close();
    const a = createActor(livenessMachine, { input: { email: 'late@x.org' }, inspect: hub.observe });
    a.start();
    a.stop();
    expect(hub.search('late').matched).toBe(0);
  });
});
