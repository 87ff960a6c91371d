import { isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAddress,
  encodeAddress,
  formatIPv6,
  normalizeHost,
  parseIPv6,
  sameAddress,
} from '../../runtime/wire/address.ts';
import { address, bytesToFullIPv6, ipv6Bytes, nodeCanonical, port } from './arb.ts';

describe('address codec', () => {
  it('round-trips IPv4 and IPv6 addresses in canonical text', () => {
    fc.assert(
      fc.property(address, (a) => {
        const bytes = encodeAddress(a)._unsafeUnwrap();
        expect(bytes.length).toBe(a.family === 4 ? 7 : 19);
        expect(decodeAddress(bytes)._unsafeUnwrap()).toEqual(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('formats IPv6 exactly as Node reports socket addresses', () => {
    fc.assert(
      fc.property(ipv6Bytes, (raw) => {
        expect(formatIPv6(raw)).toBe(nodeCanonical(bytesToFullIPv6(raw), 6));
        expect(parseIPv6(formatIPv6(raw))).toEqual(raw);
      }),
      { numRuns: 5000 },
    );
  });

  it('accepts every IPv6 text form net.isIPv6 accepts and normalizes it', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.boolean(), port, (text, upper, p) => {
        const host = upper ? text.toUpperCase() : text;
        expect(isIPv6(host)).toBe(true);
        const decoded = decodeAddress(encodeAddress({ family: 6, host, port: p })._unsafeUnwrap())._unsafeUnwrap();
        expect(decoded.host).toBe(nodeCanonical(text, 6));
      }),
      { numRuns: 3000 },
    );
  });

  it('handles the special IPv6 shapes like Node', () => {
    for (const text of [
      '::',
      '::1',
      '::2',
      '1::',
      '::ffff:1.2.3.4',
      '::FFFF:0:0',
      '::1.2.3.4',
      '::1:0',
      '::100',
      '1:0:0:1:0:0:0:1',
      '1:0:0:1:0:0:1:1',
      '0:0:0:0:0:1:0:0',
      'fe80:0000:0000:0000:0204:61ff:fe9d:f156',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:1.2.3.4',
    ]) {
      expect(normalizeHost(text)).toEqual({ family: 6, host: nodeCanonical(text, 6) });
    }
  });

  it('drops an IPv6 zone id', () => {
    const decoded = decodeAddress(encodeAddress({ family: 6, host: 'fe80::1%eth0', port: 9 })._unsafeUnwrap());
    expect(decoded._unsafeUnwrap()).toEqual({ family: 6, host: 'fe80::1', port: 9 });
  });

  it('rejects bad hosts, families and ports on encode', () => {
    expect(encodeAddress({ family: 4, host: '::1', port: 1 })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAddress({ family: 6, host: '1.2.3.4', port: 1 })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAddress({ family: 4, host: 'localhost', port: 1 })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAddress({ family: 4, host: '01.2.3.4', port: 1 })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAddress({ family: 4, host: '1.2.3.4', port: 0 })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAddress({ family: 4, host: '1.2.3.4', port: 65536 })._unsafeUnwrapErr().reason).toBe('field');
    expect(encodeAddress({ family: 5 as 4, host: '1.2.3.4', port: 1 })._unsafeUnwrapErr().reason).toBe('field');
  });

  it('rejects bad families, port 0, truncation and trailing bytes on decode', () => {
    expect(decodeAddress(Uint8Array.of(5, 1, 2, 3, 4, 0, 1))._unsafeUnwrapErr().reason).toBe('field');
    expect(decodeAddress(Uint8Array.of(4, 1, 2, 3, 4, 0, 0))._unsafeUnwrapErr().reason).toBe('field');
    expect(decodeAddress(Uint8Array.of(4, 1, 2, 3, 4, 0))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(decodeAddress(Uint8Array.of(6, 1, 2, 3, 4, 0, 1))._unsafeUnwrapErr().reason).toBe('truncated');
    expect(decodeAddress(Uint8Array.of(4, 1, 2, 3, 4, 0, 1, 0))._unsafeUnwrapErr().reason).toBe('trailing');
    expect(decodeAddress(Uint8Array.of(4, 10, 0, 0, 1, 0x1f, 0x90))._unsafeUnwrap()).toEqual({
      family: 4,
      host: '10.0.0.1',
      port: 8080,
    });
  });

  it('compares addresses by canonical host', () => {
    expect(sameAddress({ family: 6, host: '::FFFF:1.2.3.4', port: 5 }, { family: 6, host: '::ffff:102:304', port: 5 })).toBe(true);
    expect(sameAddress({ family: 6, host: '::1', port: 5 }, { family: 6, host: '::1', port: 6 })).toBe(false);
    expect(sameAddress({ family: 4, host: '1.2.3.4', port: 5 }, { family: 6, host: '::ffff:1.2.3.4', port: 5 })).toBe(false);
  });
});
