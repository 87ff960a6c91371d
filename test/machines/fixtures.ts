/** Shared test data for the machine tests. */
import type { SimulatedClock } from 'xstate';
import type { Address, Member, RosterPage, Truco } from '../../runtime/wire/types.ts';
import type { PresenceLog } from '../../machines/presence.ts';

export function addr(port: number, host = '10.0.0.1'): Address {
  return host.includes(':') ? { family: 6, host, port } : { family: 4, host, port };
}

export function key(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

export function member(email: string, port = 4000, keyByte = 1, host?: string): Member {
  return { email, address: addr(port, host), peerKey: key(keyByte) };
}

export function truco(fields: Partial<Truco> & Pick<Truco, 'epoch' | 'version' | 'base'>): Truco {
  return { type: 'TRUCO', probe: 1, resync: false, deltas: [], ...fields };
}

/** A reference server pager: entries sorted by email, the cursor is the last email sent. */
export function pageOf(p: PresenceLog, request: number, cursor: string, size: number): RosterPage {
  const sorted = [...p.members.values()].filter((m) => m.email > cursor).sort((a, b) => (a.email < b.email ? -1 : 1));
  const entries = sorted.slice(0, size);
  const more = sorted.length > entries.length;
  return {
    type: 'ROSTER_PAGE',
    request,
    epoch: p.epoch,
    version: p.version,
    more,
    next: more ? (entries[entries.length - 1]?.email ?? cursor) : '',
    entries,
  };
}

/** Members as a sorted, comparable list. */
export function snapshotOf(members: ReadonlyMap<string, Member>): Array<[string, string, number, number]> {
  return [...members.values()]
    .map((m): [string, string, number, number] => [m.email, m.address.host, m.address.port, m.peerKey[0] ?? -1])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Let promise-based actors settle. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves a SimulatedClock forward 1 ms at a time. One big `increment` fires only the timers due
 * at the end and starts the timers they set from there, so chains of `after` timers need steps.
 */
export function advance(clock: SimulatedClock, ms: number): void {
  for (let i = 0; i < ms; i++) clock.increment(1);
}
