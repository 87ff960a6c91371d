/**
 * O(1) cancellation of an actor's delayed events, for the registry's actor system.
 *
 * XState's system scheduler keeps every pending delayed event of the whole actor system in one
 * object, and stopping any actor scans all of them for the ones it owns (`cancelAll`). In the
 * registry's system each suspect user has one pending `after` (its next re-probe), so when K
 * users are suspect at once, every stop (an offline user, a BYE) scans K entries, and K users
 * going offline together cost O(K²): at 20 000 clients a stall during the login ramp made
 * thousands suspect at once and the server never caught up.
 *
 * `indexedScheduling()` gives the clock to pass to `createActor` and, once the actor exists,
 * `install(actor.system)` indexes the pending events by their source actor, so a stop costs
 * only that actor's own events. The machines are unchanged: their timeouts are still named
 * `after` delays, scheduled and cancelled by XState.
 */
import type { ActorOptions, ActorSystem, AnyActorRef, AnyActorLogic, EventObject } from 'xstate';

type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;
type AnyActorSystem = ActorSystem<any>;

interface Pending {
  source: AnyActorRef;
  id: string;
}

export interface IndexedScheduling {
  /** pass as `createActor(machine, { clock })` */
  readonly clock: Clock;
  /** call once, with the root actor's `system`, before the actor starts */
  install(system: AnyActorSystem): void;
  /** pending delayed events (for tests) */
  readonly size: number;
}

const TIMERS: Clock = {
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (handle: NodeJS.Timeout) => clearTimeout(handle),
};

/** `base`: the clock that really keeps time (Node's timers; a SimulatedClock in tests) */
export function indexedScheduling(base: Clock = TIMERS): IndexedScheduling {
  /** source actor → ids of its pending delayed events */
  const bySource = new Map<AnyActorRef, Set<string>>();
  /** the event being scheduled right now (the scheduler calls the clock synchronously) */
  let scheduling: Pending | null = null;
  let size = 0;

  const remember = ({ source, id }: Pending): void => {
    let ids = bySource.get(source);
    if (!ids) bySource.set(source, (ids = new Set()));
    if (!ids.has(id)) size++;
    ids.add(id);
  };
  const forget = ({ source, id }: Pending): void => {
    const ids = bySource.get(source);
    if (!ids?.delete(id)) return;
    size--;
    if (ids.size === 0) bySource.delete(source);
  };

  const clock: Clock = {
    setTimeout(fn: () => void, ms: number) {
      const p = scheduling;
      // a fired event is no longer pending (XState drops it from its own table the same way)
      return base.setTimeout(p ? () => { forget(p); fn(); } : fn, ms);
    },
    clearTimeout: (handle: unknown) => base.clearTimeout(handle),
  };

  return {
    clock,
    get size() {
      return size;
    },
    install(system) {
      const scheduler = system.scheduler;
      const schedule = scheduler.schedule.bind(scheduler);
      const cancel = scheduler.cancel.bind(scheduler);
      scheduler.schedule = (source: AnyActorRef, target: AnyActorRef, event: EventObject, delay: number, id?: string) => {
        // the id XState would make up, made here so that it is known
        const p = { source, id: id ?? Math.random().toString(36).slice(2) };
        remember(p);
        scheduling = p;
        try {
          schedule(source, target, event, delay, p.id);
        } finally {
          scheduling = null;
        }
      };
      scheduler.cancel = (source: AnyActorRef, id: string) => {
        forget({ source, id });
        cancel(source, id);
      };
      scheduler.cancelAll = (source: AnyActorRef) => {
        const ids = bySource.get(source);
        if (!ids) return;
        for (const id of [...ids]) scheduler.cancel(source, id);
      };
    },
  };
}
