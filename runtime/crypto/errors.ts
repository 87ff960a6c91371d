/**
 * Tagged error values of the crypto layer. Every fallible function returns a
 * neverthrow Result whose error is one of these; nothing here throws on bad
 * input. The runtime maps them to counters, events or user-facing words.
 */

/** A public key that is not 32 bytes or gives an all-zero (low-order) shared secret. */
export interface InvalidPublicKey { type: 'InvalidPublicKey' }
/** A secret key, encoded key or key file whose bytes are not a valid X25519 key. */
export interface KeyMalformed { type: 'KeyMalformed'; reason: string }
/** AEAD authentication failed (wrong key, nonce, associated data, or tampering). */
export interface DecryptFailed { type: 'DecryptFailed' }
/** A Noise handshake message that is too short, fails to authenticate, or carries a bad key. */
export interface HandshakeFailed { type: 'HandshakeFailed'; reason: 'short' | 'key' | 'decrypt' }
/** A counter already seen inside the replay window. */
export interface Replayed { type: 'Replayed' }
/** A counter older than the replay window can tell. */
export interface TooOld { type: 'TooOld' }
/** A counter beyond what this implementation accepts (2^53 - 1, see replay.ts). */
export interface CounterOutOfRange { type: 'CounterOutOfRange' }
/** The send counter ran out; the session must be re-established. */
export interface CounterExhausted { type: 'CounterExhausted' }
/** A token that is malformed, forged, bound to another address, or under a retired key. */
export interface TokenInvalid { type: 'TokenInvalid' }
/** A genuine token older than its lifetime (or issued in the future). */
export interface TokenExpired { type: 'TokenExpired'; ageMs: number }
/** A ticket that is not 48 bytes. */
export interface TicketMalformed { type: 'TicketMalformed' }
/** The password does not match the stored hash. */
export interface WrongPassword { type: 'WrongPassword' }
/** A stored password hash that cannot be parsed or has out-of-bounds parameters. */
export interface PasswordHashMalformed { type: 'PasswordHashMalformed'; reason: string }
/** scrypt itself failed (for instance memory limits). */
export interface PasswordHashFailed { type: 'PasswordHashFailed'; message: string }
/** Both ends of a peer channel present the same identity. */
export interface SamePeer { type: 'SamePeer' }
/** The server key file exists but other users may read it (like ssh, we refuse it). */
export interface KeyFileTooOpen { type: 'KeyFileTooOpen'; path: string; mode: number }
/** The server key file cannot be read, created or parsed. */
export interface KeyFileUnusable { type: 'KeyFileUnusable'; path: string; message: string }
/** A line of the pinned-keys file cannot be parsed. */
export interface PinFileMalformed { type: 'PinFileMalformed'; path: string; line: number }
/** The pinned-keys file cannot be read or written. */
export interface PinFileUnusable { type: 'PinFileUnusable'; path: string; message: string }
/** The server presented a key other than the one pinned for it. */
export interface PinMismatch {
  type: 'PinMismatch';
  server: string;
  /** fingerprint pinned earlier */
  expected: string;
  /** fingerprint presented now */
  actual: string;
}

export type CryptoError =
  | InvalidPublicKey
  | KeyMalformed
  | DecryptFailed
  | HandshakeFailed
  | Replayed
  | TooOld
  | CounterOutOfRange
  | CounterExhausted
  | TokenInvalid
  | TokenExpired
  | TicketMalformed
  | WrongPassword
  | PasswordHashMalformed
  | PasswordHashFailed
  | SamePeer
  | KeyFileTooOpen
  | KeyFileUnusable
  | PinFileMalformed
  | PinFileUnusable
  | PinMismatch;

/** The message of an unknown thrown value, for error fields. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
