import { and, assign, fromPromise, not, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { livenessMachine } from '../../machines/liveness.ts';
import { sessionMachine } from '../../machines/session.ts';
import { activeIds, allNodes, describeMachine, isMachine, type Chart, type ChartNode } from '../../runtime/inspector/definition.ts';

/** A machine with every shape the walker must handle. */
const toy = setup({
  types: { context: {} as { n: number }, events: {} as { type: 'GO' } | { type: 'BACK' } | { type: 'TICK' } | { type: 'ANY' } },
  actors: { fetcher: fromPromise(async () => 1) },
  guards: { isBig: ({ context }) => context.n > 10, isOdd: ({ context }) => context.n % 2 === 1 },
  delays: { short: 250, dynamic: ({ context }) => context.n * 10 },
  actions: { log: () => {} },
}).createMachine({
  id: 'toy',
  context: { n: 0 },
  initial: 'idle',
  on: { ANY: { actions: 'log' } },
  states: {
    idle: {
      on: { GO: { target: 'work', guard: 'isBig' }, TICK: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
      always: [{ guard: not('isOdd'), target: 'decide' }],
    },
    decide: {
      always: [{ guard: and(['isBig', 'isOdd']), target: 'work' }, { target: 'idle' }],
    },
    work: {
      type: 'parallel',
      states: {
        left: {
          initial: 'a',
          states: {
            a: { after: { 1000: 'b' } },
            b: { after: { short: { target: 'a', reenter: true } } },
          },
        },
        right: {
          initial: 'x',
          states: {
            x: {
              invoke: { src: 'fetcher', onDone: 'y', onError: { target: '#toy.failed' } },
            },
            y: { after: { dynamic: '#toy.idle' }, on: { BACK: { target: '#toy.idle', guard: ({ context }) => context.n > 0 } } },
          },
        },
      },
      onDone: 'idle',
    },
    failed: { type: 'final' },
  },
});

function node(chart: Chart, id: string): ChartNode {
  const n = allNodes(chart).find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
}

describe('the definition walker (from machine.root)', () => {
  const chart = describeMachine(toy);

  it('recognises machines', () => {
    expect(isMachine(toy)).toBe(true);
    expect(isMachine({ id: 'x' })).toBe(false);
    expect(isMachine(null)).toBe(false);
  });

  it('walks nested and parallel states with their types and initial states', () => {
    expect(chart.id).toBe('toy');
    expect(chart.root.type).toBe('compound');
    expect(chart.root.initial).toBe('toy.idle');
    expect(chart.root.states.map((s) => s.key)).toEqual(['idle', 'decide', 'work', 'failed']);
    const work = node(chart, 'toy.work');
    expect(work.type).toBe('parallel');
    expect(work.initial).toBeNull();
    expect(work.states.map((s) => s.key)).toEqual(['left', 'right']);
    expect(node(chart, 'toy.work.left').initial).toBe('toy.work.left.a');
    expect(node(chart, 'toy.work.left.a').path).toEqual(['work', 'left', 'a']);
    expect(node(chart, 'toy.failed').type).toBe('final');
    expect(allNodes(chart)).toHaveLength(11);
  });

  it('keeps always transitions, which toJSON() leaves out', () => {
    const idle = node(chart, 'toy.idle');
    const always = idle.transitions.filter((t) => t.kind === 'always');
    expect(always).toHaveLength(1);
    expect(always[0]).toMatchObject({ label: 'always', guard: '!isOdd', targets: ['toy.decide'] });
    const decide = node(chart, 'toy.decide').transitions;
    expect(decide.map((t) => [t.kind, t.guard, t.targets])).toEqual([
      ['always', 'isBig && isOdd', ['toy.work']],
      ['always', null, ['toy.idle']],
    ]);
    // the reason the walker exists
    expect(JSON.stringify(toy.toJSON())).not.toContain('"always"');
  });

  it('labels after transitions with the delay, named or numeric, resolving named numbers', () => {
    const a = node(chart, 'toy.work.left.a').transitions;
    expect(a).toEqual([expect.objectContaining({ kind: 'after', label: 'after 1 s', delay: 1000, delayMs: 1000, targets: ['toy.work.left.b'] })]);
    const b = node(chart, 'toy.work.left.b').transitions;
    expect(b).toEqual([expect.objectContaining({ kind: 'after', label: 'after short (250 ms)', delay: 'short', delayMs: 250, reenter: true })]);
    const y = node(chart, 'toy.work.right.y').transitions;
    expect(y.find((t) => t.kind === 'after')).toMatchObject({ label: 'after dynamic', delay: 'dynamic', delayMs: null, targets: ['toy.idle'] });
  });

  it('labels invoked actors, state completion, guards and targetless transitions', () => {
    const x = node(chart, 'toy.work.right.x');
    expect(x.invoke).toEqual([{ id: expect.any(String), src: 'fetcher' }]);
    expect(x.transitions.map((t) => [t.kind, t.label, t.targets])).toEqual([
      ['done', 'onDone fetcher', ['toy.work.right.y']],
      ['error', 'onError fetcher', ['toy.failed']],
    ]);
    expect(node(chart, 'toy.work').transitions).toEqual([expect.objectContaining({ kind: 'doneState', label: 'onDone', targets: ['toy.idle'] })]);
    const idle = node(chart, 'toy.idle').transitions;
    expect(idle.find((t) => t.event === 'GO')).toMatchObject({ kind: 'event', label: 'GO', guard: 'isBig' });
    expect(idle.find((t) => t.event === 'TICK')).toMatchObject({ targets: [], actions: ['assign'] });
    expect(node(chart, 'toy.work.right.y').transitions.find((t) => t.event === 'BACK')).toMatchObject({ guard: 'guard' });
    expect(chart.root.transitions).toEqual([expect.objectContaining({ event: 'ANY', targets: [], actions: ['log'] })]);
  });

  it('maps state values to active state ids', () => {
    expect(activeIds(chart, 'idle')).toEqual(['toy', 'toy.idle']);
    expect(activeIds(chart, { work: { left: 'b', right: 'x' } }).sort()).toEqual(
      ['toy', 'toy.work', 'toy.work.left', 'toy.work.left.b', 'toy.work.right', 'toy.work.right.x'].sort(),
    );
    expect(activeIds(chart, { nothing: 'here' })).toEqual(['toy']);
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(chart))).toEqual(chart);
  });

  it('walks the real machines: liveness (nested, after) and session (parallel, invokes)', () => {
    const live = describeMachine(livenessMachine);
    const probing = node(live, 'liveness.suspect.probing');
    expect(probing.transitions.map((t) => [t.label, t.guard, t.targets, t.reenter])).toEqual([
      ['after suspectInterval', 'probesExhausted', ['liveness.offline'], false],
      ['after suspectInterval', null, ['liveness.suspect.probing'], true],
    ]);
    expect(probing.entry).toContain('reprobe');
    // xstate's own raise/cancel for the timer are not shown as actions
    expect(probing.entry.join()).not.toMatch(/raise|cancel/);
    const session = describeMachine(sessionMachine);
    const online = node(session, 'session.online');
    expect(online.type).toBe('parallel');
    expect(online.states.map((s) => s.key)).toEqual(expect.arrayContaining(['link', 'presence']));
    expect(node(session, 'session.authenticating').invoke.map((i) => i.src)).toEqual(['logIn']);
    expect(node(session, 'session.online.presence.syncing').transitions.some((t) => t.label === 'after pageTimeout (500 ms)')).toBe(true);
    expect(activeIds(session, { online: { link: { live: 'hearing' }, presence: 'idle' } })).toContain('session.online.link.live');
  });
});
