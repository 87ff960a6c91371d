/**
 * What the inspector may show of a context, an event or an actor's input: a bounded, JSON-safe
 * copy with every secret taken out.
 *
 * - By key name (case-insensitive): password, ticket, key, peerKey, secret, token, text (and
 *   close relatives: any name ending in "key"/"keys", containing "password", "secret", "token"
 *   or "ticket", and the chat-body names body, content, plaintext) → `"[redacted]"`.
 * - Byte arrays (Uint8Array, Buffer, any typed array, ArrayBuffer, DataView) → `"<N bytes>"`.
 * - Bounded: at most `maxDepth` levels, `maxEntries` entries per object/array/map (the rest is
 *   summarised as `"…": "N more"`), `maxNodes` values in all, strings cut at `maxString`
 *   characters. Maps and map-likes
 *   (such as the presence PersistentMap) are read lazily, so a 10 000-member list costs
 *   `maxEntries` steps, not 10 000.
 * - Actor references become `"[actor ID]"`, functions `"[function NAME]"`, cycles `"[circular]"`,
 *   bigints strings, errors `{ name, message }`.
 *
 * It never throws: a getter that throws is shown as `"[unreadable]"`.
 */

const SECRET_NAMES = new Set([
  'password', 'passwd', 'passphrase', 'ticket', 'key', 'keys', 'peerkey', 'secret', 'token', 'text',
  'body', 'content', 'plaintext', 'cipher', 'split', 'cs', 'sc', 'psk', 'salt', 'hash',
]);

/** Is a property of this name secret by its name alone? */
export function isSecretKey(name: string): boolean {
  const k = name.toLowerCase();
  if (SECRET_NAMES.has(k)) return true;
  if (k.endsWith('key') || k.endsWith('keys')) return true;
  return k.includes('password') || k.includes('secret') || k.includes('token') || k.includes('ticket');
}

export const REDACTED = '[redacted]';

export interface SanitizeOptions {
  maxDepth?: number;
  maxEntries?: number;
  maxString?: number;
  /** values in the whole result, nested ones included (bounds the size of any output) */
  maxNodes?: number;
}

const DEFAULTS: Required<SanitizeOptions> = { maxDepth: 8, maxEntries: 50, maxString: 200, maxNodes: 1500 };
const TRUNCATED = '… (truncated)';

export type Sanitized = null | boolean | number | string | Sanitized[] | { [k: string]: Sanitized };

function byteLength(v: unknown): number | null {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (typeof SharedArrayBuffer !== 'undefined' && v instanceof SharedArrayBuffer) return v.byteLength;
  return null;
}

function isActorRef(v: object): v is { id: string; sessionId: string } {
  const a = v as { sessionId?: unknown; send?: unknown; getSnapshot?: unknown };
  return typeof a.sessionId === 'string' && typeof a.send === 'function' && typeof a.getSnapshot === 'function';
}

/** A ReadonlyMap-like value (Map, PersistentMap): has `size` and `entries()`. */
function isMapLike(v: object): v is { size: number; entries(): Iterable<[unknown, unknown]> } {
  if (v instanceof Map) return true;
  const m = v as { size?: unknown; entries?: unknown; get?: unknown };
  return typeof m.size === 'number' && typeof m.entries === 'function' && typeof m.get === 'function';
}

export function sanitize(value: unknown, options: SanitizeOptions = {}): Sanitized {
  const o = { ...DEFAULTS, ...options };
  const seen = new Set<object>();
  let budget = o.maxNodes;

  const str = (s: string): string => (s.length > o.maxString ? `${s.slice(0, o.maxString)}…(+${s.length - o.maxString} chars)` : s);

  const visit = (v: unknown, depth: number): Sanitized => {
    budget--;
    switch (typeof v) {
      case 'string':
        return str(v);
      case 'number':
        return Number.isFinite(v) ? v : String(v);
      case 'boolean':
        return v;
      case 'undefined':
        return null;
      case 'bigint':
        return `${v}n`;
      case 'symbol':
        return str(v.toString());
      case 'function':
        return `[function ${v.name || 'anonymous'}]`;
      default:
        break;
    }
    if (v === null) return null;
    const obj = v as object;
    const bytes = byteLength(obj);
    if (bytes !== null) return `<${bytes} bytes>`;
    if (seen.has(obj)) return '[circular]';
    if (isActorRef(obj)) return `[actor ${obj.id}]`;
    if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
    if (obj instanceof RegExp) return str(obj.toString());
    if (obj instanceof Error) return { name: obj.name, message: str(obj.message) };
    if (depth >= o.maxDepth) return '[…]';
    seen.add(obj);
    try {
      if (Array.isArray(obj) || obj instanceof Set) {
        const out: Sanitized[] = [];
        let n = 0;
        const total = Array.isArray(obj) ? obj.length : obj.size;
        for (const item of obj as Iterable<unknown>) {
          if (n++ >= o.maxEntries) break;
          if (budget <= 0) {
            out.push(TRUNCATED);
            return out;
          }
          out.push(visit(item, depth + 1));
        }
        if (total > o.maxEntries) out.push(`… ${total - o.maxEntries} more`);
        return out;
      }
      if (isMapLike(obj)) {
        const out: { [k: string]: Sanitized } = {};
        let n = 0;
        for (const [k, item] of obj.entries()) {
          if (n++ >= o.maxEntries) break;
          if (budget <= 0) {
            out['…'] = TRUNCATED;
            return out;
          }
          const key = typeof k === 'string' ? k : str(String(visit(k, o.maxDepth)));
          out[key] = isSecretKey(key) ? REDACTED : visit(item, depth + 1);
        }
        if (obj.size > o.maxEntries) out['…'] = `${obj.size - o.maxEntries} more`;
        return out;
      }
      const out: { [k: string]: Sanitized } = {};
      const keys = Object.keys(obj);
      let n = 0;
      for (const k of keys) {
        if (n++ >= o.maxEntries) break;
        if (budget <= 0) {
          out['…'] = TRUNCATED;
          return out;
        }
        if (isSecretKey(k)) {
          out[k] = REDACTED;
          continue;
        }
        let item: unknown;
        try {
          item = (obj as Record<string, unknown>)[k];
        } catch {
          out[k] = '[unreadable]';
          continue;
        }
        out[k] = visit(item, depth + 1);
      }
      if (keys.length > o.maxEntries) out['…'] = `${keys.length - o.maxEntries} more`;
      return out;
    } finally {
      seen.delete(obj);
    }
  };

  try {
    return visit(value, 0);
  } catch {
    return '[unreadable]';
  }
}

/** An event as the inspector shows it: `type` kept, everything else sanitized. */
export function sanitizeEvent(event: { type: string }, options?: SanitizeOptions): { type: string; [k: string]: Sanitized } {
  const s = sanitize(event, options);
  const rest = typeof s === 'object' && s !== null && !Array.isArray(s) ? s : {};
  return { ...rest, type: String(event.type) };
}
