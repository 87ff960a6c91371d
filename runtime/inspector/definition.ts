/**
 * The definition walker: turns an XState v5 machine into a plain, JSON-safe chart that the
 * inspector page draws and the docs generator turns into Mermaid.
 *
 * It walks `machine.root` (the resolved state nodes) rather than `machine.toJSON()`, because the
 * JSON form omits `always` transitions. Every transition a state node holds is kept, and each
 * gets a human label: the event type, `after 500 ms` / `after suspectInterval` for delays,
 * `always` for eventless transitions, `onDone logIn` / `onError logIn` for invoked actors,
 * `onDone` for a compound state reaching its final state. A guard is shown as `[name]`.
 */
import type { AnyStateMachine } from 'xstate';

export type ChartNodeType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export type TransitionKind = 'event' | 'after' | 'always' | 'done' | 'error' | 'snapshot' | 'doneState' | 'wildcard';

export interface ChartTransition {
  /** the event descriptor as the machine knows it (`xstate.after.…`, `xstate.done.actor.…`, or the event type) */
  event: string;
  kind: TransitionKind;
  /** what a person reads on the arrow, without the guard */
  label: string;
  /** the guard's name, `null` when unguarded */
  guard: string | null;
  /** ids of the target state nodes; empty for a targetless transition (actions only) */
  targets: string[];
  reenter: boolean;
  actions: string[];
  /** for `after`: the delay as configured (a number of ms or a delay name) */
  delay?: number | string;
  /** for `after`: the delay in ms when it is known without running the machine */
  delayMs?: number | null;
}

export interface ChartNode {
  id: string;
  key: string;
  /** keys from the root (empty for the root) */
  path: string[];
  type: ChartNodeType;
  /** id of the initial child (compound states only) */
  initial: string | null;
  description: string | null;
  tags: string[];
  entry: string[];
  exit: string[];
  invoke: Array<{ id: string; src: string }>;
  transitions: ChartTransition[];
  states: ChartNode[];
}

export interface Chart {
  /** the machine's id */
  id: string;
  root: ChartNode;
}

// The parts of xstate's StateNode and TransitionDefinition the walker reads. They are public
// properties of the resolved machine (see xstate's StateNode.d.ts); typed loosely here so the
// walker accepts any machine, whatever its type parameters.
interface NodeLike {
  id: string;
  key: string;
  path: string[];
  type: ChartNodeType;
  description?: string;
  tags: string[];
  entry: unknown[];
  exit: unknown[];
  states: Record<string, NodeLike>;
  transitions: Map<string, TransitionLike[]>;
  always?: TransitionLike[];
  invoke: Array<{ id: string; src: unknown }>;
  initial: { target: ReadonlyArray<{ id: string }> };
  machine: { implementations?: { delays?: Record<string, unknown> } };
}

interface TransitionLike {
  target?: ReadonlyArray<{ id: string }>;
  guard?: unknown;
  reenter?: boolean;
  actions?: readonly unknown[];
  delay?: unknown;
  eventType?: string;
}

/** True for anything that looks like an XState v5 machine (has a resolved `root` state node). */
export function isMachine(x: unknown): x is AnyStateMachine {
  if (typeof x !== 'object' || x === null) return false;
  const root = (x as { root?: unknown }).root;
  return typeof root === 'object' && root !== null && 'states' in root && 'transitions' in root && typeof (x as { id?: unknown }).id === 'string';
}

/** The chart of a machine, walked from `machine.root`. */
export function describeMachine(machine: AnyStateMachine): Chart {
  const root = machine.root as unknown as NodeLike;
  const delays = (machine as unknown as NodeLike['machine']).implementations?.delays ?? {};
  return { id: machine.id, root: walk(root, delays) };
}

function walk(node: NodeLike, delays: Record<string, unknown>): ChartNode {
  const invokeSrc = new Map<string, string>();
  for (const inv of node.invoke) invokeSrc.set(inv.id, srcName(inv.src));
  const transitions: ChartTransition[] = [];
  for (const [descriptor, list] of node.transitions) {
    for (const t of list) transitions.push(transition(node, descriptor, t, invokeSrc, delays));
  }
  for (const t of node.always ?? []) transitions.push(transition(node, '', t, invokeSrc, delays, 'always'));
  const children = Object.values(node.states).map((c) => walk(c, delays));
  return {
    id: node.id,
    key: node.key,
    path: [...node.path],
    type: node.type,
    initial: node.type === 'compound' ? (node.initial?.target?.[0]?.id ?? null) : null,
    description: node.description ?? null,
    tags: [...node.tags],
    entry: actionNames(node.entry),
    exit: actionNames(node.exit),
    invoke: node.invoke.map((i) => ({ id: i.id, src: srcName(i.src) })),
    transitions,
    states: children,
  };
}

