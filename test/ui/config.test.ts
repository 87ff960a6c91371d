import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVER, HELP, parseClientArgs } from '../../ui/config.ts';
import { langFromEnv, parseLang } from '../../ui/i18n.ts';

const env = { HOME: '/home/u' };
const parse = (argv: string[], e: NodeJS.ProcessEnv = env) => parseClientArgs(argv, e);
const message = (argv: string[], e: NodeJS.ProcessEnv = env) => parse(argv, e)._unsafeUnwrapErr().message;

describe('client command line', () => {
  it('has defaults for everything', () => {
    const c = parse([])._unsafeUnwrap();
    if (c === 'help') throw new Error('help');
    expect(DEFAULT_SERVER).toBe('127.0.0.1:54319');
    expect(c.server).toEqual({ host: '127.0.0.1', port: 54319 });
    expect(c.lang).toBe('en');
    expect(c.dataDir).toBe('/home/u/.local/share/truco');
    expect(c.serverKey).toBeNull();
    expect(c.inspect).toBeNull();
    expect(c.bell).toBe(true);
  });

  it('reads --server, TRUCO_SERVER, --data, --lang, LANG, --no-bell', () => {
    const c = parse(['--server', '10.0.0.7:6000', '--data', '/tmp/d', '--lang', 'pt-BR', '--no-bell'])._unsafeUnwrap();
    if (c === 'help') throw new Error('help');
    expect(c.server).toEqual({ host: '10.0.0.7', port: 6000 });
    expect(c.serverText).toBe('10.0.0.7:6000');
    expect(c.dataDir).toBe('/tmp/d');
    expect(c.lang).toBe('pt-BR');
    expect(c.bell).toBe(false);
    const e = parse([], { ...env, TRUCO_SERVER: '[::1]:7000', LANG: 'pt_BR.UTF-8' })._unsafeUnwrap();
    if (e === 'help') throw new Error('help');
    expect(e.server).toEqual({ host: '::1', port: 7000 });
    expect(e.lang).toBe('pt-BR');
    expect(parse(['--server', 'chat.lan'])._unsafeUnwrap()).toMatchObject({ server: { host: 'chat.lan', port: 54319 } });
  });

  it('parses --inspect in all its forms', () => {
    expect(parse(['--inspect'])._unsafeUnwrap()).toMatchObject({ inspect: { mode: 'offline', port: undefined, host: '127.0.0.1' } });
    expect(parse(['--inspect=9999'])._unsafeUnwrap()).toMatchObject({ inspect: { mode: 'offline', port: 9999 } });
    expect(parse(['--inspect', '0'])._unsafeUnwrap()).toMatchObject({ inspect: { mode: 'offline', port: 0 } });
  });

  it('turns every bad value into a clear message', () => {
    expect(message(['--bogus'])).toMatch(/Unknown option '--bogus'/);
    expect(message(['--server', 'host:99999'])).toMatch(/--server: port must be 1-65535/);
    expect(message(['--server', 'a b'])).toMatch(/--server: expected HOST:PORT/);
    expect(message(['--lang', 'fr'])).toBe('--lang must be en or pt-BR, got "fr"');
    expect(message(['--server-key', 'SHA256:abc'])).toMatch(/--server-key: that is a fingerprint/);
    expect(message(['--server-key', 'short'])).toMatch(/43 base64url characters/);
    expect(message(['--inspect=nope'])).toMatch(/--inspect takes a port number/);
    expect(message(['--log-level', 'loud'])).toMatch(/--log-level must be one of/);
    expect(message(['--data', ''])).toBe('--data must not be empty');
    expect(message(['--inspect='])).toMatch(/--inspect= needs a value/);
    // a bad environment variable is named as such, not as a flag
    const fromEnv = parse([], { ...env, TRUCO_SERVER: 'host:99999' });
    expect(fromEnv.isErr() && fromEnv.error.message).toMatch(/^TRUCO_SERVER: port must be 1-65535/);
  });

  it('--help, and a valid --server-key', () => {
    expect(parse(['-h'])._unsafeUnwrap()).toBe('help');
    expect(HELP).toContain('--server HOST:PORT');
    const key = Buffer.alloc(32, 7).toString('base64url');
    const c = parse(['--server-key', key])._unsafeUnwrap();
    if (c === 'help') throw new Error('help');
    expect(c.serverKey).toEqual(new Uint8Array(32).fill(7));
  });

  it('chooses the language from --lang or the environment', () => {
    expect(parseLang('pt_BR')).toBe('pt-BR');
    expect(parseLang('EN')).toBe('en');
    expect(parseLang('de')).toBeNull();
    expect(langFromEnv({ LC_ALL: 'pt_BR.UTF-8', LANG: 'en_US.UTF-8' })).toBe('pt-BR');
    expect(langFromEnv({ LC_MESSAGES: 'en_GB.UTF-8', LANG: 'pt_BR.UTF-8' })).toBe('en');
    expect(langFromEnv({ LANG: 'pt_PT.UTF-8' })).toBe('pt-BR');
    expect(langFromEnv({})).toBe('en');
  });
});
