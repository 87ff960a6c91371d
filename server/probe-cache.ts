/**
 * TRUCO bodies for the probe hot path, encoded once and shared.
 *
 * Between two presence changes every client that acknowledged the same version gets the same
 * deltas; at 20 000 users with no churn that is everyone. So the delta part of a TRUCO is built
 * once per (presence version, acknowledged base) and each delta is encoded once for its whole
 * life in the log; a probe then costs a 19-byte header write and one copy. The bytes are exactly
 * those of `encodeBody({ type: 'TRUCO', … })` (runtime/wire/truco.ts), which the tests check.
 *
 * Before this the profile of a 5 000-client ramp spent 41 % of the server's CPU re-encoding the
 * same deltas (UTF-8 emails, parsed IPv4 addresses) for every client.
 */
import { deltasSince, type PresenceLog } from '../machines/presence.ts';
import { encodeDelta } from '../runtime/wire/member.ts';
import { TRUCO_HEADER_SIZE } from '../runtime/wire/truco.ts';
import type { Delta } from '../runtime/wire/types.ts';

export interface TrucoWindow {
  /** what the TRUCO says: with `resync`, both are the current version and there are no deltas */
  version: number;
  base: number;
  resync: boolean;
  count: number;
  /** the encoded deltas, back to back */
  deltas: Uint8Array;
}

export interface TrucoEncoder {
  /** the window of deltas for a client that acknowledged `base` (-1: none or another epoch) */
  window(presence: PresenceLog, base: number): TrucoWindow;
  /** a TRUCO body: header for `probe` and `epoch`, then the window's deltas */
  body(w: TrucoWindow, probe: number, epoch: number): Buffer;
  /**
   * drops the windows no `window` call asked for since the last sweep (call once per probe
   * round): after a login ramp every base the ramp went through kept its window, ~1 KB each, until
   * the log moved past it, although no client was still at that base
   */
  sweep(): void;
}

const EMPTY = new Uint8Array(0);

/**
 * The parts back to back in an allocation of their own. Not `Buffer.concat`, which takes a slice
 * of Node's shared 8 KB pool: a window outlives the probes that used it (after a login ramp every
 * base the ramp went through keeps one until the log moves past it) and pinned a whole slab each,
 * ~10 MB at 5 000 users.
 */
function join(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function createTrucoEncoder(maxBody: number): TrucoEncoder {
  const encoded = new WeakMap<Delta, Uint8Array>();
  let cachedFor: PresenceLog | null = null;
  const windows = new Map<number, TrucoWindow>();
  /** the bases asked for since the last sweep */
  const used = new Set<number>();

  const bytesOf = (d: Delta): Uint8Array => {
    let b = encoded.get(d);
    if (!b) {
      const r = encodeDelta(d);
      // a delta in the log always encodes (its member passed the AUTH decoder); never send a bad one
      b = r.isOk() ? r.value : EMPTY;
      encoded.set(d, b);
    }
    return b;
  };

  return {
    window(presence, base) {
      if (cachedFor !== presence) {
        // A window the byte budget cut short of the version it was built at is still exactly right
        // after more changes, while its base is in the log: during a login ramp every client is
        // behind and gets such a full window, and rebuilding them at every join cost the server
        // a deltasSince and a copy per probe.
        const prev = cachedFor;
        for (const [b, w] of windows) {
          if (prev === null || presence.epoch !== prev.epoch || w.resync || w.version >= prev.version || b < presence.logStart) windows.delete(b);
        }
        cachedFor = presence;
      }
      used.add(base);
      let w = windows.get(base);
      if (w) return w;
      const d = deltasSince(presence, base, maxBody - TRUCO_HEADER_SIZE);
      if (d.resync) {
        w = { version: presence.version, base: presence.version, resync: true, count: 0, deltas: EMPTY };
      } else {
        const parts = d.deltas.map(bytesOf);
        w = { version: d.version, base: d.base, resync: false, count: parts.length, deltas: parts.length === 1 ? (parts[0] as Uint8Array) : join(parts) };
      }
      // a window per distinct base is at most ~1.2 KB; the log holds at most LOG_CAPACITY bases
      windows.set(base, w);
      return w;
    },
    sweep() {
      for (const b of windows.keys()) if (!used.has(b)) windows.delete(b);
      used.clear();
    },
    body(w, probe, epoch) {
      const b = Buffer.allocUnsafe(TRUCO_HEADER_SIZE + w.deltas.length);
      b.writeUInt32BE(probe >>> 0, 0);
      b.writeUInt32BE(epoch >>> 0, 4);
      b.writeUInt32BE(w.version >>> 0, 8);
      b.writeUInt32BE(w.base >>> 0, 12);
      b.writeUInt8(w.resync ? 1 : 0, 16);
      b.writeUInt16BE(w.count, 17);
      b.set(w.deltas, TRUCO_HEADER_SIZE);
      return b;
    },
  };
}
