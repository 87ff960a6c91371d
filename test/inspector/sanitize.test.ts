import fc from 'fast-check';
import { createActor, createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { PersistentMap } from '../../machines/presence.ts';
import { isSecretKey, REDACTED, sanitize, sanitizeEvent } from '../../runtime/inspector/sanitize.ts';

const CANARY = 'CANARY-7f3a9c-do-not-leak';

describe('the sanitizer', () => {
  it('redacts secrets by key name, at any depth, in objects, arrays and maps', () => {
    const value = {
      type: 'LOGIN',
      email: 'ana@example.com',
      password: CANARY,
      nested: { deeper: [{ ticket: CANARY, token: CANARY, secret: CANARY }] },
      lines: [{ kind: 'message', id: 'm1', text: CANARY, state: 'pending' }],
      peerKey: CANARY,
      key: CANARY,
      privateKey: CANARY,
      byName: new Map<string, unknown>([
        ['password', CANARY],
        ['ok', 1],
      ]),
      members: PersistentMap.from([['ana@example.com', { email: 'ana@example.com', peerKey: new Uint8Array(32), note: 'fine' }]]),
    };
    const s = sanitize(value);
    const text = JSON.stringify(s);
    expect(text).not.toContain(CANARY);
    expect(s).toMatchObject({
      type: 'LOGIN',
      email: 'ana@example.com',
      password: REDACTED,
      nested: { deeper: [{ ticket: REDACTED, token: REDACTED, secret: REDACTED }] },
      lines: [{ kind: 'message', id: 'm1', text: REDACTED, state: 'pending' }],
      peerKey: REDACTED,
      key: REDACTED,
      privateKey: REDACTED,
      byName: { password: REDACTED, ok: 1 },
      members: { 'ana@example.com': { email: 'ana@example.com', peerKey: REDACTED, note: 'fine' } },
    });
  });

  it('turns byte arrays into their length, whatever their key', () => {
    const s = sanitize({ blob: new Uint8Array(32), buf: Buffer.from('hello'), ab: new ArrayBuffer(7), view: new DataView(new ArrayBuffer(3)), list: [new Uint16Array(4)] });
    expect(s).toEqual({ blob: '<32 bytes>', buf: '<5 bytes>', ab: '<7 bytes>', view: '<3 bytes>', list: ['<8 bytes>'] });
  });

  it('knows the secret names from the issue, case-insensitively', () => {
    for (const k of ['password', 'ticket', 'key', 'peerKey', 'secret', 'token', 'text', 'PASSWORD', 'serverKey', 'resumeTicket', 'accessToken', 'clientSecret'])
      expect(isSecretKey(k), k).toBe(true);
    for (const k of ['email', 'state', 'reason', 'type', 'id', 'address', 'version']) expect(isSecretKey(k), k).toBe(false);
  });

  it('is bounded: entries, depth and string length are capped; big maps are read lazily', () => {
    const big = PersistentMap.from(Array.from({ length: 20_000 }, (_, i) => [`u${i}@example.com`, { i }] as const));
    let t = performance.now();
    const s = sanitize({ members: big, list: Array.from({ length: 5000 }, (_, i) => i), long: 'x'.repeat(5000) }, { maxEntries: 10, maxString: 50 }) as Record<string, unknown>;
    t = performance.now() - t;
    expect(Object.keys(s.members as object)).toHaveLength(11);
    expect((s.members as Record<string, unknown>)['…']).toBe('19990 more');
    expect(s.list).toHaveLength(11);
    expect((s.list as unknown[])[10]).toBe('… 4990 more');
    expect(String(s.long)).toMatch(/^x{50}…\(\+4950 chars\)$/);
    // reading 20 000 entries would take far longer than reading 10
    expect(t).toBeLessThan(50);
    // nesting multiplies entries: the node budget bounds the whole result
    const wide = Array.from({ length: 50 }, () => Array.from({ length: 50 }, () => Array.from({ length: 50 }, (_, i) => ({ i }))));
    const bounded = JSON.stringify(sanitize(wide, { maxNodes: 500 }));
    expect(bounded.length).toBeLessThan(10_000);
    expect(bounded).toContain('… (truncated)');
    let deep: Record<string, unknown> = { end: true };
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(JSON.stringify(sanitize(deep, { maxDepth: 3 }))).toBe('{"d":{"d":{"d":"[…]"}}}');
  });

  it('survives cycles, actor refs, functions, bigints, errors, dates and throwing getters', () => {
    const cyclic: Record<string, unknown> = { name: 'c' };
    cyclic.self = cyclic;
    const actor = createActor(createMachine({ id: 'x' }));
    const throwing = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    const s = sanitize({ cyclic, actor, fn: function named() {}, big: 10n, err: new TypeError('bad'), when: new Date(0), throwing, nan: NaN, u: undefined });
    expect(s).toEqual({
      cyclic: { name: 'c', self: '[circular]' },
      actor: `[actor ${actor.id}]`,
      fn: '[function named]',
      big: '10n',
      err: { name: 'TypeError', message: 'bad' },
      when: '1970-01-01T00:00:00.000Z',
      throwing: { boom: '[unreadable]' },
      nan: 'NaN',
      u: null,
    });
    // a shared (not cyclic) object appears twice
    const shared = { a: 1 };
    expect(sanitize([shared, shared])).toEqual([{ a: 1 }, { a: 1 }]);
  });

  it('keeps an event its type', () => {
    expect(sanitizeEvent({ type: 'LOGIN', email: 'a@b.c', password: CANARY } as { type: string })).toEqual({ type: 'LOGIN', email: 'a@b.c', password: REDACTED });
  });

  it('never lets a canary under a secret name through, whatever the shape (property)', () => {
    const secretName = fc.constantFrom('password', 'ticket', 'key', 'peerKey', 'secret', 'token', 'text', 'Password', 'sessionToken');
    const leaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const tree = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), tie('node'), { maxKeys: 4 }),
        fc.tuple(secretName, tie('node')).map(([k, v]) => ({ [k]: { nested: v, value: CANARY } })),
        secretName.map((k) => ({ [k]: CANARY })),
        secretName.map((k) => new Map([[k, CANARY]])),
      ),
    })).node;
    fc.assert(
      fc.property(tree, (v) => {
        expect(JSON.stringify(sanitize(v))).not.toContain(CANARY);
      }),
      { numRuns: 300 },
    );
  });
});
