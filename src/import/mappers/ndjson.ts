/**
 * ndjson: the gateway's own export shape (ExportedCustomer, services/export-record.ts; one per
 * line) back to a createCustomer input, so export -> import round-trips a customer. CSV rows are
 * reshaped into this same shape and mapped by `fillGatewayShape` too.
 *
 * | export field | import |
 * |---|---|
 * | email, externalId, firstName, lastName, phone, birthDate, gender, internalNote | input.<same> |
 * | emailVerified, unsubscribed (booleans) | input.<same> |
 * | explicitName (`name` only when the record has no explicitName key) | input.name |
 * | explicitAvatarUrl (`avatarUrl` only when the record has no explicitAvatarUrl key) | input.avatarUrl |
 * | profile { bio location website socials { twitter facebook instagram } } | input.profile |
 * | billingAddress { line1 line2 city state postalCode country } | input.billingAddress |
 * | type INDIVIDUAL / TEAM (any case) | input.type |
 * | metadata (object) | input.metadata |
 * | customFields [{ key, value }] | input.customFields |
 * | netRevenue, signInCount, lastRequestAt, bouncedAt, createdAt, createdBy, createdVia | extras.<same> |
 * | status ACTIVE / ARCHIVED (ARCHIVED when absent but archivedAt is set) | extras.status |
 * | status ERASED / MERGED (tombstones) | the record is rejected with that code |
 * | archivedAt, archivedBy, archivedVia, archiveReason | extras.<same> |
 * | phoneRegion (not in exports; for hand-made files) | extras.phoneRegion |
 * | members [{ email name externalId role }] | members (their id, createdAt, updatedAt dropped) |
 * | id, version, updatedAt/By/Via, phoneCountry, derived name and avatarUrl | not imported: the target assigns or derives them |
 *
 * The display `name` and `avatarUrl` of an export are derived (first + last name, Gravatar), so
 * importing them would freeze a derived value as an explicit one; the explicit* fields say what
 * was really set. A `{"trailer": ...}` line of an export is the engine's to skip.
 *
 * Unlike the vendor formats, JSON nulls are passed on as nulls: an export is a full snapshot, so
 * re-importing it onto an existing customer (an update) clears what was cleared at the source,
 * while on create a null is the same as absent. The exception is externalId, which is immutable
 * once set: a null there is left out rather than refused.
 */
import type { CustomerProfileInput, CustomFieldValueInput } from '../../generated/graphql';
import { buildRecord, compact, type Draft, type RawReader, type Read } from '../raw';
import type { MapResult } from '../types';
import { CUSTOMER_TYPES, GATEWAY_ADDRESS_KEYS, STATUSES, readAddress, readMember } from './shared';

function readProfile(profile: Read<RawReader>): Read<CustomerProfileInput> {
  if (profile == null) return profile;
  const socials = profile.object('socials');
  return compact({
    bio: profile.string('bio'),
    location: profile.string('location'),
    website: profile.string('website'),
    socials: socials && compact({ twitter: socials.string('twitter'), facebook: socials.string('facebook'), instagram: socials.string('instagram') }),
  });
}

function readCustomFields(r: RawReader): CustomFieldValueInput[] | undefined {
  if (r.value('customFields') === undefined) return undefined;
  return r.objects('customFields').flatMap((field) => {
    const key = field.string('key');
    if (key === null || (key === undefined && field.value('key') === undefined)) field.problems.add(field.at('key'), 'REQUIRED', 'is required');
    return key == null ? [] : [{ key, value: field.value('value') ?? null }];
  });
}

/** An explicit* field when the record has that key (even as null), else the plain one. */
function explicitOr(r: RawReader, explicitKey: string, plainKey: string): Read<string> {
  return r.has(explicitKey) ? r.string(explicitKey) : r.string(plainKey);
}

function fillInput(r: RawReader, draft: Draft): void {
  draft.input = {
    email: r.email(),
    // Set once, an external id is immutable: a null must not try to clear it on re-import.
    externalId: r.text('externalId') ?? undefined,
    firstName: r.string('firstName'),
    lastName: r.string('lastName'),
    name: explicitOr(r, 'explicitName', 'name'),
    phone: r.text('phone'),
    birthDate: r.string('birthDate'),
    gender: r.string('gender'),
    avatarUrl: explicitOr(r, 'explicitAvatarUrl', 'avatarUrl'),
    emailVerified: r.boolean('emailVerified'),
    unsubscribed: r.boolean('unsubscribed'),
    internalNote: r.string('internalNote'),
    type: r.choice('type', CUSTOMER_TYPES),
    profile: readProfile(r.object('profile')),
    billingAddress: readAddress(r.object('billingAddress'), GATEWAY_ADDRESS_KEYS),
    metadata: r.object('metadata')?.source,
    customFields: readCustomFields(r),
  };
}

function fillExtras(r: RawReader, draft: Draft): void {
  const archivedAt = r.timestamp('archivedAt');
  draft.extras = {
    netRevenue: r.decimal('netRevenue'),
    signInCount: r.count('signInCount'),
    lastRequestAt: r.timestamp('lastRequestAt'),
    bouncedAt: r.timestamp('bouncedAt'),
    createdAt: r.timestamp('createdAt'),
    createdBy: r.string('createdBy'),
    createdVia: r.string('createdVia'),
    status: r.choice('status', STATUSES) ?? (archivedAt == null ? undefined : 'ARCHIVED'),
    archivedAt,
    archivedBy: r.string('archivedBy'),
    archivedVia: r.string('archivedVia'),
    archiveReason: r.string('archiveReason'),
    phoneRegion: r.string('phoneRegion') ?? undefined,
  };
}

/** The gateway's field names (ndjson records, reshaped CSV rows) into a draft. */
export function fillGatewayShape(r: RawReader, draft: Draft): void {
  fillInput(r, draft);
  fillExtras(r, draft);
  draft.members = r.objects('members').flatMap((member) => readMember(member, 'externalId') ?? []);
}

/** An export carries tombstones (ERASED, MERGED): they hold no one to import, and say which they are. */
function tombstoneStatus(raw: unknown): 'ERASED' | 'MERGED' | null {
  const status = typeof raw === 'object' && raw !== null ? (raw as { status?: unknown }).status : undefined;
  return status === 'ERASED' || status === 'MERGED' ? status : null;
}

export function mapNdjson(raw: unknown): MapResult {
  const tombstone = tombstoneStatus(raw);
  if (tombstone) {
    const why = tombstone === 'ERASED' ? 'an erased customer' : 'a customer merged into another (its survivor is exported on its own)';
    return { ok: false, errors: [{ field: ['status'], code: tombstone, message: `the record is the tombstone of ${why}; tombstones are not imported` }] };
  }
  return buildRecord(raw, fillGatewayShape, { keepNull: true });
}
