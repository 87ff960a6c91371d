/**
 * What the terminal shows of the session machine: its top state and the parts of its context
 * a person needs (who I am, who is online, why something failed).
 */
import type { SessionSnapshot } from '../runtime/client.ts';

export type SessionState = 'signedOut' | 'signingUp' | 'authenticating' | 'online' | 'reconnecting' | 'signingOut' | 'kicked';

export interface SessionView {
  state: SessionState;
  email: string | null;
  error: null | { reason: string; retryAfterS?: number };
  kickReason: null | 'elsewhere' | 'ticket_revoked' | 'dropped' | 'refused';
  signedOutReason: null | 'logout' | 'server_unreachable';
  /** emails of the online members, as the server's roster has them */
  roster: readonly string[];
}

const STATES = new Set<string>(['signedOut', 'signingUp', 'authenticating', 'online', 'reconnecting', 'signingOut', 'kicked']);

export function sessionView(s: SessionSnapshot): SessionView {
  const top = typeof s.value === 'string' ? s.value : (Object.keys(s.value)[0] ?? 'signedOut');
  const c = s.context;
  return {
    state: (STATES.has(top) ? top : 'signedOut') as SessionState,
    email: c.email,
    error: c.error,
    kickReason: c.kickReason,
    signedOutReason: c.signedOutReason,
    roster: [...c.roster.members.keys()],
  };
}

export const signedOutView: SessionView = {
  state: 'signedOut',
  email: null,
  error: null,
  kickReason: null,
  signedOutReason: null,
  roster: [],
};
