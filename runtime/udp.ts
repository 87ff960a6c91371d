/**
 * The UDP adapter: one `node:dgram` socket per process. It turns datagrams into
 * calls of a single handler and sends bytes to an Address; nothing else.
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIP, isIPv6 } from 'node:net';
import type { Address } from './wire/types.ts';

export type Handler = (bytes: Buffer, from: Address) => void;

export interface Udp {
  readonly address: Address;
  send(bytes: Uint8Array, to: Address): void;
  onMessage(handler: Handler): void;
  close(): Promise<void>;
  /** bytes and datagrams sent and received, for benches and tests */
  readonly stats: { sent: number; sentBytes: number; received: number; receivedBytes: number; sendErrors: number };
}

export function toAddress(host: string, port: number): Address {
  return { family: isIPv6(host) ? 6 : 4, host, port };
}

export function formatAddress(a: Address): string {
  return a.family === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.port === b.port && a.host === b.host;
}

/**
 * node:dgram resolves the destination of every send through `dns.lookup`, which for an IP
 * literal costs a regular-expression test and a `process.nextTick` per datagram (10 % of the
 * server's CPU at 5 000 clients). Addresses here are IP literals (they come from rinfo or from
 * validated configuration), so they are answered at once, with the family remembered in a small
 * bounded table; anything else still goes to the resolver.
 */
const families = new Map<string, number>();
function fastLookup(host: string, options: unknown, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  let family = families.get(host);
  if (family === undefined) {
    family = isIP(host);
    if (family !== 0) {
      if (families.size >= 4096) families.clear();
      families.set(host, family);
    }
  }
  if (family !== 0) return callback(null, host, family);
  dnsLookup(host, options as number, callback);
}

/** Bind a socket; `port: 0` picks an ephemeral port so many clients share a host. */
export function bindUdp(opts: { host: string; port: number; recvBufferSize?: number; sendBufferSize?: number }): Promise<Udp> {
  const type = isIPv6(opts.host) ? 'udp6' : 'udp4';
  const socket = dgram.createSocket({ type, reuseAddr: false, lookup: fastLookup as unknown as dgram.SocketOptions['lookup'] });
  const stats = { sent: 0, sentBytes: 0, received: 0, receivedBytes: 0, sendErrors: 0 };
  let handler: Handler = () => {};
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    socket.once('error', onError);
    socket.bind(opts.port, opts.host, () => {
      socket.off('error', onError);
      // A send error (e.g. ICMP unreachable reported on Linux) must never crash the process.
      socket.on('error', () => { stats.sendErrors++; });
      if (opts.recvBufferSize) try { socket.setRecvBufferSize(opts.recvBufferSize); } catch { /* best effort */ }
      if (opts.sendBufferSize) try { socket.setSendBufferSize(opts.sendBufferSize); } catch { /* best effort */ }
      const bound = socket.address();
      const address = toAddress(bound.address, bound.port);
      socket.on('message', (msg, rinfo) => {
        stats.received++;
        stats.receivedBytes += msg.length;
        handler(msg, { family: rinfo.family === 'IPv6' ? 6 : 4, host: rinfo.address, port: rinfo.port });
      });
      let closed = false;
      resolve({
        address,
        stats,
        send(bytes, to) {
          if (closed) return;
          stats.sent++;
          stats.sentBytes += bytes.length;
          // No callback: with one, node:dgram schedules a process.nextTick per datagram even when
          // the kernel took it at once. A send refused on the spot is dropped silently (UDP is
          // best effort anyway); an asynchronous failure is an 'error' event, counted above.
          socket.send(bytes, to.port, to.host);
        },
        onMessage(h) { handler = h; },
        close() {
          if (closed) return Promise.resolve();
          closed = true;
          return new Promise<void>((r) => socket.close(() => r()));
        },
      });
    });
  });
}
