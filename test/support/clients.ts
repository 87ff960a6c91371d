/** In-process headless clients against a test server, closed after the file. */
import { createChatClient, type ChatClient } from '../../runtime/client.ts';
import { tempDir } from './server.ts';

export class ClientPool {
  private readonly all: ChatClient[] = [];
  constructor(private readonly server: () => { host: string; port: number }) {}

  async make(opts: { dataDir?: string; port?: number } = {}): Promise<ChatClient> {
    const s = this.server();
    const c = await createChatClient({ server: { host: s.host, port: opts.port ?? s.port }, dataDir: opts.dataDir ?? tempDir('truco-client-') });
    this.all.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.map((c) => c.stop()));
  }
}

export const inRoster = (c: ChatClient, email: string) => c.getSnapshot().context.roster.members.has(email);

/** Signs up (which also logs in) and waits until online. */
export async function signUpOnline(c: ChatClient, email: string, password = 'a good password'): Promise<void> {
  c.signUp(email, password);
  await c.waitFor((s) => s.matches('online'));
}
