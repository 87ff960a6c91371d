/**
 * The online emails in order, for ROSTER_PAGE (pages are cut by email, PROTOCOL.md §6), kept in
 * step with the presence log instead of sorted again at every version.
 *
 * During a login ramp the version changes a few hundred times a second and every newcomer pages
 * the roster; sorting all N members per version made the ramp O(N²) (at 20 000 users, ~10 ms a
 * sort, a few hundred sorts a second). Here the deltas since the last call are applied with a
 * binary search each; only another epoch, or a gap the log no longer covers, rebuilds the list.
 */
import type { PresenceLog } from '../machines/presence.ts';

export interface RosterIndex {
  /** the online emails in ascending (UTF-16) order at `p.version`; valid until the next call */
  sorted(p: PresenceLog): readonly string[];
}

/** The first index whose email is greater than `email` (`list.length` if none). */
export function after(list: readonly string[], email: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as string) <= email) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function createRosterIndex(): RosterIndex {
  let epoch = NaN;
  let version = -1;
  let emails: string[] = [];

  const insert = (email: string): void => {
    const i = after(emails, email);
    if (i > 0 && emails[i - 1] === email) return; // an UPDATE-like JOIN: already there
    emails.splice(i, 0, email);
  };
  const remove = (email: string): void => {
    const i = after(emails, email) - 1;
    if (i >= 0 && emails[i] === email) emails.splice(i, 1);
  };

  return {
    sorted(p) {
      if (p.epoch === epoch && version === p.version) return emails;
      if (p.epoch === epoch && version >= p.logStart && version <= p.version) {
        // log.at(i) took the list to version logStart + i + 1
        for (let i = version - p.logStart; i < p.log.length; i++) {
          const d = p.log.at(i);
          if (!d) break;
          if (d.kind === 'leave') remove(d.email);
          else if (d.kind === 'join') insert(d.member.email);
        }
      } else {
        emails = [...p.members.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      }
      epoch = p.epoch;
      version = p.version;
      return emails;
    },
  };
}
