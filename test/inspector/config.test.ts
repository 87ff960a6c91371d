import { describe, expect, it } from 'vitest';
import { inspectWarning, normalizeInspectArgv, parseInspect } from '../../runtime/inspector/config.ts';
import { parseServerArgs } from '../../server/config.ts';

const server = (...argv: string[]) => parseServerArgs(argv, {});
const inspectOf = (...argv: string[]) => {
  const r = server(...argv);
  if (r.isErr()) return `error: ${r.error.message}`;
  return r.value === 'help' ? 'help' : r.value.inspect;
};

describe('--inspect and --inspect-host', () => {
  it('is off unless asked for', () => {
    expect(inspectOf()).toBeNull();
    expect(inspectOf('--port', '0')).toBeNull();
  });

  it('takes an optional port, in every spelling', () => {
    expect(inspectOf('--inspect')).toEqual({ mode: 'offline', port: undefined, host: '127.0.0.1' });
    expect(inspectOf('--inspect', '0')).toEqual({ mode: 'offline', port: 0, host: '127.0.0.1' });
    expect(inspectOf('--inspect=0')).toEqual({ mode: 'offline', port: 0, host: '127.0.0.1' });
    expect(inspectOf('--inspect', '9000', '--port', '0')).toEqual({ mode: 'offline', port: 9000, host: '127.0.0.1' });
    // a bare --inspect followed by another flag keeps that flag
    const r = server('--inspect', '--port', '1234');
    expect(r.isOk() && r.value !== 'help' && [r.value.port, r.value.inspect?.port]).toEqual([1234, undefined]);
  });

  it('selects Stately with an optional relay port', () => {
    expect(inspectOf('--inspect=stately')).toEqual({ mode: 'stately', port: 8080, host: '127.0.0.1' });
    expect(inspectOf('--inspect', 'stately:9001')).toEqual({ mode: 'stately', port: 9001, host: '127.0.0.1' });
  });

  it('binds elsewhere only when told, with a warning', () => {
    const cfg = inspectOf('--inspect', '--inspect-host', '0.0.0.0');
    expect(cfg).toEqual({ mode: 'offline', port: undefined, host: '0.0.0.0' });
    expect(inspectWarning(cfg as Exclude<typeof cfg, string | null>)).toMatch(/anyone who can reach/);
    expect(inspectWarning({ mode: 'offline', port: 0, host: '127.0.0.1' })).toBeNull();
    expect(inspectWarning({ mode: 'offline', port: 0, host: '::1' })).toBeNull();
  });

  it('rejects bad values with clear messages', () => {
    expect(inspectOf('--inspect=')).toMatch(/--inspect= needs a value: a port number/);
    expect(inspectOf('--inspect=foo')).toMatch(/--inspect takes a port number, "stately" or "stately:PORT", got "foo"/);
    expect(inspectOf('--inspect=70000')).toMatch(/between 0 and 65535/);
    expect(inspectOf('--inspect=stately:0')).toMatch(/between 1 and 65535/);
    expect(inspectOf('--inspect-host', '127.0.0.1')).toMatch(/--inspect-host needs --inspect/);
    expect(inspectOf('--inspect', '--inspect-host', 'example.com')).toMatch(/--inspect-host must be an IPv4 or IPv6 address/);
  });

  it('rewrites argv only around --inspect', () => {
    expect(normalizeInspectArgv(['--port', '1', '--inspect', '5', '--x'])).toEqual(['--port', '1', '--inspect=5', '--x']);
    expect(normalizeInspectArgv(['--inspect'])).toEqual(['--inspect=\u0000default']);
    expect(normalizeInspectArgv(['--', '--inspect'])).toEqual(['--', '--inspect']);
    expect(parseInspect(undefined, undefined).isOk()).toBe(true);
  });
});
