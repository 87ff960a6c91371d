/**
 * The stateless handshake token (PROTOCOL.md §3). After WELCOME the server
 * keeps nothing: it seals the split keys and the handshake hash into a token
 * under a cookie key, bound to the client's address, and reads them back when
 * AUTH echoes the token.
 *
 *     token = nonce (12) | ChaCha20-Poly1305(cookie key, nonce, aad = address,
 *               k_cs (32) | k_sc (32) | hash (32) | issued at ms u64 BE) (104 + 16)
 *
 * The address is bound as `port u16 BE | host UTF-8`. Cookie keys rotate every
 * 60 s; a token opens under the current or the previous key and is accepted
 * for 10 s. Rotation is lazy and driven by the `now` passed in, so the jar
 * runs the same under a real or a simulated clock.
 */
import { randomBytes } from 'node:crypto';
import { err, ok } from 'neverthrow';
import type { Result } from 'neverthrow';
import { KEY_SIZE, TOKEN_SIZE } from '../wire/constants.ts';
import type { Address } from '../wire/types.ts';
import * as aead from './aead.ts';
import * as sodium from './sodium.ts';
import type { TokenExpired, TokenInvalid } from './errors.ts';
import type { Split } from './noise.ts';

export const TOKEN_LIFETIME_MS = 10_000;
export const COOKIE_ROTATION_MS = 60_000;
const CONTENT_SIZE = 3 * KEY_SIZE + 8;

export interface TokenContents {
  split: Split;
  /** the handshake hash (noise.ts `hash`), unique per handshake */
  hash: Uint8Array;
  issuedAt: number;
}

export interface CookieJarOptions {
  lifetimeMs?: number;
  rotationMs?: number;
  /** random 32-byte keys by default; injectable for tests */
  newKey?: () => Uint8Array;
}

/** Associated data binding a token to `host:port`. */
export function addressBinding(address: Pick<Address, 'host' | 'port'>): Uint8Array {
  const host = Buffer.from(address.host, 'utf8');
  const out = Buffer.alloc(2 + host.length);
  out.writeUInt16BE(address.port & 0xffff, 0);
  host.copy(out, 2);
  return out;
}

export class CookieJar {
  private readonly lifetimeMs: number;
  private readonly rotationMs: number;
  private readonly newKey: () => Uint8Array;
  private current: Uint8Array;
  private previous: Uint8Array | null = null;
  private since: number;

  constructor(now: number, options: CookieJarOptions = {}) {
    this.lifetimeMs = options.lifetimeMs ?? TOKEN_LIFETIME_MS;
    this.rotationMs = options.rotationMs ?? COOKIE_ROTATION_MS;
    this.newKey = options.newKey ?? (() => randomBytes(KEY_SIZE));
    this.current = this.newKey();
    this.since = now;
  }

  /** Retires keys as time passes; called by seal and open. */
  private rotate(now: number): void {
    const age = now - this.since;
    if (age < this.rotationMs) return;
    // After two periods without traffic the old current key is too old to keep.
    this.previous = age < 2 * this.rotationMs ? this.current : null;
    this.current = this.newKey();
    this.since = now;
  }

  /** Seals the handshake result for the client at `address`. */
  seal(now: number, address: Pick<Address, 'host' | 'port'>, split: Split, hash: Uint8Array): Uint8Array {
    this.rotate(now);
    const content = Buffer.alloc(CONTENT_SIZE);
    Buffer.from(split.cs).copy(content, 0);
    Buffer.from(split.sc).copy(content, KEY_SIZE);
    Buffer.from(hash).copy(content, 2 * KEY_SIZE);
    content.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 3 * KEY_SIZE);
    const nonce = sodium.random(aead.NONCE_SIZE);
    const token = Buffer.concat([nonce, sodium.sealWithNonce(this.current, nonce, addressBinding(address), content)]);
    content.fill(0);
    return token;
  }

  /** Opens a token echoed by `address`; forged, foreign or retired tokens are TokenInvalid. */
  open(now: number, address: Pick<Address, 'host' | 'port'>, token: Uint8Array): Result<TokenContents, TokenInvalid | TokenExpired> {
    this.rotate(now);
    if (token.length !== TOKEN_SIZE) return err({ type: 'TokenInvalid' });
    const nonce = token.subarray(0, aead.NONCE_SIZE);
    const sealed = token.subarray(aead.NONCE_SIZE);
    const aad = addressBinding(address);
    let opened = sodium.openWithNonce(this.current, nonce, aad, sealed);
    if (opened === null && this.previous !== null) opened = sodium.openWithNonce(this.previous, nonce, aad, sealed);
    if (opened === null) return err({ type: 'TokenInvalid' });
    const content = opened;
    const issuedAt = Number(content.readBigUInt64BE(3 * KEY_SIZE));
    const ageMs = now - issuedAt;
    if (ageMs > this.lifetimeMs || ageMs < -this.lifetimeMs) return err({ type: 'TokenExpired', ageMs });
    return ok({
      split: {
        cs: Buffer.from(content.subarray(0, KEY_SIZE)),
        sc: Buffer.from(content.subarray(KEY_SIZE, 2 * KEY_SIZE)),
      },
      hash: Buffer.from(content.subarray(2 * KEY_SIZE, 3 * KEY_SIZE)),
      issuedAt,
    });
  }
}
