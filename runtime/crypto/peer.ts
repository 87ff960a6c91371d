/**
 * End-to-end keys between two peers. Each client makes an X25519 key pair per
 * login (never stored); the server publishes its public half in presence.
 * Two peers derive the same pair of directional keys without a round trip:
 *
 *     shared = X25519(my secret, their public)
 *     okm    = HKDF-SHA256(ikm = shared, salt = "truco/1 peer",
 *                          info = lo.email | lo.key | hi.email | hi.key, 64)
 *     lo → hi = okm[0..32],  hi → lo = okm[32..64]
 *
 * where lo / hi order the two sides by (email, key) bytes and each email is
 * `str8` of its trimmed, lower-cased NFC form. Binding the emails means a key
 * published under one name cannot be passed off under another.
 *
 * The keys live as long as both logins, so a channel's send counter must
 * never restart while they do. `PeerKeyring` owns the channels for one login
 * and hands back the same one every time; drop the whole keyring at logout.
 */
import { hkdfSync } from 'node:crypto';
import { err, ok } from 'neverthrow';
import type { Result } from 'neverthrow';
import { KEY_SIZE } from '../wire/constants.ts';
import type { InvalidPublicKey, SamePeer } from './errors.ts';
import { dh, encodeKey } from './keys.ts';
import type { KeyPair } from './keys.ts';
import { createSession } from './session.ts';
import type { SessionCipher, SessionKeys } from './session.ts';

const LABEL = Buffer.from('truco/1 peer');

/** The form of an email that enters the key derivation. */
export function canonicalEmail(email: string): string {
  return email.normalize('NFC').trim().toLowerCase();
}

function identity(email: string, key: Uint8Array): Buffer {
  const e = Buffer.from(canonicalEmail(email), 'utf8').subarray(0, 255);
  return Buffer.concat([Uint8Array.of(e.length), e, key]);
}

/** Derives my send / receive keys toward one peer. */
export function derivePeerKeys(
  me: { keyPair: KeyPair; email: string },
  them: { publicKey: Uint8Array; email: string },
): Result<SessionKeys, InvalidPublicKey | SamePeer> {
  if (them.publicKey.length !== KEY_SIZE) return err({ type: 'InvalidPublicKey' });
  const mine = identity(me.email, me.keyPair.publicKey);
  const theirs = identity(them.email, them.publicKey);
  const order = Buffer.compare(mine, theirs);
  if (order === 0) return err({ type: 'SamePeer' });
  const shared = dh(me.keyPair.privateKey, them.publicKey);
  if (shared.isErr()) return err(shared.error);
  const [lo, hi] = order < 0 ? [mine, theirs] : [theirs, mine];
  const okm = Buffer.from(hkdfSync('sha256', shared.value, LABEL, Buffer.concat([lo, hi]), 2 * KEY_SIZE));
  shared.value.fill(0);
  const loToHi = okm.subarray(0, KEY_SIZE);
  const hiToLo = okm.subarray(KEY_SIZE);
  return ok(order < 0 ? { send: loToHi, recv: hiToLo } : { send: hiToLo, recv: loToHi });
}

/** The peer channels of one login, created once each and kept until logout. */
export class PeerKeyring {
  readonly keyPair: KeyPair;
  readonly email: string;
  private readonly channels = new Map<string, SessionCipher>();

  constructor(keyPair: KeyPair, email: string) {
    this.keyPair = keyPair;
    this.email = email;
  }

  get size(): number {
    return this.channels.size;
  }

  /** The channel to `email` holding `publicKey`, created on first use. */
  channel(email: string, publicKey: Uint8Array): Result<SessionCipher, InvalidPublicKey | SamePeer> {
    const id = `${encodeKey(publicKey)} ${canonicalEmail(email)}`;
    const known = this.channels.get(id);
    if (known !== undefined) return ok(known);
    return derivePeerKeys({ keyPair: this.keyPair, email: this.email }, { publicKey, email }).map((keys) => {
      const created = createSession(keys);
      this.channels.set(id, created);
      return created;
    });
  }
}
