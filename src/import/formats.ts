/**
 * `customer-gateway import --format FORMAT`: one mapper per source format turns a raw record
 * (from ./sources.ts) into a createCustomer input plus the import-only extras and members.
 *
 * Mappers are pure and only reshape: each documents its field table at its top (./mappers/).
 * They report structural problems (not an object, email missing or not a string, a field of the
 * wrong JSON type, a shape that cannot be converted) all at once, as FieldErrors naming the
 * field as it is in the source record. Everything else (email syntax, phone numbers, countries,
 * lengths, dates, custom field types) is left to the engine, which runs every record through
 * the same validation as createCustomer.
 */
import { mapCrm } from './mappers/crm';
import { mapCsv } from './mappers/csv';
import { mapGroupMember } from './mappers/group-members';
import { mapKajabi } from './mappers/kajabi';
import { mapKhoros } from './mappers/khoros';
import { mapNdjson } from './mappers/ndjson';
import { mapRapidly } from './mappers/rapidly';
import { IMPORT_FORMATS, type ImportFormat, type MapResult } from './types';

export { IMPORT_FORMATS } from './types';
export type { CustomFieldKeyUse, ImportExtras, ImportFormat, ImportMember, ImportRecord, MapResult } from './types';
export { coerceCustomFieldText, normaliseCustomFieldKey } from './custom-field-keys';

const MAPPERS: Readonly<Record<ImportFormat, (raw: unknown) => MapResult>> = {
  ndjson: mapNdjson,
  csv: mapCsv,
  kajabi: mapKajabi,
  crm: mapCrm,
  khoros: mapKhoros,
  rapidly: mapRapidly,
  'group-members': mapGroupMember,
};

export function isImportFormat(value: string): value is ImportFormat {
  return (IMPORT_FORMATS as readonly string[]).includes(value);
}

export function mapRecord(format: ImportFormat, raw: unknown): MapResult {
  return MAPPERS[format](raw);
}
