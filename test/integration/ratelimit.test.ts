import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientPool, signUpOnline } from '../support/clients.ts';
import { startServer, type ServerProc } from '../support/server.ts';

let server: ServerProc;
const pool = new ClientPool(() => server);

beforeAll(async () => {
  server = await startServer({ interval: 200 });
});
afterAll(async () => {
  await pool.closeAll();
  await server.kill();
});

describe('login rate limit', () => {
  it('after 5 failures within a minute answers "try again in N s", even to the right password', async () => {
    const a = await pool.make();
    await signUpOnline(a, 'dora@example.com', 'dora password');
    await a.stop();
    const b = await pool.make();
    for (let i = 0; i < 5; i++) {
      b.logIn('dora@example.com', `wrong ${i} password`);
      const s = await b.waitFor((s) => s.matches('signedOut') && s.context.error !== null);
      expect(s.context.error?.reason).toBe('wrong_password');
    }
    b.logIn('dora@example.com', 'dora password');
    const s = await b.waitFor((s) => s.matches('signedOut') && s.context.error?.reason === 'rate_limited');
    expect(s.context.error?.retryAfterS).toBeGreaterThan(0);
    expect(s.context.error?.retryAfterS).toBeLessThanOrEqual(60);
  });
});
