/**
 * Secrets on the wire and at rest. A scripted session with a canary password and canary chat
 * text (sign-up, logout, login, a wrong password, chat both ways including a 3-fragment
 * message, a server restart with ticket resumption, more chat, logout), captured with tcpdump
 * on the namespace's loopback. Neither canary may appear, in any common encoding, in the
 * capture, the server's database files, the server's logs (at debug level) or the clients'
 * logs and files. Positive controls prove each search would have found them: a marker sent in
 * clear shows in the capture, and the chat canary shows in the client's own local history.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { record } from './lib/figures.ts';
import { Netns } from './lib/netns.ts';
import { readPcap, startCapture } from './lib/pcap.ts';
import { Farm, sleep, startServerIn, tempDir, until, type ServerInNs } from './lib/procs.ts';

let ns: Netns;
let dir: string;

beforeAll(async () => {
  ns = await Netns.create();
  dir = tempDir();
});
afterAll(async () => {
  await ns?.close();
});

/** The forms a secret could take in a file or a datagram. */
function needles(secret: string): Array<[string, Buffer]> {
  const utf8 = Buffer.from(secret, 'utf8');
  return [
    ['utf-8', utf8],
    ['utf-16le', Buffer.from(secret, 'utf16le')],
    ['base64', Buffer.from(utf8.toString('base64').replace(/=+$/, ''))],
    ['base64url', Buffer.from(utf8.toString('base64url'))],
    ['hex', Buffer.from(utf8.toString('hex'))],
  ];
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Where (which haystack, which encoding) any of the secrets occur. */
function findings(haystacks: Array<[string, Buffer]>, secrets: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [what, secret] of Object.entries(secrets)) {
    for (const [enc, needle] of needles(secret)) {
      for (const [where, hay] of haystacks) if (hay.includes(needle)) found.push(`${what} (${enc}) in ${where}`);
    }
  }
  return found;
}

