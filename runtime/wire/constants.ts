/** Protocol constants: version, datagram budget and integer type numbers (see runtime/PROTOCOL.md). */

export const VERSION = 1;
export const MAX_DATAGRAM = 1200;
export const HELLO_SIZE = 256;
export const TOKEN_SIZE = 132;
export const TICKET_SIZE = 48;
/** the stateless reset token a STALE carries (runtime/crypto/reset.ts) */
export const RESET_TOKEN_SIZE = 16;
/** the longest a HOLD may ask a client to wait for its STALE (runtime/wire/hold.ts) */
export const HOLD_MAX_WAIT_MS = 30_000;
/** KEY_REQ is padded so the KEY answer (34 bytes) is never larger than the request. */
export const KEY_REQ_SIZE = 64;
export const KEY_SIZE = 32;
export const TAG_SIZE = 16;
/** ver | type | sid u32 | counter u64 */
export const SESSION_HEADER_SIZE = 14;
export const SESSION_OVERHEAD = SESSION_HEADER_SIZE + TAG_SIZE;
export const MAX_SESSION_BODY = MAX_DATAGRAM - SESSION_OVERHEAD;
export const MAX_EMAIL_BYTES = 254;
export const MAX_PASSWORD_BYTES = 255;

export const Type = {
  HELLO: 0x01,
  WELCOME: 0x02,
  AUTH: 0x03,
  AUTH_RESULT: 0x04,
  KEY_REQ: 0x05,
  KEY: 0x06,
  TRUCO: 0x10,
  SEIS: 0x11,
  ROSTER_REQ: 0x12,
  ROSTER_PAGE: 0x13,
  BYE: 0x14,
  BYE_ACK: 0x15,
  KICK: 0x16,
  STALE: 0x17,
  HOLD: 0x18,
  CHAT: 0x20,
  ACK: 0x21,
  BUNDLE: 0x22,
} as const;
export type TypeName = keyof typeof Type;
export type TypeCode = (typeof Type)[TypeName];

/** Session datagram types: `ver | type | sid | counter | AEAD(body)`. */
export const SESSION_TYPES: ReadonlySet<number> = new Set([
  Type.TRUCO,
  Type.SEIS,
  Type.ROSTER_REQ,
  Type.ROSTER_PAGE,
  Type.BYE,
  Type.BYE_ACK,
  Type.KICK,
]);

/** Peer datagram types (client ↔ client): `ver | type | sender key id (8) | counter u64 | AEAD(body)`. */
export const PEER_TYPES: ReadonlySet<number> = new Set([Type.CHAT, Type.ACK, Type.BUNDLE]);
/** The first 8 bytes of SHA-256 over the sender's peer public key. */
export const KEY_ID_SIZE = 8;
/** ver | type | key id (8) | counter u64 */
export const PEER_HEADER_SIZE = 2 + KEY_ID_SIZE + 8;
export const PEER_OVERHEAD = PEER_HEADER_SIZE + TAG_SIZE;
export const MAX_PEER_BODY = MAX_DATAGRAM - PEER_OVERHEAD;
/** CHAT body header: seq u32 | floor u32 | message id (8) | index u8 | count u8 */
export const CHAT_HEADER_SIZE = 4 + 4 + 8 + 1 + 1;
export const MESSAGE_ID_SIZE = 8;
/** The most text one CHAT datagram carries. */
export const MAX_FRAGMENT = MAX_PEER_BODY - CHAT_HEADER_SIZE;
/** The longest chat message, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 65536;
/** Fragments of the longest message (58 at 1148 bytes each). */
export const MAX_FRAGMENTS = Math.ceil(MAX_MESSAGE_BYTES / MAX_FRAGMENT);
/** ACK body: cum u32 | selective-ack bitmap u64 | floor u32 */
export const ACK_SIZE = 4 + 8 + 4;

export const AuthKind = { SIGNUP: 1, LOGIN: 2, RESUME: 3 } as const;

export const AuthStatus = {
  OK_SIGNED_UP: 0,
  OK_SESSION: 1,
  EMAIL_TAKEN: 2,
  INVALID_EMAIL: 3,
  WEAK_PASSWORD: 4,
  UNKNOWN_EMAIL: 5,
  WRONG_PASSWORD: 6,
  RATE_LIMITED: 7,
  TICKET_REFUSED: 8,
  SERVER_ERROR: 9,
} as const;

export const DeltaKind = { JOIN: 1, LEAVE: 2, UPDATE: 3 } as const;

export const KickReason = { ELSEWHERE: 1, DROPPED: 2, SHUTDOWN: 3, TICKET_REVOKED: 4 } as const;
export type KickReasonCode = (typeof KickReason)[keyof typeof KickReason];
