/**
 * rapidly: Rapidly customers as their API returns them (with members loaded).
 *
 * | Rapidly | import |
 * |---|---|
 * | external_id | input.externalId |
 * | email | input.email |
 * | email_verified | input.emailVerified |
 * | name | input.name |
 * | billing_address { line1 line2 postal_code city state country } | input.billingAddress (postal_code -> postalCode) |
 * | metadata | input.metadata |
 * | type 'individual' / 'team' (any case); null -> INDIVIDUAL | input.type |
 * | avatar_url, unless it is a gravatar.com URL | input.avatarUrl |
 * | deleted_at | extras.status ARCHIVED and extras.archivedAt |
 * | created_at | extras.createdAt |
 * | members [{ email name external_id }] | members, role MEMBER |
 * | id, workspace_id, modified_at, members' id / customer_id / created_at / modified_at | not imported |
 *
 * Rapidly fills avatar_url with a Gravatar URL when there is no avatar: the gateway derives the
 * same fallback from the email, so importing it would pin a derived value as an explicit one.
 * Legacy customers have a null type, which Rapidly treats as individual.
 */
import { buildRecord, type Draft, type RawReader } from '../raw';
import type { MapResult } from '../types';
import { CUSTOMER_TYPES, readAddress, readMember, type AddressKeys } from './shared';

const ADDRESS_KEYS: AddressKeys = {
  line1: 'line1',
  line2: 'line2',
  city: 'city',
  state: 'state',
  postalCode: 'postal_code',
  country: 'country',
};

function isGravatar(url: string): boolean {
  if (!URL.canParse(url.trim())) return false;
  const host = new URL(url.trim()).hostname.toLowerCase();
  return host === 'gravatar.com' || host.endsWith('.gravatar.com');
}

function readAvatar(r: RawReader): string | undefined {
  const url = r.string('avatar_url');
  return url == null || isGravatar(url) ? undefined : url;
}

function fillRapidly(r: RawReader, draft: Draft): void {
  draft.input = {
    email: r.email(),
    externalId: r.text('external_id'),
    emailVerified: r.boolean('email_verified'),
    name: r.string('name'),
    billingAddress: readAddress(r.object('billing_address'), ADDRESS_KEYS),
    metadata: r.object('metadata')?.source,
    type: r.choice('type', CUSTOMER_TYPES) ?? 'INDIVIDUAL',
    avatarUrl: readAvatar(r),
  };
  const deletedAt = r.timestamp('deleted_at');
  draft.extras = {
    createdAt: r.timestamp('created_at'),
    status: deletedAt == null ? undefined : 'ARCHIVED',
    archivedAt: deletedAt,
  };
  draft.members = r.objects('members').flatMap((member) => readMember(member, 'external_id', 'MEMBER') ?? []);
}

export function mapRapidly(raw: unknown): MapResult {
  return buildRecord(raw, fillRapidly);
}
