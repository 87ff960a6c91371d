import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../runtime/crypto/keys.ts';
import { holdToken, resetKeyOf, resetToken, sameToken } from '../../runtime/crypto/reset.ts';

describe('stateless reset tokens (STALE, PROTOCOL.md §2.6)', () => {
  const server = generateKeyPair();
  const key = resetKeyOf(server);

  it('are 16 bytes, the same for the same server key and session (a restart can remake them)', () => {
    const t = resetToken(key, 0xdeadbeef);
    expect(t).toHaveLength(16);
    expect(sameToken(t, resetToken(resetKeyOf(server), 0xdeadbeef))).toBe(true);
  });

  it('differ per session and per server key', () => {
    const t = resetToken(key, 1);
    expect(sameToken(t, resetToken(key, 2))).toBe(false);
    expect(sameToken(t, resetToken(resetKeyOf(generateKeyPair()), 1))).toBe(false);
    // the reset key is not the private key itself
    expect(Buffer.from(key).equals(Buffer.from(server.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url'))).toBe(false);
  });

  it('compare safely, whatever the lengths', () => {
    const t = resetToken(key, 7);
    expect(sameToken(t, t.subarray(0, 15))).toBe(false);
    expect(sameToken(t, new Uint8Array(16))).toBe(false);
    expect(sameToken(t, Uint8Array.from(t))).toBe(true);
  });

  it('give each session a HOLD token that does not reveal its reset token (PROTOCOL.md §2.7)', () => {
    const t = resetToken(key, 7);
    const h = holdToken(t);
    expect(h).toHaveLength(16);
    expect(sameToken(h, holdToken(resetToken(resetKeyOf(server), 7)))).toBe(true);
    expect(sameToken(h, t)).toBe(false);
    expect(sameToken(h, holdToken(resetToken(key, 8)))).toBe(false);
  });
});
