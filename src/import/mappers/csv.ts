/**
 * csv: one customer per row, the header naming the columns. The row is reshaped into the
 * gateway's own field names and mapped like an ndjson record (./ndjson.ts).
 *
 * | column | import |
 * |---|---|
 * | email, externalId, firstName, lastName, name, phone, birthDate, gender, avatarUrl, internalNote | input.<same> |
 * | emailVerified, unsubscribed: true/false, 1/0, yes/no (any case) | input.<same> |
 * | type: INDIVIDUAL / TEAM (any case) | input.type |
 * | profile.bio, profile.location, profile.website, profile.socials.twitter / .facebook / .instagram | input.profile |
 * | billingAddress.line1 / .line2 / .city / .state / .postalCode / .country | input.billingAddress |
 * | metadata.<key> (the value stays text) | input.metadata.<key> |
 * | customFields.<key> (the value stays text) | input.customFields [{ key, value }] |
 * | netRevenue, signInCount (a whole number), lastRequestAt, bouncedAt, createdAt, createdBy, createdVia | extras.<same> |
 * | status ACTIVE / ARCHIVED, archivedAt, archivedBy, archivedVia, archiveReason, phoneRegion | extras.<same> |
 * | id, version, updatedAt, updatedBy, updatedVia, phoneCountry | ignored (export columns the target assigns or derives) |
 * | any other column with a value | INVALID: not a column the csv format knows |
 *
 * An empty (or blank) cell means the field is omitted. CSV has only text, so custom field values
 * arrive as strings: the engine converts them with `coerceCustomFieldText` once it knows each
 * field's type. Members cannot be given in CSV.
 */
import { Problems } from '../../services/validation';
import { parseBooleanText } from '../custom-field-keys';
import { buildRecord, isPlainObject, type RawObject } from '../raw';
import type { MapResult } from '../types';
import { fillGatewayShape } from './ndjson';

const TEXT_COLUMNS = [
  'email', 'externalId', 'firstName', 'lastName', 'name', 'phone', 'birthDate', 'gender', 'avatarUrl', 'internalNote', 'type',
  'profile.bio', 'profile.location', 'profile.website', 'profile.socials.twitter', 'profile.socials.facebook', 'profile.socials.instagram',
  'billingAddress.line1', 'billingAddress.line2', 'billingAddress.city', 'billingAddress.state', 'billingAddress.postalCode', 'billingAddress.country',
  'netRevenue', 'lastRequestAt', 'bouncedAt', 'createdAt', 'createdBy', 'createdVia',
  'status', 'archivedAt', 'archivedBy', 'archivedVia', 'archiveReason', 'phoneRegion',
];
const BOOLEAN_COLUMNS = new Set(['emailVerified', 'unsubscribed']);
const COUNT_COLUMNS = new Set(['signInCount']);
const KNOWN_COLUMNS = new Set([...TEXT_COLUMNS, ...BOOLEAN_COLUMNS, ...COUNT_COLUMNS]);
const IGNORED_COLUMNS = new Set(['id', 'version', 'updatedAt', 'updatedBy', 'updatedVia', 'phoneCountry']);

/** A cell as the JSON value its column takes; undefined (and a problem) when it does not convert. */
function cellValue(column: string, cell: string, problems: Problems): string | number | boolean | undefined {
  const path = column.split('.');
  if (BOOLEAN_COLUMNS.has(column)) {
    const flag = parseBooleanText(cell);
    if (flag === undefined) problems.add(path, 'INVALID', 'must be true, false, 1, 0, yes or no');
    return flag;
  }
  if (!COUNT_COLUMNS.has(column)) return cell;
  if (/^\s*\d+\s*$/.test(cell)) return Number(cell);
  problems.add(path, 'INVALID', 'must be a whole number of at least 0');
  return undefined;
}

/** Sets a dotted path; only whitelisted column names get here, so no key is '__proto__'. */
function setPath(target: RawObject, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = isPlainObject(next) ? next : (node[key] = {});
  }
  node[path[path.length - 1]] = value;
}

/** Metadata and custom field keys come from the file: kept in entries, never assigned as properties. */
interface OpenColumns {
  metadata: [string, string][];
  customFields: { key: string; value: string }[];
}

function placeCell(shape: RawObject, open: OpenColumns, column: string, cell: string, problems: Problems): void {
  const [head, ...rest] = column.split('.');
  if (head === 'metadata' && rest.length > 0) open.metadata.push([rest.join('.'), cell]);
  else if (head === 'customFields' && rest.length > 0) open.customFields.push({ key: rest.join('.'), value: cell });
  else if (KNOWN_COLUMNS.has(column)) {
    const value = cellValue(column, cell, problems);
    if (value !== undefined) setPath(shape, column.split('.'), value);
  } else if (!IGNORED_COLUMNS.has(column)) problems.add(column.split('.'), 'INVALID', 'is not a column the csv format knows');
}

/** A CSV row (column name -> cell text) in the gateway's nested field names. */
function reshapeCsvRow(row: RawObject, problems: Problems): RawObject {
  const shape: RawObject = {};
  const open: OpenColumns = { metadata: [], customFields: [] };
  for (const [column, cell] of Object.entries(row)) {
    if (typeof cell !== 'string') {
      problems.add([column], 'INVALID', 'a CSV cell must be text');
    } else if (cell.trim() !== '') {
      placeCell(shape, open, column.trim(), cell, problems);
    }
  }
  if (open.metadata.length > 0) shape.metadata = Object.fromEntries(open.metadata);
  if (open.customFields.length > 0) shape.customFields = open.customFields;
  return shape;
}

export function mapCsv(raw: unknown): MapResult {
  const problems = new Problems();
  const shape = isPlainObject(raw) ? reshapeCsvRow(raw, problems) : raw;
  return buildRecord(shape, fillGatewayShape, { problems });
}