function transition(
  node: NodeLike,
  descriptor: string,
  t: TransitionLike,
  invokeSrc: Map<string, string>,
  delays: Record<string, unknown>,
  forced?: 'always',
): ChartTransition {
  const base = {
    event: forced === 'always' ? 'always' : descriptor,
    guard: guardName(t.guard),
    targets: (t.target ?? []).map((s) => s.id),
    reenter: t.reenter ?? false,
    actions: actionNames(t.actions ?? []),
  };
  if (forced === 'always') return { ...base, kind: 'always', label: 'always' };
  if (descriptor.startsWith('xstate.after.') && t.delay !== undefined) {
    const delay = typeof t.delay === 'number' || typeof t.delay === 'string' ? t.delay : 'delay';
    let delayMs: number | null = null;
    let label: string;
    if (typeof delay === 'number') {
      delayMs = delay;
      label = `after ${formatMs(delay)}`;
    } else {
      const impl = delays[delay];
      if (typeof impl === 'number') delayMs = impl;
      label = delayMs === null ? `after ${delay}` : `after ${delay} (${formatMs(delayMs)})`;
    }
    return { ...base, kind: 'after', label, delay, delayMs };
  }
  const actorEvent = /^xstate\.(done|error)\.actor\.(.*)$/.exec(descriptor);
  if (actorEvent) {
    const which = actorEvent[1] === 'done' ? 'done' : 'error';
    const src = invokeSrc.get(actorEvent[2] ?? '') ?? actorEvent[2] ?? '';
    return { ...base, kind: which, label: `${which === 'done' ? 'onDone' : 'onError'} ${src}` };
  }
  if (descriptor.startsWith('xstate.snapshot.')) {
    const id = descriptor.slice('xstate.snapshot.'.length);
    return { ...base, kind: 'snapshot', label: `onSnapshot ${invokeSrc.get(id) ?? id}` };
  }
  if (descriptor === `xstate.done.state.${node.id}`) return { ...base, kind: 'doneState', label: 'onDone' };
  if (descriptor === '*') return { ...base, kind: 'wildcard', label: '*' };
  return { ...base, kind: 'event', label: descriptor };
}

function formatMs(ms: number): string {
  if (ms >= 1000 && ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  if (isMachine(src)) return src.id;
  if (typeof src === 'object' && src !== null) {
    const id = (src as { id?: unknown; config?: { id?: unknown } }).config?.id;
    if (typeof id === 'string') return id;
  }
  return 'inline';
}

/** `[name]` material for a guard: a named guard, a parameterized one, or an inline function. */
export function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    // xstate's higher-order guards (and, or, not) are functions carrying their operands
    const inner = (guard as { guards?: unknown[] }).guards;
    const name = guard.name;
    if (Array.isArray(inner) && (name === 'not' || name === 'and' || name === 'or')) {
      const parts = inner.map((g) => guardName(g) ?? 'guard');
      return name === 'not' ? `!${parts[0] ?? 'guard'}` : parts.join(name === 'and' ? ' && ' : ' || ');
    }
    return name && name !== 'guard' ? name : 'guard';
  }
  if (typeof guard === 'object') {
    const type = (guard as { type?: unknown }).type;
    if (typeof type === 'string') return type;
  }
  return 'guard';
}

/** Names of actions, leaving out the raise/cancel pairs xstate adds for `after` timers. */
export function actionNames(actions: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const a of actions) {
    if (typeof a === 'string') out.push(a);
    else if (typeof a === 'function') {
      const f = a as { type?: unknown; id?: unknown; sendId?: unknown; name: string };
      if (typeof f.id === 'string' && f.id.startsWith('xstate.after.')) continue;
      if (typeof f.sendId === 'string' && f.sendId.startsWith('xstate.after.')) continue;
      const type = typeof f.type === 'string' ? f.type : f.name || 'inline';
      out.push(type.startsWith('xstate.') ? type.slice('xstate.'.length) : type);
    } else if (typeof a === 'object' && a !== null) {
      const type = (a as { type?: unknown }).type;
      out.push(typeof type === 'string' ? type : 'inline');
    }
  }
  return out;
}

/** Every state node of a chart, depth first. */
export function allNodes(chart: Chart): ChartNode[] {
  const out: ChartNode[] = [];
  const visit = (n: ChartNode) => {
    out.push(n);
    n.states.forEach(visit);
  };
  visit(chart.root);
  return out;
}

/**
 * The ids of the active state nodes for a state value (`'alive'`, `{ suspect: 'probing' }`,
 * `{ online: { link: 'live', presence: 'idle' } }`), the root included.
 */
export function activeIds(chart: Chart, value: unknown): string[] {
  const out: string[] = [chart.root.id];
  const visit = (node: ChartNode, v: unknown) => {
    if (typeof v === 'string') {
      const child = node.states.find((s) => s.key === v);
      if (child) {
        out.push(child.id);
        // a compound child named by a string value is entered at its initial state (never the case
        // for snapshots, which always give full values; kept for partial values)
      }
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    for (const [k, sub] of Object.entries(v)) {
      const child = node.states.find((s) => s.key === k);
      if (!child) continue;
      out.push(child.id);
      visit(child, sub);
    }
  };
  visit(chart.root, value);
  return out;
}
