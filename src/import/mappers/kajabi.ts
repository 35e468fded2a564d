/**
 * kajabi: Kajabi customer attributes, bare or in their JSON:API wrapping
 * (`{ id, type: 'customers', attributes: { ... } }`).
 *
 * | Kajabi | import |
 * |---|---|
 * | name | input.name (kept whole as the explicit display name, not split into first/last) |
 * | email | input.email |
 * | avatar | input.avatarUrl |
 * | external_user_id | input.externalId |
 * | public_bio, public_location, public_website | input.profile.bio, .location, .website |
 * | socials { twitter facebook instagram } | input.profile.socials |
 * | net_revenue (string, or a JSON number) | extras.netRevenue |
 * | sign_in_count | extras.signInCount |
 * | last_request_at, bounced_at, created_at | extras.lastRequestAt, .bouncedAt, .createdAt |
 * | id (Kajabi's own id), type, updated_at | not imported |
 */
import type { CustomerProfileInput } from '../../generated/graphql';
import { buildRecord, compact, unwrapJsonApi, type Draft, type RawReader } from '../raw';
import type { MapResult } from '../types';

function readProfile(r: RawReader): CustomerProfileInput | undefined {
  const socials = r.object('socials');
  return compact({
    bio: r.string('public_bio'),
    location: r.string('public_location'),
    website: r.string('public_website'),
    socials: socials && compact({ twitter: socials.string('twitter'), facebook: socials.string('facebook'), instagram: socials.string('instagram') }),
  });
}

function fillKajabi(r: RawReader, draft: Draft): void {
  draft.input = {
    email: r.email(),
    name: r.string('name'),
    avatarUrl: r.string('avatar'),
    externalId: r.text('external_user_id'),
    profile: readProfile(r),
  };
  draft.extras = {
    netRevenue: r.decimal('net_revenue'),
    signInCount: r.count('sign_in_count'),
    lastRequestAt: r.timestamp('last_request_at'),
    bouncedAt: r.timestamp('bounced_at'),
    createdAt: r.timestamp('created_at'),
  };
}

export function mapKajabi(raw: unknown): MapResult {
  return buildRecord(unwrapJsonApi(raw), fillKajabi);
}
