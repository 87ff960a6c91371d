/**
 * Email and password rules, shared by the client forms and the server.
 *
 * `normalizeEmail` gives the one canonical spelling an account is stored under
 * (trimmed, NFC, lower case), so `A@x.io` and `a@x.io` are the same account.
 * `checkPassword` enforces length and character rules and returns the password
 * in NFC, so the same password typed on two systems hashes the same.
 * Neither function throws.
 */

import { err, ok, type Result } from 'neverthrow';
import { MAX_EMAIL_BYTES, MAX_PASSWORD_BYTES } from './wire/constants.ts';

export const MIN_PASSWORD_LENGTH = 8;
export const MAX_LOCAL_PART_BYTES = 64;
export const MAX_LABEL_LENGTH = 63;

export type InvalidEmailWhy = 'empty' | 'too_long' | 'bad_chars' | 'at_sign' | 'local_part' | 'domain';

export interface InvalidEmail {
  type: 'InvalidEmail';
  why: InvalidEmailWhy;
}

export interface WeakPassword {
  type: 'WeakPassword';
  minLength: number;
  maxBytes: number;
  why: 'too_short' | 'too_long' | 'control_chars';
}

/** Control, format (zero-width, bidi overrides), lone surrogates, and any white space. */
const FORBIDDEN_IN_EMAIL = /[\p{Cc}\p{Cf}\p{Cs}\p{Z}\s]/u;
/** Control characters and lone surrogates (which cannot be sent as UTF-8). */
const FORBIDDEN_IN_PASSWORD = /[\p{Cc}\p{Cs}]/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

const invalid = (why: InvalidEmailWhy): Result<string, InvalidEmail> => err({ type: 'InvalidEmail', why });

export function normalizeEmail(raw: string): Result<string, InvalidEmail> {
  if (typeof raw !== 'string') return invalid('empty');
  const email = raw.trim().normalize('NFC').toLowerCase().normalize('NFC');
  if (email.length === 0) return invalid('empty');
  if (FORBIDDEN_IN_EMAIL.test(email)) return invalid('bad_chars');
  if (utf8Length(email) > MAX_EMAIL_BYTES) return invalid('too_long');

  const at = email.indexOf('@');
  if (at === -1 || email.indexOf('@', at + 1) !== -1) return invalid('at_sign');
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length === 0 || utf8Length(local) > MAX_LOCAL_PART_BYTES) return invalid('local_part');
  if (!validDomain(domain)) return invalid('domain');
  return ok(email);
}

function validDomain(domain: string): boolean {
  if (domain === 'localhost') return true;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  return labels.every((label) => label.length <= MAX_LABEL_LENGTH && LABEL.test(label));
}

export function checkPassword(pw: string): Result<string, WeakPassword> {
  const weak = (why: WeakPassword['why']): Result<string, WeakPassword> =>
    err({ type: 'WeakPassword', minLength: MIN_PASSWORD_LENGTH, maxBytes: MAX_PASSWORD_BYTES, why });
  if (typeof pw !== 'string') return weak('too_short');
  if (FORBIDDEN_IN_PASSWORD.test(pw)) return weak('control_chars');
  const password = pw.normalize('NFC');
  if (utf8Length(password) > MAX_PASSWORD_BYTES) return weak('too_long');
  if ([...password].length < MIN_PASSWORD_LENGTH) return weak('too_short');
  return ok(password);
}

export function describeEmailRule(): string {
  return (
    `An email address needs one @, a name before it of at most ${MAX_LOCAL_PART_BYTES} bytes, ` +
    `and a domain such as example.org (letters, digits and inner hyphens) or localhost, ` +
    `with no spaces, and at most ${MAX_EMAIL_BYTES} bytes in all.`
  );
}

export function describePasswordRule(): string {
  return (
    `A password needs at least ${MIN_PASSWORD_LENGTH} characters, at most ${MAX_PASSWORD_BYTES} bytes, ` +
    `and no control characters.`
  );
}

/** One sentence saying what is wrong with this particular email. */
export function explainInvalidEmail(e: InvalidEmail): string {
  switch (e.why) {
    case 'empty':
      return 'Enter an email address.';
    case 'too_long':
      return `That email address is longer than ${MAX_EMAIL_BYTES} bytes.`;
    case 'bad_chars':
      return 'An email address cannot contain spaces or invisible characters.';
    case 'at_sign':
      return 'An email address needs exactly one @.';
    case 'local_part':
      return `The part before the @ must be 1 to ${MAX_LOCAL_PART_BYTES} bytes long.`;
    case 'domain':
      return 'The part after the @ must be a domain such as example.org, or localhost.';
  }
}

/** One sentence saying what is wrong with this particular password. */
export function explainWeakPassword(e: WeakPassword): string {
  switch (e.why) {
    case 'too_short':
      return `That password is too short: use at least ${e.minLength} characters.`;
    case 'too_long':
      return `That password is too long: use at most ${e.maxBytes} bytes.`;
    case 'control_chars':
      return 'A password cannot contain control characters.';
  }
}
