/**
 * group-members: the business API's group members, bare or in their JSON:API wrapping
 * (`{ type: 'group-members', id, attributes: { ... } }`, the shape its responses have).
 *
 * | business API | import |
 * |---|---|
 * | externalId (string, or a JSON number) | input.externalId |
 * | name | input.firstName |
 * | surname | input.lastName |
 * | email | input.email |
 * | phone (no country code; kept as is: the engine reads it in the billing country) | input.phone |
 * | address { address1 address2 city state postalCode country } | input.billingAddress (address1 -> line1, address2 -> line2, "" -> omitted; alpha-3 countries like 'USA' are converted by validation) |
 * | status 'removed' | extras.status ARCHIVED, extras.archivedAt = statusUpdatedAt |
 * | createdAt 'YYYY-MM-DD HH:MM:SS' (UTC) | extras.createdAt as ISO 8601 UTC |
 * | id, businessId, userId, statusUpdatedAt (other statuses), actions, updatedAt | not imported |
 *
 * The API's timestamps carry no zone; they are read as UTC, not as the importing machine's
 * local time, so the same file imports the same way everywhere.
 */
import { buildRecord, unwrapJsonApi, type Draft, type RawReader } from '../raw';
import type { MapResult } from '../types';
import { readAddress, type AddressKeys } from './shared';

const ADDRESS_KEYS: AddressKeys = {
  line1: 'address1',
  line2: 'address2',
  city: 'city',
  state: 'state',
  postalCode: 'postalCode',
  country: 'country',
};

function fillGroupMember(r: RawReader, draft: Draft): void {
  draft.input = {
    email: r.email(),
    externalId: r.text('externalId'),
    firstName: r.string('name'),
    lastName: r.string('surname'),
    phone: r.text('phone'),
    billingAddress: readAddress(r.object('address'), ADDRESS_KEYS),
  };
  const removed = r.string('status')?.trim().toLowerCase() === 'removed';
  draft.extras = {
    createdAt: r.timestamp('createdAt'),
    status: removed ? 'ARCHIVED' : undefined,
    archivedAt: removed ? r.timestamp('statusUpdatedAt') : undefined,
  };
}

export function mapGroupMember(raw: unknown): MapResult {
  return buildRecord(unwrapJsonApi(raw), fillGroupMember);
}
