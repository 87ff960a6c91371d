import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatClient } from '../../runtime/client.ts';
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

/** The error the session machine settles on after an attempt. */
async function attempt(c: ChatClient, kind: 'signup' | 'login', email: string, password: string) {
  if (kind === 'signup') c.signUp(email, password);
  else c.logIn(email, password);
  const s = await c.waitFor((s) => s.matches('online') || (s.matches('signedOut') && s.context.error !== null));
  return s.matches('online') ? 'online' : s.context.error;
}

describe('accounts over real UDP (the original answers, in words)', () => {
  it('refuses a taken email (case-insensitively), a bad email and a weak password', async () => {
    const a = await pool.make();
    await signUpOnline(a, 'Taken@Example.com', 'first password');
    const b = await pool.make();
    expect(await attempt(b, 'signup', 'taken@example.com', 'other password')).toEqual({ reason: 'email_taken' });
    expect(await attempt(b, 'signup', 'not-an-email', 'other password')).toEqual({ reason: 'invalid_email' });
    expect(await attempt(b, 'signup', 'ok@example.com', 'short')).toEqual({ reason: 'weak_password' });
    expect(b.getSnapshot().matches('signedOut')).toBe(true);
  });

  it('tells an unknown email from a wrong password, and logs in with the right one', async () => {
    const a = await pool.make();
    await signUpOnline(a, 'carla@example.com', 'carla password');
    await a.stop();
    const b = await pool.make();
    expect(await attempt(b, 'login', 'nobody@example.com', 'whatever pw')).toEqual({ reason: 'unknown_email' });
    expect(await attempt(b, 'login', 'carla@example.com', 'not her password')).toEqual({ reason: 'wrong_password' });
    expect(await attempt(b, 'login', 'CARLA@example.com', 'carla password')).toBe('online');
  });
});
