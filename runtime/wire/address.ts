/**
 * Address codec: `family u8 (4 | 6) | ip (4 or 16 bytes) | port u16`.
 *
 * IPv4 text is dotted decimal. IPv6 text is accepted in any form `net.isIPv6`
 * accepts (a `%zone` suffix is dropped: it names an interface of the sender's
 * host and means nothing elsewhere) and decoded to the text Node itself
 * reports for sockets (libuv's inet_ntop: lower case, longest run of two or
 * more zero groups as `::`, leftmost on a tie, `::a.b.c.d` and
 * `::ffff:a.b.c.d` for IPv4-compatible and IPv4-mapped addresses).
 */

import { isIPv4, isIPv6 } from 'node:net';
import type { Result } from 'neverthrow';
import { decodeWith, encodeWith, type Reader, type Writer } from './buffer.ts';
import type { WireError } from './errors.ts';
import type { Address } from './types.ts';

export const ADDRESS_V4_SIZE = 1 + 4 + 2;
export const ADDRESS_V6_SIZE = 1 + 16 + 2;

export function addressSize(address: Address): number {
  return address.family === 4 ? ADDRESS_V4_SIZE : ADDRESS_V6_SIZE;
}

/** Dotted IPv4 to 4 bytes, or null. */
export function parseIPv4(text: string): Uint8Array | null {
  if (!isIPv4(text)) return null;
  const parts = text.split('.');
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(parts[i]);
    if (!Number.isInteger(n) || n < 0 || n > 255) return null;
    out[i] = n;
  }
  return out;
}

export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0] ?? 0}.${bytes[1] ?? 0}.${bytes[2] ?? 0}.${bytes[3] ?? 0}`;
}

function parseGroups(part: string): number[] | null {
  if (part === '') return [];
  const groups: number[] = [];
  for (const piece of part.split(':')) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
    groups.push(parseInt(piece, 16));
  }
  return groups;
}

/** Any text `net.isIPv6` accepts to 16 bytes (zone dropped), or null. */
export function parseIPv6(text: string): Uint8Array | null {
  if (!isIPv6(text)) return null;
  const zone = text.indexOf('%');
  let body = zone >= 0 ? text.slice(0, zone) : text;

  // A trailing dotted IPv4 stands for the last two groups.
  let tail: number[] = [];
  const lastColon = body.lastIndexOf(':');
  if (body.indexOf('.', lastColon) >= 0) {
    const v4 = parseIPv4(body.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0)];
    body = body.slice(0, lastColon + 1);
    // keep a lone trailing ':' only when it belongs to '::'
    if (body.endsWith(':') && !body.endsWith('::')) body = body.slice(0, -1);
  }

  let groups: number[];
  const gap = body.indexOf('::');
  if (gap >= 0) {
    if (body.indexOf('::', gap + 1) >= 0) return null;
    const head = parseGroups(body.slice(0, gap));
    const rear = parseGroups(body.slice(gap + 2));
    if (head === null || rear === null) return null;
    const fill = 8 - head.length - rear.length - tail.length;
    if (fill < 1) return null;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rear, ...tail];
  } else {
    const all = parseGroups(body);
    if (all === null) return null;
    groups = [...all, ...tail];
  }
  if (groups.length !== 8) return null;

  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >>> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** 16 bytes to the text Node reports for sockets (see the file comment). */
export function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0));

  // Longest run of zero words (first one wins a tie); runs of one are not compressed.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;

  const embedsV4 = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff));
  const hexEnd = embedsV4 ? 6 : 8;

  let out = '';
  for (let i = 0; i < hexEnd; i++) {
    if (bestStart >= 0 && i >= bestStart && i < bestStart + bestLen) {
      if (i === bestStart) out += '::';
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += (words[i] ?? 0).toString(16);
  }
  if (embedsV4) {
    if (!out.endsWith(':')) out += ':';
    out += formatIPv4(bytes.subarray(12, 16));
  }
  return out;
}

/** The canonical text of an IPv4 or IPv6 host, or null if it is neither. */
export function normalizeHost(host: string): { family: 4 | 6; host: string } | null {
  const v4 = parseIPv4(host);
  if (v4 !== null) return { family: 4, host: formatIPv4(v4) };
  const v6 = parseIPv6(host);
  if (v6 !== null) return { family: 6, host: formatIPv6(v6) };
  return null;
}

export function writeAddress(w: Writer, address: Address): void {
  if (w.error !== null) return;
  if (typeof address !== 'object' || address === null || typeof address.host !== 'string') {
    w.fail('field', 'address');
    return;
  }
  const raw =
    address.family === 4 ? parseIPv4(address.host) : address.family === 6 ? parseIPv6(address.host) : null;
  if (raw === null) {
    w.fail('field', `address host ${JSON.stringify(address.host)} is not IPv${String(address.family)}`);
    return;
  }
  if (!Number.isInteger(address.port) || address.port < 1 || address.port > 0xffff) {
    w.fail('field', `address port ${String(address.port)}`);
    return;
  }
  w.u8(address.family);
  w.bytes(raw);
  w.u16(address.port, 'port');
}

export function readAddress(r: Reader): Address {
  const family = r.u8('address family');
  if (r.error !== null) return { family: 4, host: '0.0.0.0', port: 0 };
  if (family !== 4 && family !== 6) {
    r.fail('field', `address family ${family}`);
    return { family: 4, host: '0.0.0.0', port: 0 };
  }
  const ip = r.view(family === 4 ? 4 : 16, 'address ip');
  const port = r.u16('address port');
  if (r.error !== null) return { family: 4, host: '0.0.0.0', port: 0 };
  if (port === 0) r.fail('field', 'address port 0');
  return { family, host: family === 4 ? formatIPv4(ip) : formatIPv6(ip), port };
}

export function encodeAddress(address: Address): Result<Uint8Array, WireError> {
  return encodeWith(ADDRESS_V6_SIZE, (w) => writeAddress(w, address));
}

export function decodeAddress(bytes: Uint8Array): Result<Address, WireError> {
  return decodeWith(bytes, ADDRESS_V6_SIZE, readAddress);
}

/** Whether two addresses name the same endpoint (host compared in canonical form). */
export function sameAddress(a: Address, b: Address): boolean {
  if (a.family !== b.family || a.port !== b.port) return false;
  const x = normalizeHost(a.host);
  const y = normalizeHost(b.host);
  return x !== null && y !== null && x.host === y.host;
}

