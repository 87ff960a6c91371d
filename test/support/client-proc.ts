/**
 * A headless client in its own process, driven by JSON lines on stdin, for
 * tests that need a real process to stop or kill. Commands:
 *   {"cmd":"signup"|"login","email","password"}  {"cmd":"logout"}  {"cmd":"exit"}
 *   {"cmd":"open","peer"}  {"cmd":"send","peer","text"}  {"cmd":"retry","peer","id"}
 * It prints one JSON line per change: {"state","email","sid","roster":[...],"kick","error",
 * "convs":{peer:{connected,canSend,reason,lines:[{kind,id,direction?,text?,state?,event?}]}},
 * "sent":[{id|error}]} — `sent` lists the result of every send/retry command in order.
 * argv: HOST PORT DATADIR
 */
import { createInterface } from 'node:readline';
import { createChatClient, type ConversationView } from '../../runtime/client.ts';

const [host, port, dataDir] = process.argv.slice(2);
const client = await createChatClient({ server: { host: host ?? '127.0.0.1', port: Number(port) }, dataDir: dataDir ?? '.' });

const sent: Array<{ id?: string; error?: string }> = [];
let last = '';
function print(): void {
  const s = client.getSnapshot();
  const convs: Record<string, Omit<ConversationView, 'peer' | 'unread'>> = {};
  for (const [peer, v] of client.conversations()) convs[peer] = { connected: v.connected, canSend: v.canSend, reason: v.reason, lines: v.lines };
  const line = JSON.stringify({
    state: typeof s.value === 'string' ? s.value : Object.keys(s.value)[0],
    email: s.context.email,
    sid: s.context.session?.sid ?? null,
    roster: [...s.context.roster.members.keys()].sort(),
    kick: s.context.kickReason,
    error: s.context.error?.reason ?? null,
    convs,
    sent,
  });
  if (line !== last) {
    last = line;
    process.stdout.write(line + '\n');
  }
}
client.subscribe(print);
client.subscribeConversations(print);

process.stdout.write(JSON.stringify({ ready: true, port: client.address.port }) + '\n');

const rl = createInterface({ input: process.stdin });
rl.on('line', (text) => {
  let cmd: { cmd: string; email?: string; password?: string; peer?: string; text?: string; id?: string };
  try {
    cmd = JSON.parse(text);
  } catch {
    return;
  }
  if (cmd.cmd === 'signup') client.signUp(cmd.email ?? '', cmd.password ?? '');
  else if (cmd.cmd === 'login') client.logIn(cmd.email ?? '', cmd.password ?? '');
  else if (cmd.cmd === 'logout') client.logOut();
  else if (cmd.cmd === 'open') client.openConversation(cmd.peer ?? '');
  else if (cmd.cmd === 'send') {
    const r = client.send(cmd.peer ?? '', cmd.text ?? '');
    sent.push(r.isOk() ? { id: r.value } : { error: r.error.reason });
    print();
  } else if (cmd.cmd === 'retry') {
    const r = client.retry(cmd.peer ?? '', cmd.id ?? '');
    sent.push(r.isOk() ? { id: cmd.id ?? '' } : { error: r.error.reason });
    print();
  } else if (cmd.cmd === 'exit') void client.stop().then(() => process.exit(0));
});
