/**
 * Noise_NK_25519_ChaChaPoly_SHA256 (Noise revision 34), the client → server
 * handshake. The client knows the server's static key in advance:
 *
 *     <- s
 *     ...
 *     -> e, es      (HELLO; empty payload, so nothing replayable is in it)
 *     <- e, ee      (WELCOME; payload = the stateless token)
 *
 * Both sides end with the pair of transport keys from Split() and two hashes:
 *  - `hash`: h after the `e, ee` tokens of message 2, i.e. the associated data
 *    the WELCOME payload is sealed under. The server must build the token
 *    before sealing it, and the token carries a handshake hash, so this is the
 *    value both sides can know at that moment. It commits to the prologue, the
 *    server key, both ephemerals and message 1, and is unique per handshake.
 *  - `finalHash`: Noise's GetHandshakeHash(), h after the whole handshake.
 *
 * The responder is one call (`respond`) that builds message 2 around a
 * payload computed from the split keys, so the state can never seal twice.
 */
import { createHash, createHmac } from 'node:crypto';
import { err, ok } from 'neverthrow';
import type { Result } from 'neverthrow';
import { KEY_SIZE, TAG_SIZE } from '../wire/constants.ts';
import type { HandshakeFailed, InvalidPublicKey } from './errors.ts';
import { generateRawKeyPair, rawKeyPair, x25519 } from './keys.ts';
import type { KeyPair, RawKeyPair } from './keys.ts';
import * as sodium from './sodium.ts';

export const PROTOCOL_NAME = 'Noise_NK_25519_ChaChaPoly_SHA256';
export const PROLOGUE: Uint8Array = Buffer.from('truco/1');
/** Length of message 1 with the empty payload truco sends (e + tag). */
export const HELLO_NOISE_SIZE = KEY_SIZE + TAG_SIZE;

const EMPTY = new Uint8Array(0);

/** Transport keys from Split(): `cs` seals client → server, `sc` server → client. */
export interface Split {
  readonly cs: Uint8Array;
  readonly sc: Uint8Array;
}

export interface HandshakeOptions {
  /** defaults to `truco/1` */
  prologue?: Uint8Array;
  /** a fixed ephemeral key pair, for test vectors only */
  ephemeral?: KeyPair;
}

// ---- SymmetricState (Noise §5.2) ---------------------------------------------

// X25519, SHA-256 and ChaCha20-Poly1305 go through libsodium when it loads (sodium.ts), else
// node:crypto: the same functions, the same bytes (the test vectors run through both).
function sha256(...parts: Uint8Array[]): Buffer {
  const fast = sodium.HANDSHAKE_BACKEND === 'libsodium' ? sodium.sha256(parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts)) : undefined;
  if (fast) return fast;
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function hmac(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const m = createHmac('sha256', key);
  for (const p of parts) m.update(p);
  return m.digest();
}

/** Noise HKDF with two outputs (HMAC-SHA256). */
function hkdf2(chainingKey: Uint8Array, ikm: Uint8Array): [Buffer, Buffer] {
  const temp = hmac(chainingKey, ikm);
  const out1 = hmac(temp, Uint8Array.of(1));
  const out2 = hmac(temp, out1, Uint8Array.of(2));
  return [out1, out2];
}

class Symmetric {
  ck: Uint8Array;
  h: Uint8Array;
  k: Uint8Array | null = null;
  n = 0;

  constructor(prologue: Uint8Array) {
    // The protocol name is exactly HASHLEN (32) bytes, so h = name, unhashed.
    this.h = Buffer.from(PROTOCOL_NAME, 'ascii');
    this.ck = this.h;
    this.mixHash(prologue);
  }

  clone(): Symmetric {
    const copy = Object.create(Symmetric.prototype) as Symmetric;
    copy.ck = this.ck;
    copy.h = this.h;
    copy.k = this.k;
    copy.n = this.n;
    return copy;
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(this.h, data);
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf2(this.ck, ikm);
    this.ck = ck;
    this.k = k;
    this.n = 0;
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const out = this.k === null ? plaintext : sodium.seal(this.k, this.n++, this.h, plaintext);
    this.mixHash(out);
    return out;
  }

  decryptAndHash(ciphertext: Uint8Array): Result<Uint8Array, HandshakeFailed> {
    let plain: Uint8Array = ciphertext;
    if (this.k !== null) {
      const opened = sodium.open(this.k, this.n, this.h, ciphertext);
      if (opened === null) return err({ type: 'HandshakeFailed', reason: 'decrypt' });
      plain = opened;
      this.n++;
    }
    this.mixHash(ciphertext);
    return ok(plain);
  }

  split(): Split {
    const [cs, sc] = hkdf2(this.ck, EMPTY);
    return { cs, sc };
  }
}

