/** Public API of the wire layer (runtime/PROTOCOL.md §2). */

export * from './constants.ts';
export type * from './types.ts';
export { wireError, isWireError, type WireError, type WireErrorReason } from './errors.ts';
export { Reader, Writer, decodeWith, encodeWith, decodeUtf8, utf8Bytes, utf8Length, type StrBounds } from './buffer.ts';
export {
  ADDRESS_V4_SIZE,
  ADDRESS_V6_SIZE,
  addressSize,
  decodeAddress,
  encodeAddress,
  formatIPv4,
  formatIPv6,
  normalizeHost,
  parseIPv4,
  parseIPv6,
  readAddress,
  sameAddress,
  writeAddress,
} from './address.ts';
export {
  EMAIL,
  decodeDelta,
  decodeMember,
  deltaSize,
  encodeDelta,
  encodeMember,
  memberSize,
  readDelta,
  readMember,
  writeDelta,
  writeMember,
} from './member.ts';
export { OUTER_HEADER_SIZE } from './header.ts';
export * from './outer.ts';
export { PASSWORD, decodeAuthRequest, encodeAuthRequest } from './auth-request.ts';
export { decodeAuthResultBody, encodeAuthResultBody, type AuthStatusName } from './auth-result-body.ts';
export { TRUCO_HEADER_SIZE, decodeTruco, encodeTruco, trucoSize } from './truco.ts';
export { SEIS_SIZE, decodeSeis, encodeSeis } from './seis.ts';
export {
  ROSTER_PAGE_HEADER_SIZE,
  buildRosterPage,
  decodeRosterPage,
  decodeRosterReq,
  encodeRosterPage,
  encodeRosterReq,
  fitEntries,
  rosterPageSize,
  type RosterPageInput,
} from './roster.ts';
export { decodeBye, decodeByeAck, encodeBye, encodeByeAck } from './bye.ts';
export { KICK_REASON_CODE, decodeKick, encodeKick } from './kick.ts';
export { bodyCode, decodeBody, encodeBody } from './body.ts';
