/**
 * khoros: Khoros Marketing createCustomer bodies: a few core keys and any number of
 * workspace-defined custom fields at the top level (customSearchableCustomerFieldOne, ...).
 *
 * | Khoros | import |
 * |---|---|
 * | email | input.email |
 * | firstName / first_name | input.firstName |
 * | lastName / last_name | input.lastName |
 * | name | input.name |
 * | phone | input.phone |
 * | externalId / external_id, else id | input.externalId |
 * | url (Khoros' agent link; the gateway builds its own) | not imported |
 * | any other key with a string, number or boolean value | input.customFields [{ key: normalised key, value }] and customFieldKeys [{ key, valueType }] |
 *
 * Keys are matched after normalisation to the custom field key rule (normaliseCustomFieldKey:
 * customSearchableCustomerFieldOne -> custom_searchable_customer_field_one, at most 40
 * characters), so `First_Name` is the core first name too. The value type is inferred: a number
 * is NUMBER, a boolean BOOLEAN, a 'YYYY-MM-DD' string DATE, any other string STRING. Null and
 * empty-string values are left out. Structural errors: a key that cannot be normalised, an
 * object or array value, two keys that normalise to one with different values.
 */
import { inferValueType, normaliseCustomFieldKey } from '../custom-field-keys';
import { buildRecord, type Draft, type RawReader, type Read } from '../raw';
import type { MapResult } from '../types';

type CoreField = 'email' | 'firstName' | 'lastName' | 'name' | 'phone' | 'externalId' | 'id';

const CORE_KEYS: Readonly<Record<string, CoreField>> = {
  email: 'email',
  first_name: 'firstName',
  last_name: 'lastName',
  name: 'name',
  phone: 'phone',
  external_id: 'externalId',
  id: 'id',
};
const IGNORED_KEYS = new Set(['url']);
/** Ids and phone numbers may come as JSON numbers. */
const NUMBER_AS_TEXT = new Set<CoreField>(['phone', 'externalId', 'id']);

/** Each normalised key with the source key it came from; clashes and unusable keys reported. */
function normaliseKeys(r: RawReader): Map<string, string> {
  const sources = new Map<string, string>();
  for (const source of r.keys()) {
    const key = normaliseCustomFieldKey(source);
    const earlier = key === undefined ? undefined : sources.get(key);
    if (key === undefined) r.invalid(source, 'cannot become a custom field key: it needs a letter to start with');
    else if (earlier === undefined) sources.set(key, source);
    else if (r.value(earlier) !== r.value(source)) r.invalid(source, `clashes with "${earlier}": both become "${key}"`);
  }
  return sources;
}

function addCustomField(r: RawReader, draft: Draft, key: string, source: string): void {
  const value = r.value(source);
  if (value === undefined || value === '') return;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    r.invalid(source, 'must be a string, number or boolean to become a custom field');
    return;
  }
  (draft.input.customFields ??= []).push({ key, value });
  draft.customFieldKeys.push({ key, valueType: inferValueType(value) });
}

function fillKhoros(r: RawReader, draft: Draft): void {
  const sources = normaliseKeys(r);
  const core = new Map<CoreField, string>();
  for (const [key, source] of sources) {
    const field = Object.hasOwn(CORE_KEYS, key) ? CORE_KEYS[key] : undefined;
    if (field !== undefined) core.set(field, source);
    else if (!IGNORED_KEYS.has(key)) addCustomField(r, draft, key, source);
  }
  const read = (field: CoreField): Read<string> => {
    const source = core.get(field);
    if (source === undefined) return undefined;
    return NUMBER_AS_TEXT.has(field) ? r.text(source) : r.string(source);
  };
  draft.input.email = r.email(core.get('email') ?? 'email');
  draft.input.firstName = read('firstName');
  draft.input.lastName = read('lastName');
  draft.input.name = read('name');
  draft.input.phone = read('phone');
  draft.input.externalId = read('externalId') ?? read('id');
}

export function mapKhoros(raw: unknown): MapResult {
  return buildRecord(raw, fillKhoros);
}
