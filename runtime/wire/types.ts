/** The decoded shape of every message (see runtime/PROTOCOL.md §2). */

export interface Address {
  /** 4 or 6 */
  family: 4 | 6;
  /** dotted IPv4 or canonical IPv6 text */
  host: string;
  port: number;
}

/** One entry of the online list. */
export interface Member {
  email: string;
  address: Address;
  /** the member's X25519 public key for peer-to-peer encryption (32 bytes) */
  peerKey: Uint8Array;
}

export type Delta =
  | { kind: 'join'; member: Member }
  | { kind: 'update'; member: Member }
  | { kind: 'leave'; email: string };

// ---- handshake (outer) -------------------------------------------------------
export interface Hello { type: 'HELLO'; noise: Uint8Array /* e(32) + tag(16) = 48 bytes */ }
export interface Welcome { type: 'WELCOME'; noise: Uint8Array /* e(32) + ct(token)+tag */ }
export interface Auth { type: 'AUTH'; token: Uint8Array; sealed: Uint8Array; aad: Uint8Array }
export interface AuthResultSealed { type: 'AUTH_RESULT'; sealed: Uint8Array; aad: Uint8Array }
/** Any session datagram before decryption. */
export interface SessionSealed {
  type: 'SESSION';
  code: number;
  sid: number;
  counter: bigint;
  sealed: Uint8Array;
  /** the 14-byte clear header, used as associated data */
  aad: Uint8Array;
}
export interface Stale { type: 'STALE'; sid: number; token: Uint8Array }
/** A restarted server's "wait for my STALE" to a session it restored (PROTOCOL.md §2.7). */
export interface Hold { type: 'HOLD'; sid: number; token: Uint8Array; waitMs: number }
/** Asks the server for its static public key (trust on first use). */
export interface KeyReq { type: 'KEY_REQ' }
/** The server's static X25519 public key, unauthenticated: pinned on first use. */
export interface ServerKeyMsg { type: 'KEY'; key: Uint8Array }
/** Any peer datagram (CHAT, ACK) before decryption. */
export interface PeerSealed {
  type: 'PEER';
  code: number;
  /** the sender's key id: first 8 bytes of sha256(sender's peer public key) */
  keyId: Uint8Array;
  counter: bigint;
  sealed: Uint8Array;
  /** the 18-byte clear header, used as associated data */
  aad: Uint8Array;
}
export type Outer = Hello | Welcome | Auth | AuthResultSealed | SessionSealed | Stale | Hold | KeyReq | ServerKeyMsg | PeerSealed;

// ---- AUTH request / AUTH_RESULT bodies --------------------------------------
export type AuthRequest =
  | { kind: 'signup'; email: string; password: string }
  | { kind: 'login'; email: string; password: string; peerKey: Uint8Array }
  /**
   * `epoch` / `version`: the roster the client already holds (version UNKNOWN_VERSION, 0xffffffff,
   * when it holds none), so the server's first TRUCO brings it the deltas since then
   */
  | { kind: 'resume'; email: string; ticket: Uint8Array; peerKey: Uint8Array; epoch: number; version: number };

export type AuthResult =
  | { status: 'signed_up' }
  | {
      status: 'session';
      sid: number;
      ticket: Uint8Array;
      /** the token a genuine STALE for this session will carry (PROTOCOL.md §2.6) */
      resetToken: Uint8Array;
      intervalMs: number;
      misses: number;
      epoch: number;
      address: Address;
    }
  | { status: 'email_taken' }
  | { status: 'invalid_email' }
  | { status: 'weak_password'; minLength: number }
  | { status: 'unknown_email' }
  | { status: 'wrong_password' }
  | { status: 'rate_limited'; retryAfterS: number }
  | { status: 'ticket_refused' }
  | { status: 'server_error' };

// ---- session bodies ------------------------------------------------------------
export interface Truco {
  type: 'TRUCO';
  probe: number;
  epoch: number;
  version: number;
  /** the deltas lead from `base` to `version` */
  base: number;
  resync: boolean;
  deltas: Delta[];
}
export interface Seis { type: 'SEIS'; probe: number; epoch: number; version: number }
export interface RosterReq { type: 'ROSTER_REQ'; request: number; cursor: string }
export interface RosterPage {
  type: 'ROSTER_PAGE';
  request: number;
  epoch: number;
  version: number;
  more: boolean;
  next: string;
  entries: Member[];
}
export interface Bye { type: 'BYE' }
export interface ByeAck { type: 'BYE_ACK' }
export type KickReasonName = 'elsewhere' | 'dropped' | 'shutdown' | 'ticket_revoked';
export interface Kick { type: 'KICK'; reason: KickReasonName }
export type SessionBody = Truco | Seis | RosterReq | RosterPage | Bye | ByeAck | Kick;

// ---- peer bodies (inside a peer datagram) --------------------------------------
/** One fragment of a chat message. */
export interface ChatFrame {
  type: 'CHAT';
  /** per-channel datagram sequence number */
  seq: number;
  /** every seq below this is acknowledged or abandoned by the sender */
  floor: number;
  /** 8 bytes, the same in every fragment and every retry of the message */
  messageId: Uint8Array;
  index: number;
  count: number;
  payload: Uint8Array;
}
/** Cumulative + selective acknowledgement. */
export interface AckFrame {
  type: 'ACK';
  /** the next seq expected: every seq below it was received (or skipped past the floor) */
  cum: number;
  /** bit i (least significant first) set = seq cum + 1 + i received */
  sack: bigint;
  /** the ACK sender's own send floor: every seq it sent below this is acknowledged or abandoned */
  floor: number;
}
export type PeerBody = ChatFrame | AckFrame;
