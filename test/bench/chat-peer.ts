/**
 * The far end of the messaging bench: one real headless client (runtime/client.ts) in its own
 * process, as the other person's machine would be. It signs up or logs in, stays online and lets
 * its delivery engine acknowledge whatever arrives. IPC: {cmd:'start', host, port, email,
 * password, dataDir} → {} once online; {cmd:'cpu'} → {us}: this process's CPU time so far (user +
 * system, µs), for the bench's CPU per message.
 */
import { createChatClient, type ChatClient } from '../../runtime/client.ts';
import { serveRequests } from './lib.ts';

let client: ChatClient | null = null;

serveRequests(async (m) => {
  switch (m.cmd) {
    case 'start': {
      client = await createChatClient({ server: { host: String(m.host), port: Number(m.port) }, dataDir: String(m.dataDir) });
      // nothing else to do: its delivery engine acknowledges what arrives
      client.signUp(String(m.email), String(m.password));
      await client.waitFor((s) => s.matches('online'), 30_000);
      return {};
    }
    case 'cpu': {
      const u = process.cpuUsage();
      return { us: u.user + u.system };
    }
    default:
      throw new Error(`unknown command ${String(m.cmd)}`);
  }
});
