/**
 * crm: records of the CRM's `/v1/crm/customers` list (`data.users[]`), get (`data.user`) and
 * export (`data.items[]`) responses.
 *
 * | CRM | import |
 * |---|---|
 * | firstName, lastName, email, phone, internalNote | input.<same> |
 * | unsubscribed | input.unsubscribed |
 * | phoneCountry (ISO alpha-2, used only when phone has no leading '+') | extras.phoneRegion (upper case) |
 * | birthDate: 'YYYY-MM-DD', or an ISO date-time whose date part is taken as written | input.birthDate |
 * | gender: a string as is; a number as its text ('1'); an object's `name`/`label`/`value` string; else dropped without error | input.gender |
 * | archivedAt (set -> extras.status ARCHIVED), archivedBy, archivedVia | extras.<same> |
 * | createdAt, createdVia, createdBy | extras.<same> |
 * | id | input.externalId: the CRM's own id is, from the gateway's side, the customer's id in the system it comes from |
 * | phoneCountryCalling, number, cityId, passcode, updatedAt/Via/By | not imported |
 *
 * Gender is lenient because the seed itself documents it as a number on create and as an
 * object (`{}`) on read: neither is the customer's own wording, and rejecting every record
 * over it would make the format unusable.
 */
import { buildRecord, isPlainObject, type Draft, type RawReader, type Read } from '../raw';
import type { MapResult } from '../types';

const ALPHA2 = /^[A-Za-z]{2}$/;
const DATE_PART = /^(\d{4}-\d{2}-\d{2})[T ]/;

function readGender(r: RawReader): string | undefined {
  const value = r.value('gender');
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (!isPlainObject(value)) return undefined;
  const label = [value.name, value.label, value.value].find((entry) => typeof entry === 'string');
  return typeof label === 'string' ? label : undefined;
}

function readBirthDate(r: RawReader): string | undefined {
  const value = r.string('birthDate');
  // A birth date is a calendar day: the date as written, never shifted by a time zone.
  return value == null ? undefined : (DATE_PART.exec(value.trim())?.[1] ?? value);
}

/** The phone's region, only needed (and only trusted) for a number without a country code. */
function readPhoneRegion(r: RawReader, phone: Read<string>): string | undefined {
  const country = r.string('phoneCountry')?.trim();
  if (phone == null || phone.trim().startsWith('+') || country === undefined || !ALPHA2.test(country)) return undefined;
  return country.toUpperCase();
}

function fillCrm(r: RawReader, draft: Draft): void {
  const phone = r.text('phone');
  draft.input = {
    email: r.email(),
    externalId: r.text('id'),
    firstName: r.string('firstName'),
    lastName: r.string('lastName'),
    phone,
    birthDate: readBirthDate(r),
    gender: readGender(r),
    unsubscribed: r.boolean('unsubscribed'),
    internalNote: r.string('internalNote'),
  };
  const archivedAt = r.timestamp('archivedAt');
  draft.extras = {
    phoneRegion: readPhoneRegion(r, phone),
    createdAt: r.timestamp('createdAt'),
    createdBy: r.string('createdBy'),
    createdVia: r.string('createdVia'),
    status: archivedAt == null ? undefined : 'ARCHIVED',
    archivedAt,
    archivedBy: r.string('archivedBy'),
    archivedVia: r.string('archivedVia'),
  };
}

export function mapCrm(raw: unknown): MapResult {
  return buildRecord(raw, fillCrm);
}
