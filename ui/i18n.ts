/**
 * Every string the terminal client shows, in English and Brazilian Portuguese (the original
 * project's wording: Conectado / Desconectado, Email não cadastrado, Senha incorreta).
 * Chosen by `--lang`, else by LC_ALL / LC_MESSAGES / LANG.
 */
import type { InvalidEmailWhy } from '../runtime/validate.ts';

export type Lang = 'en' | 'pt-BR';
export const LANGS: readonly Lang[] = ['en', 'pt-BR'];

const en = {
  lang: 'en' as Lang,
  app: 'truco',
  // ---- session states, as in the status bar ----
  state: {
    signedOut: 'signed out',
    signingUp: 'signing up…',
    authenticating: 'logging in…',
    online: 'online',
    reconnecting: 'reconnecting…',
    signingOut: 'signing out…',
    kicked: 'signed out',
  },
  helpHint: 'F1 help',
  inspector: 'inspector',

  // ---- log in / sign up ----
  loginTitle: 'truco — chat on your local network',
  server: 'Server',
  email: 'Email',
  password: 'Password',
  logIn: 'Log in',
  signUp: 'Sign up',
  loginHint: 'Tab/Shift-Tab: move · Enter: submit · Ctrl+C: quit',
  loggingIn: 'Logging in…',
  signingUp: 'Signing up…',
  reason: {
    email_taken: 'That email is already registered: log in instead, or use another.',
    invalid_email: 'The server does not accept that email address.',
    weak_password: 'The server finds that password too weak.',
    unknown_email: 'Unknown email: no account has that address. Sign up first.',
    wrong_password: 'Wrong password.',
    ticket_refused: 'The server no longer accepts this session: log in again.',
    server_error: 'The server had an internal error: try again.',
  } as Record<string, string>,
  rateLimited: (s: number) => `Too many attempts: try again in ${waitText(s)}.`,
  unreachable: (server: string) => `No answer from the server at ${server}. Is it running, and is the address right?`,
  keyChanged: (server: string, expected: string, got: string, file: string) =>
    `The server key of ${server} changed! Pinned ${expected}, now ${got}. Someone may be impersonating the server. ` +
    `If it was really reinstalled, delete its line from ${file} or start with --server-key.`,
  refusedOther: (reason: string) => `The server refused: ${reason}.`,
  emailWhy: {
    empty: 'Enter an email address.',
    too_long: 'That email address is too long.',
    bad_chars: 'An email address cannot contain spaces or invisible characters.',
    at_sign: 'An email address needs exactly one @.',
    local_part: 'The part before the @ must be 1 to 64 bytes long.',
    domain: 'The part after the @ must be a domain such as example.org, or localhost.',
  } satisfies Record<InvalidEmailWhy, string>,
  passwordEmpty: 'Enter your password.',
  passwordShort: (n: number) => `That password is too short: use at least ${n} characters.`,
  passwordLong: (n: number) => `That password is too long: use at most ${n} bytes.`,
  passwordControl: 'A password cannot contain control characters.',
  keyPinned: (fp: string) => `First contact with this server: its key ${fp} is now pinned.`,
  keyKnown: (fp: string) => `Server key ${fp} (matches the pinned key).`,
  keyGiven: (fp: string) => `Server key ${fp} (given with --server-key).`,

  // ---- main screen ----
  homeTitle: 'truco — home',
  welcome: (email: string) => `Logged in as ${email}.`,
  homeHint: 'Open a conversation: Tab to the roster, type to filter, Enter to open (or click a name). F1: help.',
  online: 'Online',
  nobody: 'nobody else online',
  noMatch: 'no match',
  filter: 'filter',
  connected: 'Connected',
  disconnected: 'Disconnected',
  titleConnected: 'connected',
  titleDisconnected: 'offline',
  earlier: 'earlier messages',
  moreBelow: (n: number) => `-- ${n} more below: PgDn --`,
  failedHint: 'not delivered — Ctrl+R retries',
  peerOffline: (peer: string) => `${peer} is offline: sending is disabled until they return`,
  notOnline: 'You are not online: sending resumes once reconnected',
  sendError: {
    empty: 'Nothing to send.',
    peer_offline: 'The peer is offline: not sent.',
    not_online: 'You are not online: not sent.',
    unknown_message: 'That message can no longer be retried.',
  } as Record<string, string>,
  tooLong: (max: number) => `Message too long: at most ${max} bytes.`,
  noFailed: 'No failed message to retry here.',
  chatUnavailable: 'Conversations are not available in this build of the client.',
  unknownCommand: (cmd: string) => `Unknown command ${cmd}: try /help.`,
  openUsage: 'Usage: /open EMAIL',
  newConversation: (peer: string, n: number) => (n <= 9 ? `${peer} wrote to you: Alt+${n} opens the conversation.` : `${peer} wrote to you: /open ${peer} shows it.`),
  bellOn: 'Bell on.',
  bellOff: 'Bell off.',
  quitting: 'Signing out…',
  notYou: 'That is you.',

  // ---- kicked ----
  kickedTitle: 'Signed out',
  kick: {
    elsewhere: (email: string) => `Logged in elsewhere: someone logged in as ${email} from another client, so this session was closed.`,
    dropped: 'Dropped as offline: the server heard nothing from this client for too long.',
    ticket_revoked: 'The server revoked this session.',
    refused: (why: string) => `The server refused to resume the session. ${why}`,
    gone: (server: string) => `Server gone: ${server} stopped answering and the session could not be resumed.`,
  },
  kickedKeys: 'Enter: log in again · q: quit',

  // ---- help ----
  helpTitle: 'Keys (Esc or F1 closes)',
  help: [
    ['F1, ?', 'this help (? when the input line is empty)'],
    ['Tab', 'focus the roster / the input line'],
    ['Alt+1..9', 'jump to buffer 1..9 (1 is home)'],
    ['Ctrl+N / Ctrl+P', 'next / previous buffer'],
    ['Alt+A', 'next buffer with unread messages'],
    ['PgUp / PgDn, wheel', 'scroll the conversation'],
    ['Up / Down', 'input history of this buffer; in the roster: move'],
    ['Enter', 'send; in the roster: open the conversation'],
    ['Ctrl+R', 'retry the failed messages of this buffer'],
    ['Left/Right, Home/End', 'move in the input line'],
    ['Ctrl+U / Ctrl+W', 'delete to the start / the previous word'],
    ['Esc', 'leave the roster, clear its filter'],
    ['/open EMAIL', 'open a conversation'],
    ['/close', 'close this buffer'],
    ['/retry', 'same as Ctrl+R'],
    ['/bell on|off', 'terminal bell for messages in other buffers'],
    ['//text', 'send a line that starts with /'],
    ['Ctrl+C, /quit', 'log out and quit'],
  ] as ReadonlyArray<readonly [string, string]>,
};

