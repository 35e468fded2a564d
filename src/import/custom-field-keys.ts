/**
 * Turning vendors' free-form field names and values into custom fields: key normalisation and
 * value-type inference for khoros, and the text coercion CSV values need once the engine knows
 * a field's definition.
 */
import type { CustomFieldValueType } from '../generated/graphql';
import { LIMITS } from '../services/validation';

/** The custom field key rule (validation.ts checks it again when the key is used). */
const KEY_RULE = /^[a-z][a-z0-9_]*$/;
const DATE_SHAPE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/**
 * A vendor's field name as a custom field key (`^[a-z][a-z0-9_]*$`, at most 40 characters):
 * camelCase becomes snake_case (customSearchableCustomerFieldOne ->
 * custom_searchable_customer_field_one, customerID -> customer_id), accents are dropped, every
 * other run of non-alphanumerics becomes one underscore, and a long key is cut at 40.
 * Undefined when no letter is left to start with ('1st', '', '!!').
 */
export function normaliseCustomFieldKey(name: string): string | undefined {
  const snake = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  // Cutting can leave a trailing underscore ('..._field_' at 40): drop it too.
  const key = snake.slice(0, LIMITS.customFieldKey).replace(/_+$/, '');
  return KEY_RULE.test(key) ? key : undefined;
}

/** The value type a field holding this value needs: a 'YYYY-MM-DD' string is taken as a DATE. */
export function inferValueType(value: string | number | boolean): CustomFieldValueType {
  if (typeof value === 'number') return 'NUMBER';
  if (typeof value === 'boolean') return 'BOOLEAN';
  return DATE_SHAPE.test(value) ? 'DATE' : 'STRING';
}

/** CSV and spreadsheet spellings of a boolean; undefined when the text is none of them. */
export function parseBooleanText(text: string): boolean | undefined {
  const lower = text.trim().toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 'yes') return true;
  if (lower === 'false' || lower === '0' || lower === 'no') return false;
  return undefined;
}

/**
 * A CSV cell for a custom field of the given type: CSV has only text, so a NUMBER or BOOLEAN
 * field's cell is converted once the definition is known. Text that does not convert is
 * returned as is, so validation reports it against the field's type.
 */
export function coerceCustomFieldText(valueType: CustomFieldValueType, text: string): string | number | boolean {
  if (valueType === 'NUMBER' && NUMBER_TEXT.test(text.trim())) return Number(text.trim());
  if (valueType === 'BOOLEAN') return parseBooleanText(text) ?? text;
  return valueType === 'DATE' ? text.trim() : text;
}
