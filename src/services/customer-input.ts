/**
 * Applies a create or update input onto a customer record: every field validated and
 * normalised, every problem collected. An omitted field is left alone; an explicit null clears.
 */
import type { CustomerProfileInput, UpdateCustomerInput } from '../generated/graphql';
import type { CustomerRecord, CustomFieldDefinitionRecord, CustomFieldScalar, ProfileRecord } from '../store/records';
import { parseInstant } from '../shared/instant';
import {
  LIMITS,
  Problems,
  checkAddress,
  checkBirthDate,
  checkCountry,
  checkDecimal,
  checkCustomFieldValue,
  checkEmail,
  checkMetadata,
  checkPhone,
  checkText,
  checkUrl,
} from './validation';

/** The customer fields shared by create and update inputs. */
export type CustomerFieldsInput = Omit<UpdateCustomerInput, 'id' | 'expectedVersion'>;

export interface FieldWrite {
  key: string;
  value: CustomFieldScalar | null;
  searchable: boolean;
}

function has<T extends object>(input: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(input, key) && input[key] !== undefined;
}

/** A text field: null clears, otherwise trimmed and bounded; undefined when invalid. */
function text(value: string | null | undefined, max: number, path: string[], problems: Problems): string | null | undefined {
  return value === null || value === undefined ? null : checkText(value, max, path, problems);
}

type TextField = 'firstName' | 'lastName' | 'name' | 'gender' | 'internalNote';

const TEXT_FIELDS: [TextField, number][] = [
  ['firstName', LIMITS.name],
  ['lastName', LIMITS.name],
  ['name', LIMITS.name],
  ['gender', LIMITS.shortText],
  ['internalNote', LIMITS.freeText],
];

function applyTexts(next: CustomerRecord, input: CustomerFieldsInput, problems: Problems): void {
  for (const [field, max] of TEXT_FIELDS) {
    if (!has(input, field)) continue;
    const value = text(input[field], max, [field], problems);
    if (value !== undefined) next[field] = value;
  }
}

function applyIdentity(base: CustomerRecord, next: CustomerRecord, input: CustomerFieldsInput, problems: Problems): void {
  if (has(input, 'email')) {
    if (input.email === null) problems.add(['email'], 'REQUIRED', 'email is required');
    else next.email = checkEmail(input.email as string, ['email'], problems) ?? next.email;
  }
  if (has(input, 'externalId')) {
    const value = text(input.externalId, LIMITS.id, ['externalId'], problems);
    if (value !== undefined && base.externalId !== null && value !== base.externalId) {
      problems.add(['externalId'], 'IMMUTABLE', 'externalId cannot be changed or cleared once set');
    } else if (value !== undefined) {
      next.externalId = value;
    }
  }
}

function applyFlags(next: CustomerRecord, input: CustomerFieldsInput): void {
  // Clearing a flag means setting it back to its default.
  if (has(input, 'emailVerified')) next.emailVerified = input.emailVerified ?? false;
  if (has(input, 'unsubscribed')) next.unsubscribed = input.unsubscribed ?? false;
  if (has(input, 'type')) next.type = input.type ?? 'INDIVIDUAL';
}

function applyProfile(next: CustomerRecord, input: CustomerProfileInput | null, problems: Problems): void {
  const profile: ProfileRecord = { ...next.profile, socials: { ...next.profile.socials } };
  if (input === null) {
    next.profile = { bio: null, location: null, website: null, socials: { twitter: null, facebook: null, instagram: null } };
    return;
  }
  if (has(input, 'bio')) profile.bio = text(input.bio, LIMITS.freeText, ['profile', 'bio'], problems) ?? null;
  if (has(input, 'location')) profile.location = text(input.location, LIMITS.shortText, ['profile', 'location'], problems) ?? null;
  if (has(input, 'website')) {
    profile.website = input.website == null ? null : (checkUrl(input.website, ['profile', 'website'], problems) ?? null);
  }
  if (has(input, 'socials')) {
    const socials = input.socials;
    for (const network of ['twitter', 'facebook', 'instagram'] as const) {
      if (socials === null) profile.socials[network] = null;
      else if (socials && has(socials, network)) {
        profile.socials[network] = text(socials[network], LIMITS.shortText, ['profile', 'socials', network], problems) ?? null;
      }
    }
  }
  next.profile = profile;
}

