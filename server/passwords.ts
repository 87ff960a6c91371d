/**
 * Password hashing at rest: scrypt with a 16-byte random salt.
 *
 * Hashing never runs on the event loop: a login must never stall the loop
 * that sends the liveness probes. It runs on low-priority threads of its own
 * (see `scryptAsync`). Each hash is stored with its parameters,
 * `scrypt$N$r$p$salt$hash` (standard base64), so they can be raised later
 * (see `needsRehash`).
 */

import crypto from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { err, ok, type Result } from 'neverthrow';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
  keyLen: number;
}

export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1, keyLen: 32 });
export const SALT_SIZE = 16;

export interface MalformedHash {
  type: 'MalformedHash';
  why: string;
}

/** Bounds on stored parameters, so a corrupt row cannot make a login allocate gigabytes. */
const LIMITS = { maxN: 2 ** 20, maxR: 32, maxP: 16, minSalt: 8, maxSalt: 64, minKey: 16, maxKey: 64 };

/**
 * The hashes run on threads of their own at a low CPU priority (nice 10; on Linux a thread's
 * nice value is its own), with `crypto.scryptSync` there. On the libuv pool they ran at the
 * event loop's priority: on a 2-core machine a hash took a core the probes needed, and password
 * logins delayed probes by hundreds of ms. At nice 10 the kernel lets the event loop preempt a
 * hash at once and gives it about ten times the hash's share when both want the CPU. (Not 19:
 * on a machine saturated by other work a nice-19 hash all but stops, and logins time out.)
 * Falls back to the libuv pool where worker threads cannot start.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
try { require('node:os').setPriority(0, 10); } catch {}
parentPort.on('message', (m) => {
  try {
    const key = scryptSync(m.password, m.salt, m.keyLen, { N: m.N, r: m.r, p: m.p, maxmem: m.maxmem });
    parentPort.postMessage({ id: m.id, key });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
  }
});
`;

interface Job {
  resolve: (key: Buffer) => void;
  reject: (e: Error) => void;
}

interface HashThread {
  worker: Worker;
  jobs: Map<number, Job>;
}

const MAX_THREADS = Math.max(1, Math.min(4, availableParallelism()));
const threads: HashThread[] = [];
let nextJob = 1;
let workersBroken = false;

function startThread(): HashThread | null {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
  } catch {
    workersBroken = true;
    return null;
  }
  const t: HashThread = { worker, jobs: new Map() };
  worker.unref();
  const fail = (e: Error) => {
    const i = threads.indexOf(t);
    if (i >= 0) threads.splice(i, 1);
    for (const job of t.jobs.values()) job.reject(e);
    t.jobs.clear();
  };
  worker.on('message', (m: { id: number; key?: Uint8Array; error?: string }) => {
    const job = t.jobs.get(m.id);
    if (!job) return;
    t.jobs.delete(m.id);
    if (t.jobs.size === 0) worker.unref();
    if (m.key) job.resolve(Buffer.from(m.key.buffer, m.key.byteOffset, m.key.length));
    else job.reject(new Error(m.error ?? 'scrypt failed'));
  });
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('hash thread exited')));
  threads.push(t);
  return t;
}

/** The least busy hash thread, starting one while there are fewer than the cores. */
function pickThread(): HashThread | null {
  let best: HashThread | null = null;
  for (const t of threads) if (!best || t.jobs.size < best.jobs.size) best = t;
  if ((!best || best.jobs.size > 0) && threads.length < MAX_THREADS && !workersBroken) return startThread() ?? best;
  return best;
}

function scryptAsync(password: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  const { N, r, p, keyLen } = params;
  // Node refuses when 128*N*r exceeds maxmem (32 MiB by default); leave room for both buffers.
  const maxmem = 256 * N * r + 128 * r * p + 1024 * 1024;
  const t = pickThread();
  if (!t) {
    return new Promise((resolve, reject) => {
      try {
        crypto.scrypt(password, salt, keyLen, { N, r, p, maxmem }, (e, key) => (e ? reject(e) : resolve(key)));
      } catch (e) {
        reject(e);
      }
    });
  }
  return new Promise((resolve, reject) => {
    const id = nextJob++;
    t.jobs.set(id, { resolve, reject });
    t.worker.ref();
    t.worker.postMessage({ id, password, salt: Uint8Array.from(salt), keyLen, N, r, p, maxmem });
  });
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = crypto.randomBytes(SALT_SIZE);
  const hash = await scryptAsync(password, salt, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

interface Parsed {
  params: ScryptParams;
  salt: Buffer;
  hash: Buffer;
}

const DECIMAL = /^[1-9][0-9]{0,9}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decodeBase64(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

export function parseHash(encoded: string): Result<Parsed, MalformedHash> {
  const bad = (why: string): Result<Parsed, MalformedHash> => err({ type: 'MalformedHash', why });
  if (typeof encoded !== 'string') return bad('not a string');
  const parts = encoded.split('$');
  if (parts.length !== 6) return bad('expected scrypt$N$r$p$salt$hash');
  const [scheme, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  if (scheme !== 'scrypt') return bad(`unknown scheme ${JSON.stringify(scheme.slice(0, 16))}`);
  if (!DECIMAL.test(nText) || !DECIMAL.test(rText) || !DECIMAL.test(pText)) return bad('parameters are not numbers');
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  if (N < 2 || N > LIMITS.maxN || (N & (N - 1)) !== 0) return bad('N must be a power of two up to 2^20');
  if (r > LIMITS.maxR || p > LIMITS.maxP) return bad('r or p out of range');
  const salt = decodeBase64(saltText);
  const hash = decodeBase64(hashText);
  if (!salt || salt.length < LIMITS.minSalt || salt.length > LIMITS.maxSalt) return bad('bad salt');
  if (!hash || hash.length < LIMITS.minKey || hash.length > LIMITS.maxKey) return bad('bad hash');
  return ok({ params: { N, r, p, keyLen: hash.length }, salt, hash });
}

export async function verifyPassword(password: string, encoded: string): Promise<Result<boolean, MalformedHash>> {
  const parsed = parseHash(encoded);
  if (parsed.isErr()) return err(parsed.error);
  const { params, salt, hash } = parsed.value;
  let candidate: Buffer;
  try {
    candidate = await scryptAsync(password, salt, params);
  } catch {
    return err({ type: 'MalformedHash', why: 'scrypt refused the stored parameters' });
  }
  return ok(crypto.timingSafeEqual(candidate, hash));
}

/** True when the stored hash is malformed or was made with other parameters than `params`. */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = parseHash(encoded);
  if (parsed.isErr()) return true;
  const have = parsed.value.params;
  return (
    have.N !== params.N ||
    have.r !== params.r ||
    have.p !== params.p ||
    have.keyLen !== params.keyLen ||
    parsed.value.salt.length < SALT_SIZE
  );
}
