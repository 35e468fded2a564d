/**
 * Shared reshaping helpers for the format mappers: a typed reader over one raw JSON object that
 * records structural problems (wrong JSON type, missing email) instead of throwing, and the
 * record builder every mapper runs through.
 *
 * Mappers only reshape: values of the right JSON type pass through untouched (no trimming, no
 * format checks), because the engine validates every record exactly as createCustomer does.
 * JSON null counts as absent (a create has nothing to clear, and a vendor's null must not wipe
 * what another source set), except where a mapper asks to keep nulls (ndjson, see RawReader).
 */
import type { CreateCustomerInput } from '../generated/graphql';
import { Problems } from '../services/validation';
import type { CustomFieldKeyUse, ImportExtras, ImportMember, MapResult } from './types';

export type RawObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A JSON:API resource's attributes with its `id` (JSON:API forbids an `id` attribute, so nothing is overwritten). */
export function flattenResource(attributes: RawObject, id: unknown): RawObject {
  // Spread defines own properties, so an attribute named '__proto__' stays data.
  return id === undefined ? { ...attributes } : { ...attributes, id };
}

/** JSON:API resource `{ type, id, attributes }` -> its attributes plus `id`; anything else as is. */
export function unwrapJsonApi(value: unknown): unknown {
  if (!isPlainObject(value) || typeof value.type !== 'string' || !isPlainObject(value.attributes)) return value;
  return flattenResource(value.attributes, value.id);
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** A copy without undefined entries, or undefined when nothing is left (an empty profile is no profile). */
export function compact<T extends object>(value: T): T | undefined {
  const entries = Object.entries(value).filter(([, entry]) => entry !== undefined);
  // fromEntries keeps exactly the declared keys of T minus the undefined ones.
  return entries.length === 0 ? undefined : (Object.fromEntries(entries) as T);
}

const ZONELESS_OR_ZONED = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Vendor timestamps to ISO 8601 UTC (`2022-02-22T14:59:52.000Z`). A timestamp without a zone
 * (the business API's `2022-02-22 14:59:52`) is taken as UTC rather than the importing
 * machine's local time. Text that is no timestamp passes through for the engine to reject.
 */
export function toUtcTimestamp(value: string): string {
  const match = ZONELESS_OR_ZONED.exec(value.trim());
  if (!match) return value;
  const [, date, time = '00:00:00', zone = 'Z'] = match;
  // Date rolls 2023-02-30 over into March; a day that does not exist is no timestamp.
  const day = new Date(`${date}T00:00:00Z`);
  if (Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== date) return value;
  // '+0200' and '+02' are ISO 8601 too, but Date.parse wants '+02:00'.
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
  const parsed = new Date(`${date}T${time}${offset}`);
  return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString();
}

/** A value read from a record: undefined when absent, null only for a reader that keeps nulls. */
export type Read<T> = T | null | undefined;

/**
 * Reads typed values out of one raw object, recording every structural problem. JSON null reads
 * as absent unless `keepNull` is set (ndjson: an export is a full snapshot, so its nulls clear
 * fields when a re-import updates a customer).
 */
export class RawReader {
  constructor(
    readonly source: RawObject,
    readonly problems: Problems,
    readonly path: readonly string[] = [],
    readonly keepNull = false,
  ) {}

  at(key: string): string[] {
    return [...this.path, key];
  }

  keys(): string[] {
    return Object.keys(this.source);
  }

  has(key: string): boolean {
    return Object.hasOwn(this.source, key);
  }

  /** The key's own value; JSON null reads as undefined unless this reader keeps nulls. */
  value(key: string): unknown {
    const value = this.has(key) ? this.source[key] : undefined;
    return value === null && !this.keepNull ? undefined : value;
  }

  invalid(key: string, message: string): undefined {
    this.problems.add(this.at(key), 'INVALID', message);
    return undefined;
  }

  string(key: string): Read<string> {
    const value = this.value(key);
    if (value == null || typeof value === 'string') return value;
    return this.invalid(key, `must be a string, not ${jsonType(value)}`);
  }

  /** Ids, phone numbers and postal codes: vendors send some of them as JSON numbers. */
  text(key: string): Read<string> {
    const value = this.value(key);
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return this.string(key);
  }

  /** The email: missing or null is REQUIRED, wrong type INVALID; its format is the engine's to check. */
  email(key = 'email'): string | undefined {
    if (this.value(key) == null) {
      this.problems.add(this.at(key), 'REQUIRED', 'is required');
      return undefined;
    }
    return this.string(key) ?? undefined;
  }

  boolean(key: string): Read<boolean> {
    const value = this.value(key);
    if (value == null || typeof value === 'boolean') return value;
    return this.invalid(key, `must be true or false, not ${jsonType(value)}`);
  }

  count(key: string): Read<number> {
    const value = this.value(key);
    if (value == null || (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) return value;
    return this.invalid(key, 'must be a whole number of at least 0');
  }

  /** A decimal amount: a string, or a JSON number turned into one (the engine checks the digits). */
  decimal(key: string): Read<string> {
    return this.text(key);
  }

  /** A timestamp in ISO 8601 UTC; an empty string is how some vendors say "never". */
  timestamp(key: string): Read<string> {
    const value = this.string(key);
    if (value == null) return value;
    return value.trim() === '' ? undefined : toUtcTimestamp(value);
  }

  /** One of a fixed set of values, matched case-insensitively; `choices` maps lower case to the result. */
  choice<T extends string>(key: string, choices: Readonly<Record<string, T>>): Read<T> {
    const value = this.string(key);
    if (value == null) return value;
    const lower = value.trim().toLowerCase();
    if (Object.hasOwn(choices, lower)) return choices[lower];
    return this.invalid(key, `must be one of ${Object.keys(choices).join(', ')}`);
  }

  object(key: string): Read<RawReader> {
    const value = this.value(key);
    if (value == null) return value;
    if (!isPlainObject(value)) return this.invalid(key, `must be an object, not ${jsonType(value)}`);
    return new RawReader(value, this.problems, this.at(key), this.keepNull);
  }

  /** An array; null reads as absent even for a reader that keeps nulls (there is no list to clear). */
  array(key: string): unknown[] | undefined {
    const value = this.value(key);
    if (value == null || Array.isArray(value)) return value ?? undefined;
    return this.invalid(key, `must be an array, not ${jsonType(value)}`);
  }

  /** An array of objects, each as a reader whose problems name its index. */
  objects(key: string): RawReader[] {
    const readers: RawReader[] = [];
    (this.array(key) ?? []).forEach((element, index) => {
      const path = [...this.at(key), String(index)];
      if (isPlainObject(element)) readers.push(new RawReader(element, this.problems, path, this.keepNull));
      else this.problems.add(path, 'INVALID', `must be an object, not ${jsonType(element)}`);
    });
    return readers;
  }
}

/** What a mapper fills in; `input.email` stays optional until the builder checks it. */
export interface Draft {
  input: Partial<CreateCustomerInput>;
  extras: ImportExtras;
  members: ImportMember[];
  customFieldKeys: CustomFieldKeyUse[];
}

/**
 * Runs one mapper over a raw record: reports the record as not an object, or every structural
 * problem the mapper found at once, or the record with undefined fields left out.
 * `problems` lets a mapper that reshapes first (csv) carry its own findings in; `keepNull`
 * passes the record's JSON nulls on (see RawReader).
 */
export function buildRecord(
  raw: unknown,
  fill: (reader: RawReader, draft: Draft) => void,
  options: { problems?: Problems; keepNull?: boolean } = {},
): MapResult {
  const problems = options.problems ?? new Problems();
  if (!isPlainObject(raw)) {
    problems.add(null, 'INVALID', `a record must be a JSON object, not ${raw === undefined ? 'nothing' : jsonType(raw)}`);
    return { ok: false, errors: problems.list };
  }
  const draft: Draft = { input: {}, extras: {}, members: [], customFieldKeys: [] };
  fill(new RawReader(raw, problems, [], options.keepNull), draft);
  const input = compact(draft.input);
  if (input?.email === undefined && problems.empty) problems.add(['email'], 'REQUIRED', 'is required');
  if (!problems.empty || input?.email === undefined) return { ok: false, errors: problems.list };
  const record = {
    input: { ...input, email: input.email },
    extras: compact(draft.extras) ?? {},
    members: draft.members,
    customFieldKeys: draft.customFieldKeys,
  };
  return { ok: true, record };
}