function applyContact(next: CustomerRecord, input: CustomerFieldsInput, problems: Problems, phoneRegion: string | null): void {
  let region = next.billingAddress?.country ?? phoneRegion;
  if (has(input, 'billingAddress')) {
    const address = input.billingAddress;
    next.billingAddress = address == null ? null : (checkAddress(address, ['billingAddress'], problems) ?? next.billingAddress);
    // A bad state or line must not also make a national phone number invalid: the country
    // alone decides its region (its own problems are already reported by checkAddress).
    region = address == null ? phoneRegion : (checkCountry(address.country, ['billingAddress', 'country'], new Problems()) ?? phoneRegion);
  }
  if (has(input, 'phone')) {
    const raw = input.phone?.trim();
    if (!raw) {
      next.phone = null;
      next.phoneCountry = null;
    } else {
      // Numbers without a country code (the group-members API sends them so) take the
      // billing address country as their region.
      const parsed = checkPhone(raw, region, ['phone'], problems);
      if (parsed) {
        next.phone = parsed.phone;
        next.phoneCountry = parsed.country;
      }
    }
  }
  if (has(input, 'birthDate')) {
    next.birthDate = input.birthDate == null ? null : (checkBirthDate(input.birthDate, ['birthDate'], problems) ?? null);
  }
  if (has(input, 'avatarUrl')) {
    next.avatarUrl = input.avatarUrl == null ? null : (checkUrl(input.avatarUrl, ['avatarUrl'], problems) ?? null);
  }
}

function applyCustomFields(
  input: CustomerFieldsInput,
  definitions: CustomFieldDefinitionRecord[],
  problems: Problems,
): FieldWrite[] {
  const list = input.customFields ?? [];
  if (list.length > LIMITS.list) {
    problems.add(['customFields'], 'LIMIT_EXCEEDED', `at most ${LIMITS.list} custom fields per request`);
    return [];
  }
  const byKey = new Map(definitions.map((d) => [d.key, d]));
  const seen = new Set<string>();
  const writes: FieldWrite[] = [];
  list.forEach((item, i) => {
    const path = ['customFields', String(i)];
    const definition = byKey.get(item.key);
    if (!definition) return problems.add([...path, 'key'], 'INVALID', `unknown custom field "${item.key.slice(0, 64)}": define it first`);
    if (seen.has(item.key)) return problems.add([...path, 'key'], 'INVALID', `custom field "${item.key}" is given twice`);
    seen.add(item.key);
    const value = item.value === null || item.value === undefined ? null : checkCustomFieldValue(definition.valueType, item.value, [...path, 'value'], problems);
    if (value !== undefined) writes.push({ key: item.key, value, searchable: definition.searchable });
  });
  return writes;
}

/**
 * Read-only fields that only imports may set (the vendors' systems own them: revenue, sign-in
 * counts, original creation and archiving), plus the region for national phone numbers.
 */
export interface CustomerExtras {
  netRevenue?: string | null;
  signInCount?: number | null;
  lastRequestAt?: string | null;
  bouncedAt?: string | null;
  createdAt?: string | null;
  createdBy?: string | null;
  createdVia?: string | null;
  status?: 'ACTIVE' | 'ARCHIVED' | null;
  archivedAt?: string | null;
  archivedBy?: string | null;
  archivedVia?: string | null;
  archiveReason?: string | null;
  phoneRegion?: string | null;
}