export type Strings = typeof en;

const ptBR: Strings = {
  lang: 'pt-BR',
  app: 'truco',
  state: {
    signedOut: 'sem sessão',
    signingUp: 'cadastrando…',
    authenticating: 'entrando…',
    online: 'online',
    reconnecting: 'reconectando…',
    signingOut: 'saindo…',
    kicked: 'sessão encerrada',
  },
  helpHint: 'F1 ajuda',
  inspector: 'inspetor',

  loginTitle: 'truco — chat na sua rede local',
  server: 'Servidor',
  email: 'Email',
  password: 'Senha',
  logIn: 'Entrar',
  signUp: 'Cadastrar',
  loginHint: 'Tab/Shift-Tab: mover · Enter: confirmar · Ctrl+C: sair',
  loggingIn: 'Entrando…',
  signingUp: 'Cadastrando…',
  reason: {
    email_taken: 'Email já cadastrado: entre com ele, ou use outro.',
    invalid_email: 'O servidor não aceita esse email.',
    weak_password: 'O servidor considera essa senha fraca demais.',
    unknown_email: 'Email não cadastrado. Cadastre-se primeiro.',
    wrong_password: 'Senha incorreta.',
    ticket_refused: 'O servidor não aceita mais esta sessão: entre de novo.',
    server_error: 'Erro interno no servidor: tente de novo.',
  },
  rateLimited: (s) => `Tentativas demais: tente de novo em ${waitText(s)}.`,
  unreachable: (server) => `O servidor em ${server} não responde. Ele está rodando, e o endereço está certo?`,
  keyChanged: (server, expected, got, file) =>
    `A chave do servidor ${server} mudou! Fixada ${expected}, agora ${got}. Alguém pode estar se passando pelo servidor. ` +
    `Se ele foi mesmo reinstalado, apague a linha dele em ${file} ou use --server-key.`,
  refusedOther: (reason) => `O servidor recusou: ${reason}.`,
  emailWhy: {
    empty: 'Digite um email.',
    too_long: 'Esse email é longo demais.',
    bad_chars: 'Um email não pode ter espaços nem caracteres invisíveis.',
    at_sign: 'Um email precisa de exatamente um @.',
    local_part: 'A parte antes do @ precisa ter de 1 a 64 bytes.',
    domain: 'A parte depois do @ precisa ser um domínio como exemplo.org, ou localhost.',
  },
  passwordEmpty: 'Digite sua senha.',
  passwordShort: (n) => `Senha curta demais: use pelo menos ${n} caracteres.`,
  passwordLong: (n) => `Senha longa demais: use no máximo ${n} bytes.`,
  passwordControl: 'A senha não pode ter caracteres de controle.',
  keyPinned: (fp) => `Primeiro contato com este servidor: a chave ${fp} foi fixada.`,
  keyKnown: (fp) => `Chave do servidor ${fp} (confere com a fixada).`,
  keyGiven: (fp) => `Chave do servidor ${fp} (dada com --server-key).`,

  homeTitle: 'truco — início',
  welcome: (email) => `Você entrou como ${email}.`,
  homeHint: 'Abrir uma conversa: Tab vai para a lista, digite para filtrar, Enter abre (ou clique num nome). F1: ajuda.',
  online: 'Online',
  nobody: 'ninguém mais online',
  noMatch: 'nenhum resultado',
  filter: 'filtro',
  connected: 'Conectado',
  disconnected: 'Desconectado',
  titleConnected: 'conectado',
  titleDisconnected: 'desconectado',
  earlier: 'mensagens anteriores',
  moreBelow: (n) => `-- mais ${n} abaixo: PgDn --`,
  failedHint: 'não entregue — Ctrl+R reenvia',
  peerOffline: (peer) => `${peer} está desconectado: envio desabilitado até voltar`,
  notOnline: 'Você não está online: o envio volta ao reconectar',
  sendError: {
    empty: 'Nada para enviar.',
    peer_offline: 'O contato está desconectado: não enviada.',
    not_online: 'Você não está online: não enviada.',
    unknown_message: 'Essa mensagem não pode mais ser reenviada.',
  },
  tooLong: (max) => `Mensagem longa demais: no máximo ${max} bytes.`,
  noFailed: 'Nenhuma mensagem falhou aqui.',
  chatUnavailable: 'Conversas não estão disponíveis nesta versão do cliente.',
  unknownCommand: (cmd) => `Comando desconhecido ${cmd}: veja /help.`,
  openUsage: 'Uso: /open EMAIL',
  newConversation: (peer, n) => (n <= 9 ? `${peer} te escreveu: Alt+${n} abre a conversa.` : `${peer} te escreveu: /open ${peer} mostra a conversa.`),
  bellOn: 'Campainha ligada.',
  bellOff: 'Campainha desligada.',
  quitting: 'Saindo…',
  notYou: 'Esse é você.',

  kickedTitle: 'Sessão encerrada',
  kick: {
    elsewhere: (email) => `Entrou em outro lugar: alguém entrou como ${email} em outro cliente, e esta sessão foi encerrada.`,
    dropped: 'Considerado offline: o servidor ficou tempo demais sem notícias deste cliente.',
    ticket_revoked: 'O servidor revogou esta sessão.',
    refused: (why) => `O servidor recusou retomar a sessão. ${why}`,
    gone: (server) => `Servidor sumiu: ${server} parou de responder e a sessão não pôde ser retomada.`,
  },
  kickedKeys: 'Enter: entrar de novo · q: sair',

  helpTitle: 'Teclas (Esc ou F1 fecha)',
  help: [
    ['F1, ?', 'esta ajuda (? com a linha de entrada vazia)'],
    ['Tab', 'foco na lista de contatos / na linha de entrada'],
    ['Alt+1..9', 'ir para o buffer 1..9 (1 é o início)'],
    ['Ctrl+N / Ctrl+P', 'buffer seguinte / anterior'],
    ['Alt+A', 'próximo buffer com mensagens não lidas'],
    ['PgUp / PgDn, roda', 'rolar a conversa'],
    ['Cima / Baixo', 'histórico de entrada do buffer; na lista: mover'],
    ['Enter', 'enviar; na lista: abrir a conversa'],
    ['Ctrl+R', 'reenviar as mensagens que falharam neste buffer'],
    ['Esq/Dir, Home/End', 'mover na linha de entrada'],
    ['Ctrl+U / Ctrl+W', 'apagar até o início / a palavra anterior'],
    ['Esc', 'sair da lista, limpar o filtro'],
    ['/open EMAIL', 'abrir uma conversa'],
    ['/close', 'fechar este buffer'],
    ['/retry', 'o mesmo que Ctrl+R'],
    ['/bell on|off', 'campainha para mensagens em outros buffers'],
    ['//texto', 'enviar uma linha que começa com /'],
    ['Ctrl+C, /quit', 'sair da sessão e fechar'],
  ],
};

const CATALOGUE: Record<Lang, Strings> = { en, 'pt-BR': ptBR };

export function strings(lang: Lang): Strings {
  return CATALOGUE[lang];
}

/** `--lang` value → Lang, accepting en, pt-BR, pt_BR, pt (any case); null if unknown. */
export function parseLang(raw: string): Lang | null {
  const s = raw.trim().toLowerCase().replace('_', '-');
  if (s === 'en' || s.startsWith('en-')) return 'en';
  if (s === 'pt' || s === 'pt-br') return 'pt-BR';
  return null;
}

/** The language of the environment: LC_ALL, then LC_MESSAGES, then LANG; Portuguese → pt-BR. */
export function langFromEnv(env: NodeJS.ProcessEnv): Lang {
  const v = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return /^pt([_-]|$)/i.test(v) ? 'pt-BR' : 'en';
}

/** A wait in words: seconds below two minutes, then whole minutes (rounded up). */
export function waitText(s: number): string {
  return s < 120 ? `${s} s` : `${Math.ceil(s / 60)} min`;
}
