/**
 * Pieces several mappers share: addresses under vendor-specific key names, members, and the
 * enum spellings vendors use.
 */
import type { AddressInput, CustomerType, MemberRole } from '../../generated/graphql';
import { compact, type RawReader, type Read } from '../raw';
import type { ImportMember } from '../types';

export const CUSTOMER_TYPES: Readonly<Record<string, CustomerType>> = { individual: 'INDIVIDUAL', team: 'TEAM' };
export const STATUSES: Readonly<Record<string, 'ACTIVE' | 'ARCHIVED'>> = { active: 'ACTIVE', archived: 'ARCHIVED' };
const MEMBER_ROLES: Readonly<Record<string, MemberRole>> = { owner: 'OWNER', member: 'MEMBER' };

/** Where each address field sits in a vendor's address object. */
export type AddressKeys = Record<keyof AddressInput, string>;

export const GATEWAY_ADDRESS_KEYS: AddressKeys = {
  line1: 'line1',
  line2: 'line2',
  city: 'city',
  state: 'state',
  postalCode: 'postalCode',
  country: 'country',
};

/** An empty string is how several vendors say "no value" (the business API's `address2: ""`). */
function optional(value: Read<string>): Read<string> {
  return value === '' ? undefined : value;
}

/**
 * A vendor address as an AddressInput; undefined when it holds nothing (null when a reader that
 * keeps nulls finds null). The country is the one field the input type requires, so an address
 * without one is a structural problem here.
 */
export function readAddress(address: Read<RawReader>, keys: AddressKeys): Read<AddressInput> {
  if (address == null) return address;
  const fields = compact({
    line1: optional(address.string(keys.line1)),
    line2: optional(address.string(keys.line2)),
    city: optional(address.string(keys.city)),
    state: optional(address.string(keys.state)),
    postalCode: optional(address.text(keys.postalCode)),
  });
  const country = optional(address.string(keys.country));
  if (country != null) return { ...fields, country };
  const given = Object.values(fields ?? {}).some((value) => value != null);
  if (given) address.problems.add(address.at(keys.country), 'REQUIRED', 'is required when an address is given');
  return undefined;
}

/** One member; `externalIdKey` is the vendor's name for the member's own id. */
export function readMember(member: RawReader, externalIdKey: string, role?: MemberRole): ImportMember | undefined {
  const email = member.email();
  const fields = {
    name: member.string('name'),
    externalId: member.text(externalIdKey),
    role: role ?? member.choice('role', MEMBER_ROLES),
  };
  return email === undefined ? undefined : { email, ...compact(fields) };
}
