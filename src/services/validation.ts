/**
 * Pure input validation and normalisation for mutation inputs. No database access: uniqueness
 * and existence checks (TAKEN, NOT_FOUND, ...) belong to the services that call these.
 *
 * Every checker takes the raw value, the field path relative to the mutation `input` and a
 * `Problems` collector. It returns the normalised value, or `undefined` when it recorded a
 * problem, so a caller can run all checkers first and write nothing if any failed.
 */
import crypto from 'node:crypto';
import { iso31661, iso31662 } from 'iso-3166';
import { isSupportedCountry, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { CountryCode } from 'libphonenumber-js/max';
import type { AddressInput, UserErrorCode as GeneratedUserErrorCode } from '../generated/graphql';
import type {
  AddressRecord,
  CustomFieldScalar,
  CustomFieldValueType,
  MetadataValue,
} from '../store/records';

export type UserErrorCode = GeneratedUserErrorCode;

export interface FieldError {
  field: string[] | null;
  message: string;
  code: UserErrorCode;
}

/** Collects every problem of one input so all are reported at once. */
export class Problems {
  readonly list: FieldError[] = [];

  add(field: string[] | null, code: UserErrorCode, message: string): void {
    this.list.push({ field, code, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }
}

export const LIMITS = {
  name: 256,
  email: 254,
  id: 128,
  freeText: 10000,
  shortText: 256,
  url: 2048,
  metadataKeys: 50,
  metadataKeyLength: 40,
  metadataValueLength: 500,
  list: 250,
  customFieldKey: 40,
  customFieldString: 10000,
} as const;

// C0 and C1 controls and DEL, except tab, line feed and carriage return which free text may hold.
const CONTROL_CHARS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
// A UTF-16 surrogate without its partner is not Unicode text: SQLite and PostgreSQL would store
// U+FFFD instead (silently changing the value), and PostgreSQL's jsonb rejects it outright.
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why a string cannot be stored as given, or null when it can. PostgreSQL refuses NUL in text
 * and jsonb, so every string that reaches the database goes through this (free text, metadata,
 * custom field values), not only names.
 */
function unstorable(value: string): string | null {
  if (CONTROL_CHARS.test(value)) return 'must not contain control characters';
  if (LONE_SURROGATE.test(value)) return 'must be well-formed Unicode (no unpaired surrogates)';
  return null;
}
const DATE_SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;
const EARLIEST_BIRTH_DATE = '1900-01-01';
// The furthest any time zone runs ahead of UTC: a birth date of "today" there is still valid.
const MAX_UTC_OFFSET_MS = 14 * 60 * 60 * 1000;

/** Length as a person counts it: an emoji is one character, not two UTF-16 units. */
function charCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

function tooLong(max: number): string {
  return `must be at most ${max} characters`;
}

export function checkText(
  value: string,
  max: number,
  path: string[],
  problems: Problems,
): string | null | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (charCount(trimmed) > max) {
    problems.add(path, 'TOO_LONG', tooLong(max));
    return undefined;
  }
  const bad = unstorable(trimmed);
  if (bad) {
    problems.add(path, 'INVALID', bad);
    return undefined;
  }
  return trimmed;
}

// RFC 5322 "atext" plus non-ASCII letters and digits (RFC 6531), dot-separated without empty atoms.
const EMAIL_LOCAL = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;
const DOMAIN_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Letters only, or an internationalised TLD in its punycode form (xn--p1ai).
const TOP_LEVEL_DOMAIN = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

function isEmailSyntax(email: string): boolean {
  const at = email.indexOf('@');
  if (at <= 0 || at !== email.lastIndexOf('@')) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (charCount(local) > 64 || !EMAIL_LOCAL.test(local)) return false;
  const labels = domain.split('.');
  if (labels.length < 2 || domain.length > 253) return false;
  return labels.every((label) => DOMAIN_LABEL.test(label)) && TOP_LEVEL_DOMAIN.test(labels[labels.length - 1]);
}

export function checkEmail(value: string, path: string[], problems: Problems): string | undefined {
  const email = value.trim().toLowerCase();
  if (email === '') {
    problems.add(path, 'REQUIRED', 'is required');
    return undefined;
  }
  if (charCount(email) > LIMITS.email) {
    problems.add(path, 'TOO_LONG', tooLong(LIMITS.email));
    return undefined;
  }
  if (!isEmailSyntax(email)) {
    problems.add(path, 'INVALID', 'is not a valid email address');
    return undefined;
  }
  return email;
}

const PHONE_MAX = 64;

export function checkPhone(
  value: string,
  defaultCountry: string | null,
  path: string[],
  problems: Problems,
): { phone: string; country: string | null } | undefined {
  const raw = value.trim();
  // Bounded before parsing so a huge string never reaches the parser.
  if (charCount(raw) > PHONE_MAX) {
    problems.add(path, 'TOO_LONG', tooLong(PHONE_MAX));
    return undefined;
  }
  // A country the phone metadata does not know (Antarctica, say) cannot supply a calling code.
  const fallback: CountryCode | undefined =
    defaultCountry !== null && isSupportedCountry(defaultCountry) ? defaultCountry : undefined;
  const number = raw === '' ? undefined : parsePhoneNumberFromString(raw, fallback);
  if (!number?.isValid()) {
    const hint = fallback === undefined && !raw.startsWith('+')
      ? '; include the country code (like +1) or set a billing address country'
      : '';
    problems.add(path, 'INVALID', `is not a valid phone number${hint}`);
    return undefined;
  }
  // E.164 has no room for an extension; dropping it silently would lose what the caller sent.
  if (number.ext) {
    problems.add(path, 'INVALID', 'must not include an extension');
    return undefined;
  }
  return { phone: number.number, country: number.country ?? null };
}

interface CountryData {
  /** Alpha-2 and alpha-3 codes, upper-case, to the alpha-2 code. */
  byCode: Map<string, string>;
  /** Alpha-2 country code to its subdivision codes without the 'CC-' prefix ('WI'). */
  subdivisions: Map<string, Set<string>>;
}

let countryData: CountryData | undefined;

function countries(): CountryData {
  if (countryData) return countryData;
  const byCode = new Map<string, string>();
  for (const entry of iso31661) {
    if (entry.state !== 'assigned') continue;
    byCode.set(entry.alpha2, entry.alpha2);
    byCode.set(entry.alpha3, entry.alpha2);
  }
  const subdivisions = new Map<string, Set<string>>();
  // Keyed by the code's prefix, not `parent`: second-level entries name a subdivision as parent (AZ-NX).
  for (const { code } of iso31662) {
    const dash = code.indexOf('-');
    const country = code.slice(0, dash);
    const set = subdivisions.get(country) ?? new Set<string>();
    set.add(code.slice(dash + 1));
    subdivisions.set(country, set);
  }
  countryData = { byCode, subdivisions };
  return countryData;
}

export function checkCountry(value: string, path: string[], problems: Problems): string | undefined {
  const code = value.trim().toUpperCase();
  if (code === '') {
    problems.add(path, 'REQUIRED', 'is required');
    return undefined;
  }
  const alpha2 = countries().byCode.get(code);
  if (alpha2 === undefined) {
    problems.add(path, 'INVALID', 'is not an ISO 3166-1 country code');
    return undefined;
  }
  return alpha2;
}

function checkState(
  value: string,
  country: string | undefined,
  path: string[],
  problems: Problems,
): string | null | undefined {
  const known = country === undefined ? undefined : countries().subdivisions.get(country);
  // Without a valid country, or for one with no subdivisions in the data, the state is free text.
  if (country === undefined || known === undefined) return checkText(value, LIMITS.shortText, path, problems);
  const code = value.trim().toUpperCase();
  if (code === '') return null;
  const local = code.startsWith(`${country}-`) ? code.slice(country.length + 1) : code;
  if (!known.has(local)) {
    problems.add(path, 'INVALID', `is not a subdivision of ${country}`);
    return undefined;
  }
  return local;
}

function optionalText(
  value: string | null | undefined,
  path: string[],
  problems: Problems,
): string | null | undefined {
  return value == null ? null : checkText(value, LIMITS.shortText, path, problems);
}

export function checkAddress(
  input: AddressInput,
  path: string[],
  problems: Problems,
): AddressRecord | undefined {
  const before = problems.list.length;
  const country = checkCountry(input.country ?? '', [...path, 'country'], problems);
  const address = {
    line1: optionalText(input.line1, [...path, 'line1'], problems),
    line2: optionalText(input.line2, [...path, 'line2'], problems),
    city: optionalText(input.city, [...path, 'city'], problems),
    state: input.state == null ? null : checkState(input.state, country, [...path, 'state'], problems),
    postalCode: optionalText(input.postalCode, [...path, 'postalCode'], problems),
  };
  if (problems.list.length > before || country === undefined) return undefined;
  return {
    line1: address.line1 ?? null,
    line2: address.line2 ?? null,
    city: address.city ?? null,
    state: address.state ?? null,
    postalCode: address.postalCode ?? null,
    country,
  };
}

export function checkUrl(value: string, path: string[], problems: Problems): string | null | undefined {
  const url = value.trim();
  if (url === '') return null;
  if (charCount(url) > LIMITS.url) {
    problems.add(path, 'TOO_LONG', tooLong(LIMITS.url));
    return undefined;
  }
  // The URL parser silently drops tabs and newlines, so check the text as given first.
  const parsed = /[\s\u0000-\u001F\u007F-\u009F]/.test(url) || !URL.canParse(url) ? undefined : new URL(url);
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    problems.add(path, 'INVALID', 'must be an absolute http(s) URL');
    return undefined;
  }
  // Kept as typed (no trailing slash or case folding added) so clients read back what they sent.
  return url;
}

/** True when a YYYY-MM-DD string names a day that exists (no 2023-02-29). */
function isRealDate(value: string): boolean {
  const match = DATE_SHAPE.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export function checkBirthDate(value: string, path: string[], problems: Problems): string | undefined {
  const date = value.trim();
  if (!isRealDate(date)) {
    problems.add(path, 'INVALID', 'must be a real date in YYYY-MM-DD format');
    return undefined;
  }
  const latest = new Date(Date.now() + MAX_UTC_OFFSET_MS).toISOString().slice(0, 10);
  if (date > latest) {
    problems.add(path, 'INVALID', 'must not be in the future');
    return undefined;
  }
  if (date < EARLIEST_BIRTH_DATE) {
    problems.add(path, 'INVALID', `must not be before ${EARLIEST_BIRTH_DATE}`);
    return undefined;
  }
  return date;
}

function checkMetadataEntry(key: string, value: unknown, path: string[], problems: Problems): boolean {
  const field = [...path, key];
  if (key.length === 0) {
    problems.add(field, 'INVALID', 'metadata keys must not be empty');
    return false;
  }
  if (charCount(key) > LIMITS.metadataKeyLength) {
    problems.add(field, 'TOO_LONG', `metadata keys ${tooLong(LIMITS.metadataKeyLength)}`);
    return false;
  }
  if (typeof value === 'string' && charCount(value) > LIMITS.metadataValueLength) {
    problems.add(field, 'TOO_LONG', `metadata values ${tooLong(LIMITS.metadataValueLength)}`);
    return false;
  }
  const bad = unstorable(key) ?? (typeof value === 'string' ? unstorable(value) : null);
  if (bad) {
    problems.add(field, 'INVALID', `metadata keys and values ${bad}`);
    return false;
  }
  const scalar =
    typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
  if (!scalar) {
    problems.add(field, 'INVALID', 'metadata values must be strings, numbers or booleans');
    return false;
  }
  return true;
}

export function checkMetadata(
  value: Record<string, unknown>,
  path: string[],
  problems: Problems,
): Record<string, MetadataValue> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.add(path, 'INVALID', 'must be a JSON object');
    return undefined;
  }
  const entries = Object.entries(value);
  let ok = true;
  if (entries.length > LIMITS.metadataKeys) {
    problems.add(path, 'LIMIT_EXCEEDED', `must have at most ${LIMITS.metadataKeys} keys`);
    ok = false;
  }
  for (const [key, entry] of entries) {
    if (!checkMetadataEntry(key, entry, path, problems)) ok = false;
  }
  // fromEntries defines own properties, so a '__proto__' key stays data instead of a prototype.
  return ok ? (Object.fromEntries(entries) as Record<string, MetadataValue>) : undefined;
}