function instant(value: string | null | undefined, path: string[], problems: Problems): string | null | undefined {
  if (value === null || value === undefined) return value;
  const parsed = parseInstant(value);
  if (parsed === null) problems.add(path, 'INVALID', 'must be an ISO 8601 date-time');
  return parsed ?? undefined;
}

function applyExtras(next: CustomerRecord, extras: CustomerExtras, problems: Problems): void {
  if (extras.netRevenue !== undefined) next.netRevenue = extras.netRevenue === null ? null : (checkDecimal(extras.netRevenue, ['netRevenue'], problems) ?? null);
  if (extras.signInCount !== undefined) {
    const count = extras.signInCount ?? 0;
    if (Number.isSafeInteger(count) && count >= 0) next.signInCount = count;
    else problems.add(['signInCount'], 'INVALID', 'must be a whole number of at least 0');
  }
  for (const field of ['lastRequestAt', 'bouncedAt', 'archivedAt'] as const) {
    const value = instant(extras[field], [field], problems);
    if (value !== undefined) next[field] = value;
  }
  const createdAt = instant(extras.createdAt, ['createdAt'], problems);
  if (createdAt) next.createdAt = createdAt;
  for (const field of ['createdBy', 'createdVia', 'archivedBy', 'archivedVia'] as const) {
    if (extras[field] !== undefined) next[field] = text(extras[field], LIMITS.shortText, [field], problems) ?? null;
  }
  if (extras.archiveReason !== undefined) next.archiveReason = text(extras.archiveReason, LIMITS.freeText, ['archiveReason'], problems) ?? null;
  if (extras.status) next.status = extras.status;
  if (next.status === 'ARCHIVED') next.archivedAt ??= next.createdAt;
}

export interface AppliedInput {
  next: CustomerRecord;
  fieldWrites: FieldWrite[];
}

export function applyCustomerInput(
  base: CustomerRecord,
  input: CustomerFieldsInput,
  definitions: CustomFieldDefinitionRecord[],
  problems: Problems,
  extras: CustomerExtras = {},
): AppliedInput {
  const next: CustomerRecord = { ...base };
  applyIdentity(base, next, input, problems);
  applyTexts(next, input, problems);
  applyFlags(next, input);
  if (has(input, 'profile')) applyProfile(next, input.profile ?? null, problems);
  applyContact(next, input, problems, extras.phoneRegion ?? null);
  applyExtras(next, extras, problems);
  if (has(input, 'metadata')) {
    next.metadata = input.metadata == null ? {} : (checkMetadata(input.metadata, ['metadata'], problems) ?? next.metadata);
  }
  return { next, fieldWrites: applyCustomFields(input, definitions, problems) };
}

/** A blank customer for `createCustomer` to apply its input onto. */
export function blankCustomer(id: string, workspaceId: string, now: string): CustomerRecord {
  return {
    id,
    workspaceId,
    externalId: null,
    email: '',
    emailVerified: false,
    firstName: null,
    lastName: null,
    name: null,
    phone: null,
    phoneCountry: null,
    birthDate: null,
    gender: null,
    avatarUrl: null,
    profile: { bio: null, location: null, website: null, socials: { twitter: null, facebook: null, instagram: null } },
    billingAddress: null,
    type: 'INDIVIDUAL',
    metadata: {},
    unsubscribed: false,
    internalNote: null,
    netRevenue: null,
    signInCount: 0,
    lastRequestAt: null,
    bouncedAt: null,
    status: 'ACTIVE',
    archivedAt: null,
    archivedBy: null,
    archivedVia: null,
    archiveReason: null,
    createdAt: now,
    createdBy: null,
    createdVia: null,
    updatedAt: now,
    updatedBy: null,
    updatedVia: null,
    version: 0,
    changeSeq: 0,
    erasedAt: null,
    erasedBy: null,
    erasedVia: null,
    mergedInto: null,
  };
}
