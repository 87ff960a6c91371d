/** The view-model without a terminal: session + conversations + UI state → the frame's text. */
import { describe, expect, it } from 'vitest';
import { fieldOf } from '../../ui/field.ts';
import { strings } from '../../ui/i18n.ts';
import { initialUi } from '../../ui/state.ts';
import { errorText, hitAt, lineText, nickColour, type Region } from '../../ui/view.ts';
import { strWidth } from '../../ui/width.ts';
import { BIA, CAIO, clock, conv, convs, draw, ME, msg, online, signedOut, sys, T0, view, withUi } from './fixtures.ts';

const region = (regions: Region[], id: Region['id']): Region => {
  const r = regions.find((x) => x.id === id);
  if (!r) throw new Error(`no region ${id}`);
  return r;
};

describe('log in / sign up screen', () => {
  it('shows the form with the password masked and says why the last attempt failed', () => {
    const ui = withUi({ login: { email: fieldOf(ME), password: fieldOf('secret123'), focus: 1, error: null } });
    const { text } = draw(view({ session: signedOut({ error: { reason: 'wrong_password' } }), ui }));
    expect(text).toContain('truco — chat on your local network');
    expect(text).toMatch(/Email\s+\[ana@t\.io/);
    expect(text).toContain('*********');
    expect(text).not.toContain('secret123');
    expect(text).toContain('[ Log in ]');
    expect(text).toContain('[ Sign up ]');
    expect(text).toContain('Wrong password.');
    expect(text).toContain('Tab/Shift-Tab: move · Enter: submit · Ctrl+C: quit');
  });

  it('makes each field clickable on its own row, label included, and the buttons on theirs', () => {
    const { frame, lines } = draw(view({ session: signedOut() }));
    const rowOf = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const email = rowOf(/Email\s+\[/);
    const password = rowOf(/Password\s+\[/);
    const buttons = rowOf(/\[ Log in \]/);
    expect(email).toBeGreaterThan(0);
    expect(hitAt(frame, (lines[email] ?? '').indexOf('Email'), email)).toEqual({ kind: 'field', which: 'email' });
    expect(hitAt(frame, (lines[email] ?? '').indexOf('[') + 3, email)).toEqual({ kind: 'field', which: 'email' });
    expect(hitAt(frame, (lines[password] ?? '').indexOf('[') + 1, password)).toEqual({ kind: 'field', which: 'password' });
    expect(hitAt(frame, (lines[buttons] ?? '').indexOf('Log in'), buttons)).toEqual({ kind: 'button', which: 'login' });
    expect(hitAt(frame, 0, email)).toBeNull();
  });

  it('speaks the original wording in Brazilian Portuguese', () => {
    const pt = (reason: string) => draw(view({ lang: 'pt-BR', session: signedOut({ error: { reason } }) })).text;
    expect(pt('wrong_password')).toContain('Senha incorreta.');
    expect(pt('unknown_email')).toContain('Email não cadastrado.');
    expect(pt('email_taken')).toContain('Email já cadastrado');
    expect(pt('wrong_password')).toContain('[ Entrar ]');
  });

  it('puts every refusal in words', () => {
    const say = (error: { reason: string; retryAfterS?: number }, extra = {}) => errorText(view({ session: signedOut({ error }), ...extra }));
    expect(say({ reason: 'email_taken' })).toMatch(/already registered/);
    expect(say({ reason: 'invalid_email' })).toMatch(/does not accept that email/);
    expect(say({ reason: 'weak_password' })).toMatch(/too weak/);
    expect(say({ reason: 'unknown_email' })).toMatch(/^Unknown email/);
    expect(say({ reason: 'rate_limited', retryAfterS: 7 })).toBe('Too many attempts: try again in 7 s.');
    expect(say({ reason: 'rate_limited', retryAfterS: 3599 })).toBe('Too many attempts: try again in 60 min.');
    expect(say({ reason: 'server_unreachable' })).toMatch(/No answer from the server at 127\.0\.0\.1:54319/);
    expect(say({ reason: 'server_error' })).toMatch(/internal error/);
    const changed = say({ reason: 'server_key_changed' }, { keyProblem: { server: '127.0.0.1:54319', expected: 'SHA256:old', got: 'SHA256:new' } });
    expect(changed).toContain('SHA256:old');
    expect(changed).toContain('SHA256:new');
    expect(changed).toContain('/data/known_servers');
    expect(say({ reason: 'mystery' })).toBe('The server refused: mystery.');
  });

  it('shows progress while logging in, and the fingerprint pinned on first contact', () => {
    const { text } = draw(
      view({ session: signedOut({ state: 'authenticating', error: { reason: 'wrong_password' } }), keyInfo: { fingerprint: 'SHA256:abc', status: 'pinned' } }),
    );
    expect(text).toContain('Logging in…');
    expect(text).not.toContain('Wrong password');
    expect(text).toContain('First contact with this server: its key SHA256:abc is now pinned.');
    expect(text).toMatch(/logging in…/); // the status bar
  });

  it('a problem found before sending is shown instead of the server\'s', () => {
    const ui = withUi({ login: { email: fieldOf('nope'), password: fieldOf(''), focus: 0, error: 'An email address needs exactly one @.' } });
    const { text } = draw(view({ session: signedOut({ error: { reason: 'wrong_password' } }), ui }));
    expect(text).toContain('An email address needs exactly one @.');
    expect(text).not.toContain('Wrong password');
  });
});

describe('main screen', () => {
  const chat = conv(BIA, [
    sys('connected', T0),
    msg('out', 'hi', 'delivered', T0 + 60_000),
    msg('in', 'hello there', 'delivered', T0 + 120_000),
    msg('out', 'still sending', 'pending', T0 + 180_000),
    msg('out', 'lost', 'failed', T0 + 240_000),
  ]);
  const base = () => withUi({ buffers: [BIA, CAIO], active: BIA, focus: 'input' });

  it('draws the buffers bar with the active buffer marked and unread counts on the others', () => {
    const { lines, frame } = draw(view({ ui: base(), conversations: convs(chat, conv(CAIO, [msg('in', 'psst')], { unread: 3 })) }));
    expect(lines[0]).toContain('1 truco');
    expect(lines[0]).toContain(`[2 ${BIA}]`);
    expect(lines[0]).toContain(`3 ${CAIO} (3)`);
    const x = (lines[0] ?? '').indexOf(CAIO);
    expect(hitAt(frame, x, 0)).toEqual({ kind: 'tab', buffer: CAIO });
    expect(hitAt(frame, 2, 0)).toEqual({ kind: 'tab', buffer: '' });
  });

  it('lists who is online but me, with unread counts, and makes names clickable', () => {
    const { lines, text, frame } = draw(view({ ui: base(), conversations: convs(chat, conv(CAIO, [], { unread: 2 })) }));
    expect(text).toContain('Online (2)');
    const roster = region(frame.regions, 'roster').lines.map(lineText).join('\n');
    expect(roster).toContain(BIA);
    expect(roster).not.toContain(ME);
    const y = lines.findIndex((l, i) => i > 0 && l.includes(`${CAIO} (2)`));
    expect(y).toBeGreaterThan(0);
    expect(hitAt(frame, 90, y)).toEqual({ kind: 'peer', peer: CAIO });
  });

  it('filters the roster as you type', () => {
    const ui = { ...base(), focus: 'roster' as const, filter: 'ca' };
    const { text } = draw(view({ ui, conversations: convs(chat) }));
    expect(text).toContain('filter: ca');
    expect(text).toContain(CAIO);
    expect(text.split('\n').filter((l) => l.includes(BIA) && l.indexOf(BIA) > 74)).toHaveLength(0);
    expect(draw(view({ ui: { ...ui, filter: 'zz' } })).text).toContain('no match');
  });

  it('shows timestamps, who wrote, delivery marks and system lines', () => {
    const { lines, text } = draw(view({ ui: base(), conversations: convs(chat) }));
    expect(text).toContain(`${BIA} — connected`);
    expect(text).toMatch(/12:34 ── Connected/);
    expect(text).toMatch(/12:35 ✓ ana@t\.io │ hi/);
    expect(text).toMatch(/12:36 {3}bia@t\.io │ hello there/);
    expect(text).toMatch(/12:37 · ana@t\.io │ still sending/);
    expect(text).toMatch(/12:38 ✗ ana@t\.io │ lost/);
    expect(text).toContain('✗ not delivered — Ctrl+R retries');
    expect(lines[29]).toBe('[bia@t.io]');
  });

  it('tells own and peer messages apart: nick colours from the email, own nick in bold', () => {
    const { frame } = draw(view({ ui: base(), conversations: convs(chat) }));
    const segs = region(frame.regions, 'chat').lines.flat();
    const mine = segs.find((s) => s.text.startsWith(ME));
    const theirs = segs.find((s) => s.text.startsWith(BIA) && s.style?.fg !== undefined && !s.style.bold);
    expect(mine?.style).toMatchObject({ fg: nickColour(ME), bold: true });
    expect(theirs?.style?.fg).toBe(nickColour(BIA));
    expect(nickColour(BIA)).toBe(nickColour(BIA));
    const colours = new Set(Array.from({ length: 50 }, (_, i) => nickColour(`user${i}@t.io`)));
    expect(colours.size).toBeGreaterThan(6);
  });

  it('disables the input line with the reason when the peer is offline or we are not online', () => {
    const off = conv(BIA, [msg('out', 'hi'), sys('disconnected')], { connected: false, canSend: false, reason: 'peer_offline' });
    const { lines, text } = draw(view({ ui: base(), conversations: convs(off) }));
    expect(text).toMatch(/── Disconnected/);
    expect(text).toContain(`${BIA} — offline`);
    expect(lines[29]).toBe(`✗ ${BIA} is offline: sending is disabled until they return`);
    const notOnline = conv(BIA, [], { connected: false, canSend: false, reason: 'not_online' });
    expect(draw(view({ ui: base(), conversations: convs(notOnline), session: online({ state: 'reconnecting' }) })).lines[29]).toContain(
      'You are not online: sending resumes once reconnected',
    );
    const pt = draw(view({ lang: 'pt-BR', ui: base(), conversations: convs(off) }));
    expect(pt.text).toMatch(/── Desconectado/);
    expect(pt.lines[29]).toContain(`${BIA} está desconectado`);
    expect(draw(view({ lang: 'pt-BR', ui: base(), conversations: convs(conv(BIA, [sys('connected')])) })).text).toMatch(/── Conectado/);
  });

  it('wraps long messages under the text column and keeps every row inside the terminal, emoji included', () => {
    const long = 'palavra '.repeat(30) + '👋'.repeat(40);
    const { lines } = draw(view({ ui: base(), conversations: convs(conv(BIA, [msg('in', long)])) }));
    const body = lines.slice(1, 28);
    const rows = body.filter((l) => l.includes('│ palavra') || l.includes('│ 👋'));
    expect(rows.length).toBeGreaterThan(3);
    for (const r of rows) expect(r.indexOf('│')).toBe(rows[0]?.indexOf('│'));
    for (const l of lines) expect(strWidth(l)).toBeLessThanOrEqual(100);
    // the roster separator is in the same column on every body row
    for (const l of body) expect([...l].filter((c) => c === '│').length).toBeGreaterThan(0);
  });

  it('scrolls back with an indicator of what is below, and sticks to the bottom otherwise', () => {
    const many = conv(BIA, Array.from({ length: 60 }, (_, i) => msg('in', `line ${i}`)));
    const bottom = draw(view({ ui: base(), conversations: convs(many) })).text;
    expect(bottom).toContain('line 59');
    expect(bottom).not.toContain('line 20 ');
    const up = draw(view({ ui: { ...base(), scroll: { [BIA]: 10 } }, conversations: convs(many) })).text;
    expect(up).toContain('10 more below: PgDn');
    expect(up).toContain('line 48');
    expect(up).not.toContain('line 59');
    const top = draw(view({ ui: { ...base(), scroll: { [BIA]: 1000 } }, conversations: convs(many) })).text;
    expect(top).toContain('│ line 0');
  });

  it('shows messages of earlier sessions from the history above the live ones', () => {
    const earlier = () => [msg('in', 'from yesterday', 'delivered', T0 - 86_400_000), msg('out', 'never arrived', 'failed', T0 - 86_000_000)];
    const { lines } = draw(view({ ui: base(), conversations: convs(conv(BIA, [msg('in', 'today')])), earlier }));
    const y = (s: string) => lines.findIndex((l) => l.includes(s));
    expect(y('from yesterday')).toBeGreaterThan(0);
    expect(y('never arrived')).toBeGreaterThan(y('from yesterday'));
    expect(y('earlier messages')).toBeGreaterThan(y('never arrived'));
    expect(y('today')).toBeGreaterThan(y('earlier messages'));
    expect(lines[y('never arrived') + 1]).toContain('Ctrl+R retries');
  });

  it('puts server, session state, my email and the inspector in the status bar', () => {
    const { lines } = draw(view({ ui: base(), inspectorUrl: 'http://127.0.0.1:54320/' }));
    expect(lines[28]).toMatch(/^ 12:34 │ 127\.0\.0\.1:54319 │ online │ ana@t\.io │ inspector http:\/\/127\.0\.0\.1:54320\/ +F1 help$/);
    expect(draw(view({ ui: base(), session: online({ state: 'reconnecting' }) })).lines[28]).toContain('│ reconnecting… │');
    expect(draw(view({ ui: { ...base(), quitting: true } })).lines[28]).toContain('│ Signing out… │');
  });

  it('shows the home buffer\'s notices and a hint', () => {
    const ui = { ...initialUi(), notices: [{ at: T0, text: 'Logged in as ana@t.io.', kind: 'info' as const }] };
    const { text, lines } = draw(view({ ui }));
    expect(text).toContain('truco — home');
    expect(text).toContain('12:34 Logged in as ana@t.io.');
    expect(text).toContain('Open a conversation: Tab to the roster');
    expect(lines[29]).toMatch(/^\[truco\]/);
  });

  it('draws the input line with the cursor where it is, scrolled to keep it in view', () => {
    const ui = { ...base(), inputs: { [BIA]: { field: { text: 'olá mundo', cursor: 3 }, history: [], histPos: null, draft: '' } } };
    const { frame, lines } = draw(view({ ui, conversations: convs(chat) }));
    expect(lines[29]).toBe('[bia@t.io] olá mundo');
    const segs = region(frame.regions, 'input').lines[0] ?? [];
    expect(segs.find((s) => s.style?.inverse)?.text).toBe(' ');
    const long = { ...base(), inputs: { [BIA]: { field: { text: 'x'.repeat(300) + 'END', cursor: 303 }, history: [], histPos: null, draft: '' } } };
    expect(draw(view({ ui: long, conversations: convs(chat) })).lines[29]).toMatch(/xEND$/);
  });

  it('lays out narrow terminals without the roster, and says when the terminal is too small', () => {
    const { lines } = draw(view({ cols: 50, rows: 12, ui: base(), conversations: convs(chat) }));
    expect(lines.every((l) => strWidth(l) <= 50)).toBe(true);
    expect(lines.join('\n')).not.toContain('Online (');
    expect(lines[10]).toContain('│ online');
    expect(draw(view({ cols: 20, rows: 5 })).text).toContain('20×5');
  });
});

describe('kicked, help', () => {
  it('says why the session ended and what to do next', () => {
    const kicked = (kickReason: 'elsewhere' | 'dropped' | 'ticket_revoked') => draw(view({ session: online({ state: 'kicked', kickReason }) })).text;
    expect(kicked('elsewhere')).toContain('Logged in elsewhere: someone logged in as ana@t.io from another');
    expect(kicked('dropped')).toContain('Dropped as offline');
    expect(kicked('ticket_revoked')).toContain('revoked');
    expect(kicked('elsewhere')).toContain('Enter: log in again · q: quit');
    const gone = draw(view({ session: signedOut({ signedOutReason: 'server_unreachable', email: ME }) })).text;
    expect(gone).toContain('Server gone: 127.0.0.1:54319 stopped answering');
    // dismissed: the login form again
    expect(draw(view({ session: online({ state: 'kicked', kickReason: 'elsewhere' }), ui: withUi({ dismissed: true }) })).text).toContain('[ Log in ]');
    expect(draw(view({ lang: 'pt-BR', session: online({ state: 'kicked', kickReason: 'elsewhere' }) })).text).toContain('Enter: entrar de novo · q: sair');
  });

  it('the help lists every key binding of the catalogue', () => {
    for (const lang of ['en', 'pt-BR'] as const) {
      const { text } = draw(view({ lang, ui: withUi({ help: true }), rows: 40 }));
      for (const [k] of strings(lang).help) expect(text).toContain(k);
    }
  });

  it('both languages have the same catalogue entries', () => {
    const keys = (o: object): string[] =>
      Object.entries(o)
        .flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v) ? keys(v).map((x) => `${k}.${x}`) : [k]))
        .sort();
    expect(keys(strings('pt-BR'))).toEqual(keys(strings('en')));
    expect(strings('pt-BR').help).toHaveLength(strings('en').help.length);
    expect(strings('pt-BR').connected).toBe('Conectado');
    expect(strings('pt-BR').disconnected).toBe('Desconectado');
  });

  it('every rendered line fits its region', () => {
    const v = view({ ui: withUi({ buffers: [BIA], active: BIA, help: true }), conversations: convs(conv(BIA, [msg('in', '👋'.repeat(200))])) });
    for (const r of draw(v).frame.regions) {
      expect(r.lines.length).toBeLessThanOrEqual(r.height);
      for (const l of r.lines) expect(strWidth(lineText(l))).toBeLessThanOrEqual(r.width);
    }
    expect(clock(T0)).toBe('12:34');
  });
});
