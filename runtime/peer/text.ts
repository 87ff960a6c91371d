/**
 * Chat text at the edge of the delivery engine: validation with clear errors,
 * UTF-8 encoding and strict decoding, and fresh message ids.
 */
import { randomBytes } from 'node:crypto';
import { err, ok, type Result } from 'neverthrow';
import { MAX_MESSAGE_BYTES } from '../wire/constants.ts';
import { decodeUtf8 } from '../wire/buffer.ts';
import type { MessageId } from './delivery.ts';

export { MAX_MESSAGE_BYTES };

/** Why a send or a retry was refused. */
export interface SendError {
  type: 'SendError';
  reason: 'empty' | 'too_long' | 'peer_offline' | 'not_online' | 'unknown_message';
}

export const sendError = (reason: SendError['reason']): SendError => ({ type: 'SendError', reason });

/**
 * The UTF-8 bytes of a message. Empty or whitespace-only text is 'empty'; more
 * than 64 KiB of UTF-8 is 'too_long'. A lone surrogate becomes U+FFFD (what
 * any UTF-8 encoder does), so every string has an encoding. A short message's
 * bytes come from node's Buffer pool (TextEncoder makes a backing store of its
 * own for each); the delivery engine keeps them until the message is settled.
 */
export function encodeText(text: string): Result<Uint8Array, SendError> {
  if (typeof text !== 'string' || text.trim() === '') return err(sendError('empty'));
  // Cheap bound first: every UTF-16 unit is at least 1 UTF-8 byte.
  if (text.length > MAX_MESSAGE_BYTES) return err(sendError('too_long'));
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > MAX_MESSAGE_BYTES) return err(sendError('too_long'));
  return ok(bytes);
}

/** The checks of `encodeText`, without encoding (a lone surrogate counts 3 bytes here too). */
export function checkText(text: string): Result<void, SendError> {
  if (typeof text !== 'string' || text.trim() === '') return err(sendError('empty'));
  if (text.length > MAX_MESSAGE_BYTES || Buffer.byteLength(text, 'utf8') > MAX_MESSAGE_BYTES) return err(sendError('too_long'));
  return ok(undefined);
}

/** Strict UTF-8 decoding of a received message; null if it is not valid UTF-8. */
export function decodeText(bytes: Uint8Array): string | null {
  const r = decodeUtf8(bytes);
  return r.isOk() ? r.value : null;
}

/** Random bytes drawn 1 KiB at a time: one call into the CSPRNG per 128 ids. */
let pool = Buffer.alloc(0);
let taken = 0;

/** A fresh random 8-byte message id, as 16 hex digits. */
export function newMessageId(): MessageId {
  if (taken + 8 > pool.length) {
    pool = randomBytes(1024);
    taken = 0;
  }
  taken += 8;
  return pool.toString('hex', taken - 8, taken);
}
