import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJoin, applyLeave, emptyPresence, LOG_CAPACITY, restoredPresence, type PresenceLog } from '../../machines/presence.ts';
import { after, createRosterIndex } from '../../server/roster-index.ts';
import { member } from '../machines/fixtures.ts';

const sortedEmails = (p: PresenceLog) => [...p.members.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

describe('the sorted roster index (server/roster-index.ts)', () => {
  it('follows any sequence of joins, updates and leaves, read at any point', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('join', 'update', 'leave'), fc.nat(40), fc.boolean()), { maxLength: 120 }),
        (ops) => {
          const index = createRosterIndex();
          let p = emptyPresence(7);
          for (const [op, n, look] of ops) {
            const email = `u${n}@x`;
            if (op === 'leave') p = applyLeave(p, email);
            else p = applyJoin(p, member(email, op === 'update' ? 5000 + n : 4000));
            if (look) expect(index.sorted(p)).toEqual(sortedEmails(p));
          }
          expect(index.sorted(p)).toEqual(sortedEmails(p));
        },
      ),
    );
  });

  it('rebuilds when the log no longer reaches back, or in another epoch', () => {
    const index = createRosterIndex();
    let p = emptyPresence(1);
    p = applyJoin(p, member('a@x'));
    expect(index.sorted(p)).toEqual(['a@x']);
    for (let i = 0; i < LOG_CAPACITY + 10; i++) p = applyJoin(p, member(`u${i}@x`));
    expect(index.sorted(p)).toEqual(sortedEmails(p));
    const other = restoredPresence(2, 5, [member('z@x'), member('b@x')]);
    expect(index.sorted(other)).toEqual(['b@x', 'z@x']);
  });

  it('after() finds the first email past a cursor', () => {
    const list = ['a', 'c', 'e'];
    expect([after(list, ''), after(list, 'a'), after(list, 'b'), after(list, 'e'), after(list, 'z')]).toEqual([0, 1, 1, 3, 3]);
  });
});
