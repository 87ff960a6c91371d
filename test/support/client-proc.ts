/**
 * A headless client in its own process, driven by JSON lines on stdin, for
 * tests that need a real process to stop or kill. Commands:
 *   {"cmd":"signup"|"login","email","password"}  {"cmd":"logout"}  {"cmd":"exit"}
 * It prints one JSON line per snapshot change: {"state","email","sid","roster":[...],"kick","error"}.
 * argv: HOST PORT DATADIR
 */
import { createInterface } from 'node:readline';
import { createChatClient } from '../../runtime/client.ts';

const [host, port, dataDir] = process.argv.slice(2);
const client = await createChatClient({ server: { host: host ?? '127.0.0.1', port: Number(port) }, dataDir: dataDir ?? '.' });

let last = '';
client.subscribe((s) => {
  const line = JSON.stringify({
    state: typeof s.value === 'string' ? s.value : Object.keys(s.value)[0],
    email: s.context.email,
    sid: s.context.session?.sid ?? null,
    roster: [...s.context.roster.members.keys()].sort(),
    kick: s.context.kickReason,
    error: s.context.error?.reason ?? null,
  });
  if (line !== last) {
    last = line;
    process.stdout.write(line + '\n');
  }
});

process.stdout.write(JSON.stringify({ ready: true, port: client.address.port }) + '\n');

const rl = createInterface({ input: process.stdin });
rl.on('line', (text) => {
  let cmd: { cmd: string; email?: string; password?: string };
  try {
    cmd = JSON.parse(text);
  } catch {
    return;
  }
  if (cmd.cmd === 'signup') client.signUp(cmd.email ?? '', cmd.password ?? '');
  else if (cmd.cmd === 'login') client.logIn(cmd.email ?? '', cmd.password ?? '');
  else if (cmd.cmd === 'logout') client.logOut();
  else if (cmd.cmd === 'exit') void client.stop().then(() => process.exit(0));
});