describe('secrets on the wire and at rest', () => {
  it('a canary password and canary chat text never appear in the capture, the database or any log', async () => {
    const password = `Canary-Pw-${randomBytes(6).toString('hex')}`;
    const chat = `canary-chat-${randomBytes(6).toString('hex')}`;
    const marker = `clear-marker-${randomBytes(6).toString('hex')}`;
    const capture = await startCapture(ns, join(dir, 'session.pcap'));
    let server: ServerInNs = await startServerIn(ns, { dir: join(dir, 'server'), logLevel: 'debug' });
    const farm = await Farm.start(ns, server, join(dir, 'clients'), 'farm', true, { TRUCO_FARM_LOG: 'debug' });
    const A = farm.add('A', 'ana@secrets.test', password, true, true);
    const B = farm.add('B', 'bia@secrets.test', 'bia password 123', true, true);
    await until(() => A.state === 'online' && B.state === 'online', 30_000, 'both online');
    // log out and in again with the password; a wrong attempt on B's account with the canary
    farm.send({ cmd: 'logout', id: 'A' });
    await until(() => A.states.some((s) => s.state === 'signedOut'), 10_000, 'A signed out');
    farm.send({ cmd: 'login', id: 'A', email: A.email, password });
    await until(() => A.states.filter((s) => s.state === 'online').length >= 2, 20_000, 'A online again');
    const spare = farm.add('S', 'bia@secrets.test', password, false);
    await until(() => spare.states.some((s) => s.state === 'signedOut' && s.error === 'wrong_password'), 20_000, 'the wrong password refused');
    await until(() => A.roster.has(B.email) && B.roster.has(A.email), 10_000, 'A and B see each other');
    // B learns A's new login (its new peer key) with the next presence push, at most an interval later
    await sleep(1500);
    // chat both ways, a long message too
    farm.send({ cmd: 'open', id: 'A', peer: B.email });
    farm.send({ cmd: 'send', id: 'A', peer: B.email, text: `first ${chat}` });
    farm.send({ cmd: 'send', id: 'A', peer: B.email, text: `${chat} `.repeat(200) });
    farm.send({ cmd: 'send', id: 'B', peer: A.email, text: `reply ${chat}` });
    const delivered = () => farm.events.filter((e) => e.ev === 'line' && e.dir === 'out' && e.state === 'delivered').length;
    await until(() => delivered() >= 3, 15_000, 'three messages delivered');
    // the server restarts (SIGTERM): the clients resume with their tickets, and chat goes on
    await server.kill('SIGTERM');
    const logs1 = server.text();
    const restartT = Date.now();
    server = await startServerIn(ns, { dir: server.dir, port: server.port, logLevel: 'debug' });
    await until(() => [A, B].every((c) => c.state === 'online' && c.states.some((s) => s.t >= restartT && s.state === 'online')), 20_000, 'both resumed');
    await until(() => A.roster.has(B.email), 10_000, 'roster back');
    farm.send({ cmd: 'send', id: 'A', peer: B.email, text: `after restart ${chat}` });
    await until(() => delivered() >= 4, 15_000, 'the fourth message delivered');
    farm.send({ cmd: 'logout', id: 'A' });
    farm.send({ cmd: 'logout', id: 'B' });
    await until(() => [A, B].every((c) => c.state === 'signedOut'), 10_000, 'both signed out');
    // positive control: a datagram in clear, sent inside the namespace, reaches the capture
    const control = ns.spawn('bash', ['-c', `printf '%s' '${marker}' > /dev/udp/127.0.0.1/${server.port}`]);
    await new Promise((r) => control.once('exit', r));
    await sleep(300);
    farm.send({ cmd: 'exit' });
    await sleep(500);
    const summary = await capture.stop();
    await server.kill('SIGTERM');

    const pcap = readFileSync(capture.file);
    const datagrams = readPcap(capture.file);
    const serverFiles = filesUnder(server.dir).map((f): [string, Buffer] => [`server file ${f.slice(dir.length)}`, readFileSync(f)]);
    const clientFiles = filesUnder(join(dir, 'clients')).map((f): [string, Buffer] => [`client file ${f.slice(dir.length)}`, readFileSync(f)]);
    const historyFiles = clientFiles.filter(([name]) => /history-[0-9a-f]+\.db/.test(name));
    const nonHistory = clientFiles.filter(([name]) => !/history-[0-9a-f]+\.db(-wal|-shm)?$/.test(name));
    const haystacks: Array<[string, Buffer]> = [
      ['the capture', pcap],
      ...serverFiles,
      ['the server log (1st run)', Buffer.from(logs1)],
      ['the server log (2nd run)', Buffer.from(server.text())],
      ['the clients\' log', Buffer.from(farm.stderr.join('\n'))],
      ['the clients\' events', Buffer.from(JSON.stringify(farm.events.filter((e) => e.ev !== 'line' && e.ev !== 'sent')))],
      ...nonHistory,
    ];
    const leaks = findings(haystacks, { 'the password': password, 'the chat text': chat });
    // the local history keeps the conversation (it is the user's own copy), never the password
    const historyLeaks = findings(historyFiles, { 'the password': password });
    const inHistory = historyFiles.some(([, b]) => b.includes(Buffer.from(chat)));
    const authDatagrams = datagrams.filter((d) => d.payload[1] === 0x03).length;
    const chatDatagrams = datagrams.filter((d) => d.src !== server.port && d.dst !== server.port).length;
    record('secrets', [
      ['datagrams captured (AUTH / peer-to-peer)', `${datagrams.length} (${authDatagrams} / ${chatDatagrams})`],
      ['canary password or chat text found (capture, db, logs, files)', leaks.length, '0'],
      ['controls: clear marker in the capture / chat in the local history', `${pcap.includes(Buffer.from(marker))} / ${inHistory}`, 'true / true'],
    ]);
    expect(summary).toMatch(/packets captured/);
    expect(authDatagrams).toBeGreaterThanOrEqual(4);
    expect(chatDatagrams).toBeGreaterThan(6);
    expect(pcap.includes(Buffer.from(marker))).toBe(true);
    expect(inHistory).toBe(true);
    expect(serverFiles.some(([n]) => n.endsWith('server.db'))).toBe(true);
    // the logs do talk about what happened with the password, without it
    expect(logs1).toContain('login.refused');
    expect(logs1).toContain(A.email);
    expect(server.text()).toContain('session.opened');
    expect(leaks).toEqual([]);
    expect(historyLeaks).toEqual([]);
  });
});
