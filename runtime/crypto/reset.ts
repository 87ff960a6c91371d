/**
 * Stateless reset tokens (PROTOCOL.md §2.6). A server that has lost a session (a restart) can
 * still prove a STALE is its own: the token is an HMAC of the session id under a key derived
 * from the server's static private key, which survives restarts. The client learns its token
 * inside the sealed AUTH_RESULT and believes a STALE only when it carries the same token, so a
 * spoofer on the LAN cannot push a client into reconnecting.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { RESET_TOKEN_SIZE } from '../wire/constants.ts';
import { exportSecret, type KeyPair } from './keys.ts';

const LABEL = 'truco/1 stale reset';
const HOLD_LABEL = 'truco/1 hold';

/** The server's reset key; derived once at start. */
export function resetKeyOf(pair: KeyPair): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', exportSecret(pair), new Uint8Array(0), LABEL, 32));
}

/** The token for session `sid` (taken modulo 2^32). */
export function resetToken(resetKey: Uint8Array, sid: number): Uint8Array {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(sid >>> 0);
  return new Uint8Array(createHmac('sha256', resetKey).update(id).digest().subarray(0, RESET_TOKEN_SIZE));
}

/**
 * The token a HOLD for a session carries (PROTOCOL.md §2.7): an HMAC of a label under the
 * session's reset token. The client computes it from the token it holds; seeing a HOLD on the wire
 * does not reveal the reset token, so it does not let anyone forge that session's STALE.
 */
export function holdToken(reset: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', reset).update(HOLD_LABEL).digest().subarray(0, RESET_TOKEN_SIZE));
}

/** Constant-time equality of two tokens (false when the lengths differ). */
export function sameToken(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