const CUSTOM_FIELD_KEY = /^[a-z][a-z0-9_]*$/;

export function checkCustomFieldKey(key: string, path: string[], problems: Problems): string | undefined {
  if (key.length > LIMITS.customFieldKey) {
    problems.add(path, 'TOO_LONG', tooLong(LIMITS.customFieldKey));
    return undefined;
  }
  if (!CUSTOM_FIELD_KEY.test(key)) {
    problems.add(
      path,
      'INVALID',
      'must start with a lower-case letter and hold only lower-case letters, digits and underscores',
    );
    return undefined;
  }
  return key;
}

function matchesType(valueType: CustomFieldValueType, value: unknown): value is CustomFieldScalar {
  switch (valueType) {
    case 'STRING':
      return typeof value === 'string';
    case 'NUMBER':
      return typeof value === 'number' && Number.isFinite(value);
    case 'BOOLEAN':
      return typeof value === 'boolean';
    case 'DATE':
      return typeof value === 'string' && isRealDate(value);
  }
}

export function checkCustomFieldValue(
  valueType: CustomFieldValueType,
  value: unknown,
  path: string[],
  problems: Problems,
): CustomFieldScalar | undefined {
  if (!matchesType(valueType, value)) {
    const hint = valueType === 'DATE' ? ' (a real date in YYYY-MM-DD format)' : '';
    problems.add(path, 'INVALID', `must be a ${valueType}${hint}`);
    return undefined;
  }
  if (typeof value === 'string' && charCount(value) > LIMITS.customFieldString) {
    problems.add(path, 'TOO_LONG', tooLong(LIMITS.customFieldString));
    return undefined;
  }
  const bad = typeof value === 'string' ? unstorable(value) : null;
  if (bad) {
    problems.add(path, 'INVALID', bad);
    return undefined;
  }
  return value;
}

const DECIMAL = /^([+-])?(\d{1,18})(?:\.(\d{1,6}))?$/;

export function checkDecimal(value: string, path: string[], problems: Problems): string | undefined {
  const match = DECIMAL.exec(value.trim());
  if (!match) {
    problems.add(path, 'INVALID', 'must be a decimal number like 123.45 (at most 18 digits before the point and 6 after)');
    return undefined;
  }
  const [, sign, whole, fraction] = match;
  const integer = whole.replace(/^0+(?=\d)/, '');
  const digits = fraction === undefined ? integer : `${integer}.${fraction}`;
  // '-0' and '-0.00' are zero; a minus sign on them would make equal amounts compare unequal.
  const isZero = /^[0.]+$/.test(digits);
  return sign === '-' && !isZero ? `-${digits}` : digits;
}

export function gravatarUrl(email: string): string {
  // crypto.hash is the one-shot form (Node 20.12+), a few times cheaper per call than createHash.
  const hash = crypto.hash('sha256', email.trim().toLowerCase(), 'hex');
  return `https://www.gravatar.com/avatar/${hash}?d=404`;
}
