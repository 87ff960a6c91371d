/**
 * Packet capture on the namespace's loopback with the real tcpdump (`tcpdump -i lo -w FILE`),
 * and a small reader for the classic pcap format that yields the UDP datagrams with ports.
 */
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from './netns.ts';
import { sleep, waitExit } from './procs.ts';

export interface Datagram {
  /** capture time, ms since the epoch */
  t: number;
  src: number;
  dst: number;
  payload: Buffer;
}

export interface Capture {
  file: string;
  proc: ChildProcess;
  /** stops tcpdump (SIGINT, so it flushes) and returns its summary line */
  stop(): Promise<string>;
}

/** `filter` is a tcpdump (BPF) expression, applied in the kernel. */
export async function startCapture(ns: Netns, file: string, filter = 'udp'): Promise<Capture> {
  const proc = ns.spawn('tcpdump', ['-i', 'lo', '-n', '-U', '--immediate-mode', '-s', '0', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const end = Date.now() + 10_000;
  while (!/listening on/.test(text)) {
    if (proc.exitCode !== null) throw new Error(`tcpdump exited: ${text}`);
    if (Date.now() > end) throw new Error(`tcpdump did not start: ${text}`);
    await sleep(20);
  }
  return {
    file,
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      await waitExit(proc);
      return text.trim().split('\n').slice(-3).join('; ');
    },
  };
}

/** The UDP datagrams in a pcap file (Ethernet or Linux cooked link layer, IPv4). */
export function readPcap(file: string): Datagram[] {
  const buf = readFileSync(file);
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const link = u32(20);
  const out: Datagram[] = [];
  let o = 24;
  while (o + 16 <= buf.length) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const start = o + 16;
    o = start + incl;
    if (o > buf.length) break;
    let ip: number;
    if (link === 1) {
      if (buf.readUInt16BE(start + 12) !== 0x0800) continue;
      ip = start + 14;
    } else if (link === 113) {
      if (buf.readUInt16BE(start + 14) !== 0x0800) continue;
      ip = start + 16;
    } else if (link === 0) {
      ip = start + 4;
    } else {
      continue;
    }
    if ((buf[ip]! >> 4) !== 4 || buf[ip + 9] !== 17) continue;
    const ihl = (buf[ip]! & 0x0f) * 4;
    const udp = ip + ihl;
    const len = buf.readUInt16BE(udp + 4);
    out.push({
      t: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3),
      src: buf.readUInt16BE(udp),
      dst: buf.readUInt16BE(udp + 2),
      payload: Buffer.from(buf.subarray(udp + 8, Math.min(udp + len, o))),
    });
  }
  return out;
}
