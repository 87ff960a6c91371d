import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJoin, applyLeave, deltasSince, emptyPresence, type PresenceLog } from '../../machines/presence.ts';
import { createTrucoEncoder } from '../../server/probe-cache.ts';
import { encodeBody } from '../../runtime/wire/body.ts';
import { MAX_SESSION_BODY } from '../../runtime/wire/constants.ts';
import { TRUCO_HEADER_SIZE } from '../../runtime/wire/truco.ts';
import { member, u32 } from '../wire/arb.ts';

/** What the host built before the cache: deltasSince, then encodeBody. */
function reference(p: PresenceLog, base: number, probe: number, epoch: number): Uint8Array {
  const w = deltasSince(p, base, MAX_SESSION_BODY - TRUCO_HEADER_SIZE);
  return encodeBody({
    type: 'TRUCO',
    probe,
    epoch,
    version: w.resync ? p.version : w.version,
    base: w.resync ? p.version : w.base,
    resync: w.resync,
    deltas: w.deltas,
  })._unsafeUnwrap().bytes;
}

describe('cached TRUCO bodies (server/probe-cache.ts)', () => {
  it('are byte for byte what encodeBody makes, for every base, before and after more changes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(member.map((m) => ({ join: m })), fc.nat(30).map((i) => ({ leave: i }))), { maxLength: 60 }),
        u32,
        u32,
        (ops, probe, epoch) => {
          const enc = createTrucoEncoder(MAX_SESSION_BODY);
          let p = emptyPresence(epoch);
          const joined: string[] = [];
          for (const op of ops) {
            if ('join' in op) {
              p = applyJoin(p, op.join);
              joined.push(op.join.email);
            } else if (joined.length > 0) p = applyLeave(p, joined[op.leave % joined.length] as string);
            for (const base of [-1, 0, Math.max(0, p.version - 3), p.version, p.version + 1]) {
              const got = enc.body(enc.window(p, base), probe, epoch);
              expect(Buffer.from(got).equals(Buffer.from(reference(p, base, probe, epoch)))).toBe(true);
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('shares one window between clients at the same base, and recomputes after a change', () => {
    const enc = createTrucoEncoder(MAX_SESSION_BODY);
    let p = emptyPresence(7);
    p = applyJoin(p, { email: 'a@x.y', address: { family: 4, host: '10.0.0.1', port: 5 }, peerKey: new Uint8Array(32) });
    expect(enc.window(p, 0)).toBe(enc.window(p, 0));
    const before = enc.window(p, 1);
    expect(before.count).toBe(0);
    p = applyLeave(p, 'a@x.y');
    expect(enc.window(p, 1)).not.toBe(before);
    expect(enc.window(p, 1).count).toBe(1);
  });
});