function start(serverStatic: Uint8Array, prologue: Uint8Array): Symmetric {
  const s = new Symmetric(prologue);
  s.mixHash(serverStatic); // pre-message `<- s`
  return s;
}

// ---- initiator (client) --------------------------------------------------------

/** What the client keeps between HELLO and WELCOME; opaque to callers. */
export interface InitiatorState {
  readonly symmetric: Symmetric;
  readonly ephemeral: RawKeyPair;
}

export interface InitiatorDone {
  /** the decrypted message-2 payload (the token) */
  payload: Uint8Array;
  split: Split;
  hash: Uint8Array;
  finalHash: Uint8Array;
}

/**
 * Writes message 1 (`e, es` + payload, normally empty) toward a server whose
 * static public key is `serverStatic`. Fails only if that key is invalid.
 */
export function initiate(
  serverStatic: Uint8Array,
  payload: Uint8Array = EMPTY,
  options: HandshakeOptions = {},
): Result<{ message: Uint8Array; state: InitiatorState }, InvalidPublicKey> {
  if (serverStatic.length !== KEY_SIZE) return err({ type: 'InvalidPublicKey' });
  const symmetric = start(serverStatic, options.prologue ?? PROLOGUE);
  const ephemeral = options.ephemeral ? rawKeyPair(options.ephemeral) : generateRawKeyPair();
  symmetric.mixHash(ephemeral.publicKey);
  const es = x25519(ephemeral.secret, serverStatic);
  if (es.isErr()) return err(es.error);
  symmetric.mixKey(es.value);
  const sealed = symmetric.encryptAndHash(payload);
  const message = Buffer.concat([ephemeral.publicKey, sealed]);
  return ok({ message, state: { symmetric, ephemeral } });
}

/**
 * Reads message 2 (`e, ee` + payload). The state is left untouched, so a
 * forged or corrupted WELCOME cannot spoil the genuine one arriving after it:
 * the client keeps the state until one WELCOME completes.
 */
export function complete(state: InitiatorState, message: Uint8Array): Result<InitiatorDone, HandshakeFailed> {
  if (message.length < KEY_SIZE + TAG_SIZE) return err({ type: 'HandshakeFailed', reason: 'short' });
  const s = state.symmetric.clone();
  const re = message.subarray(0, KEY_SIZE);
  s.mixHash(re);
  const ee = x25519(state.ephemeral.secret, re);
  if (ee.isErr()) return err({ type: 'HandshakeFailed', reason: 'key' });
  s.mixKey(ee.value);
  const hash = s.h;
  const split = s.split();
  const payload = s.decryptAndHash(message.subarray(KEY_SIZE));
  if (payload.isErr()) return err(payload.error);
  return ok({ payload: payload.value, split, hash, finalHash: s.h });
}

// ---- responder (server) --------------------------------------------------------

export interface ResponderDone {
  /** message 2, ready for the WELCOME datagram */
  message: Uint8Array;
  /** the decrypted message-1 payload (empty in truco) */
  payload: Uint8Array;
  split: Split;
  hash: Uint8Array;
  finalHash: Uint8Array;
}

/**
 * Reads message 1 with the server's static key pair and writes message 2,
 * whose payload `makePayload` computes from the split keys and `hash` (the
 * server seals them into the token). No state survives the call.
 */
export function respond(
  server: KeyPair,
  message: Uint8Array,
  makePayload: (keys: { split: Split; hash: Uint8Array }) => Uint8Array,
  options: HandshakeOptions = {},
): Result<ResponderDone, HandshakeFailed> {
  if (message.length < KEY_SIZE + TAG_SIZE) return err({ type: 'HandshakeFailed', reason: 'short' });
  const s = start(server.publicKey, options.prologue ?? PROLOGUE);
  const re = message.subarray(0, KEY_SIZE);
  s.mixHash(re);
  const es = x25519(rawKeyPair(server).secret, re);
  if (es.isErr()) return err({ type: 'HandshakeFailed', reason: 'key' });
  s.mixKey(es.value);
  const payload = s.decryptAndHash(message.subarray(KEY_SIZE));
  if (payload.isErr()) return err(payload.error);

  const ephemeral = options.ephemeral ? rawKeyPair(options.ephemeral) : generateRawKeyPair();
  s.mixHash(ephemeral.publicKey);
  // re authenticated above, so it is a valid point: this DH fails only if it is low-order.
  const ee = x25519(ephemeral.secret, re);
  if (ee.isErr()) return err({ type: 'HandshakeFailed', reason: 'key' });
  s.mixKey(ee.value);
  const hash = s.h;
  const split = s.split();
  const sealed = s.encryptAndHash(makePayload({ split, hash }));
  return ok({
    message: Buffer.concat([ephemeral.publicKey, sealed]),
    payload: payload.value,
    split,
    hash,
    finalHash: s.h,
  });
}
