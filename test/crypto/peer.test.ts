import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { PeerKeyring, derivePeerKeys } from '../../runtime/crypto/peer.ts';

const ana = { keyPair: generateKeyPair(), email: 'ana@example.com' };
const bia = { keyPair: generateKeyPair(), email: 'bia@example.com' };
const eve = { keyPair: generateKeyPair(), email: 'eve@example.com' };
const aad = Buffer.from('peer header');

describe('peer keys', () => {
  it('gives both peers complementary keys without a round trip', () => {
    const a = derivePeerKeys(ana, { publicKey: bia.keyPair.publicKey, email: bia.email })._unsafeUnwrap();
    const b = derivePeerKeys(bia, { publicKey: ana.keyPair.publicKey, email: ana.email })._unsafeUnwrap();
    expect(Buffer.compare(a.send, b.recv)).toBe(0);
    expect(Buffer.compare(a.recv, b.send)).toBe(0);
    expect(Buffer.compare(a.send, a.recv)).not.toBe(0);
  });

  it('binds the emails: a key passed off under another name yields keys that do not match', () => {
    const a = derivePeerKeys(ana, { publicKey: bia.keyPair.publicKey, email: 'carla@example.com' })._unsafeUnwrap();
    const b = derivePeerKeys(bia, { publicKey: ana.keyPair.publicKey, email: ana.email })._unsafeUnwrap();
    expect(Buffer.compare(a.send, b.recv)).not.toBe(0);
    // Case and surrounding spaces do not matter.
    const c = derivePeerKeys(ana, { publicKey: bia.keyPair.publicKey, email: ' BIA@Example.com ' })._unsafeUnwrap();
    expect(Buffer.compare(c.send, b.recv)).toBe(0);
  });

  it('refuses itself and low-order keys', () => {
    expect(derivePeerKeys(ana, { publicKey: ana.keyPair.publicKey, email: ana.email })._unsafeUnwrapErr()).toEqual({ type: 'SamePeer' });
    expect(derivePeerKeys(ana, { publicKey: Buffer.alloc(32), email: bia.email })._unsafeUnwrapErr()).toEqual({ type: 'InvalidPublicKey' });
    expect(derivePeerKeys(ana, { publicKey: Buffer.alloc(12), email: bia.email }).isErr()).toBe(true);
  });

  it('carries messages end to end that neither a third peer nor a reflection can open', () => {
    const ringA = new PeerKeyring(ana.keyPair, ana.email);
    const ringB = new PeerKeyring(bia.keyPair, bia.email);
    const ringE = new PeerKeyring(eve.keyPair, eve.email);
    const aToB = ringA.channel(bia.email, bia.keyPair.publicKey)._unsafeUnwrap();
    const bFromA = ringB.channel(ana.email, ana.keyPair.publicKey)._unsafeUnwrap();
    const eFromA = ringE.channel(ana.email, ana.keyPair.publicKey)._unsafeUnwrap();
    const n = aToB.tx.take()._unsafeUnwrap();
    const sealed = aToB.tx.seal(n, aad, Buffer.from('olá, Bia'));
    expect(Buffer.from(bFromA.rx.open(n, aad, sealed)._unsafeUnwrap()).toString()).toBe('olá, Bia');
    expect(eFromA.rx.open(n, aad, sealed).isErr()).toBe(true);
    expect(aToB.rx.open(n, aad, sealed).isErr()).toBe(true);
    expect(bFromA.rx.open(n, aad, sealed)._unsafeUnwrapErr()).toEqual({ type: 'Replayed' });
  });

  it('hands back the same channel for a peer, so counters never restart under one key', () => {
    const ring = new PeerKeyring(ana.keyPair, ana.email);
    const first = ring.channel(bia.email, bia.keyPair.publicKey)._unsafeUnwrap();
    expect(first.tx.take()._unsafeUnwrap()).toBe(1n);
    const again = ring.channel('Bia@example.com', bia.keyPair.publicKey)._unsafeUnwrap();
    expect(again).toBe(first);
    expect(again.tx.take()._unsafeUnwrap()).toBe(2n);
    // The peer logs in again with a new key: a new channel, counting from 1.
    const relogged = ring.channel(bia.email, generateKeyPair().publicKey)._unsafeUnwrap();
    expect(relogged).not.toBe(first);
    expect(relogged.tx.take()._unsafeUnwrap()).toBe(1n);
    expect(ring.size).toBe(2);
  });
});
