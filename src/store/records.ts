/**
 * Domain records: what repositories return and what GraphQL resolvers receive as `parent`
 * (codegen `mappers`). Shaped like the GraphQL types so most fields use the default resolver;
 * only derived fields (display name, avatar fallback, url, nested connections) need resolvers.
 */

export type CustomerType = 'INDIVIDUAL' | 'TEAM';
/** ERASED and MERGED customers are tombstones: no personal data, never changed again. */
export type CustomerStatus = 'ACTIVE' | 'ARCHIVED' | 'ERASED' | 'MERGED';
export type MemberRole = 'OWNER' | 'MEMBER';
export type CustomFieldValueType = 'STRING' | 'NUMBER' | 'BOOLEAN' | 'DATE';
export type ActionType =
  | 'CUSTOMER_CREATED'
  | 'CUSTOMER_UPDATED'
  | 'CUSTOMER_ARCHIVED'
  | 'CUSTOMER_RESTORED'
  | 'MEMBER_ADDED'
  | 'MEMBER_UPDATED'
  | 'MEMBER_REMOVED'
  | 'CUSTOMER_ERASED'
  | 'CUSTOMER_MERGED';

export type MetadataValue = string | number | boolean;
export type CustomFieldScalar = string | number | boolean;

export interface AddressRecord {
  line1: string | null;
  line2: string | null;
  city: string | null;
  state: string | null;
  postalCode: string | null;
  country: string;
}

export interface SocialsRecord {
  twitter: string | null;
  facebook: string | null;
  instagram: string | null;
}

export interface ProfileRecord {
  bio: string | null;
  location: string | null;
  website: string | null;
  socials: SocialsRecord;
}

export interface CustomerRecord {
  id: string;
  workspaceId: string;
  externalId: string | null;
  email: string;
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
  /** The explicitly given display name; the `name` field resolver falls back to first + last. */
  name: string | null;
  phone: string | null;
  phoneCountry: string | null;
  birthDate: string | null;
  gender: string | null;
  /** The explicitly given avatar; the `avatarUrl` field resolver falls back to Gravatar. */
  avatarUrl: string | null;
  profile: ProfileRecord;
  billingAddress: AddressRecord | null;
  type: CustomerType;
  metadata: Record<string, MetadataValue>;
  unsubscribed: boolean;
  internalNote: string | null;
  netRevenue: string | null;
  signInCount: number;
  lastRequestAt: string | null;
  bouncedAt: string | null;
  status: CustomerStatus;
  archivedAt: string | null;
  archivedBy: string | null;
  archivedVia: string | null;
  archiveReason: string | null;
  createdAt: string;
  createdBy: string | null;
  createdVia: string | null;
  updatedAt: string;
  updatedBy: string | null;
  updatedVia: string | null;
  version: number;
  /** Per-workspace change sequence stamped by every write (the export feed's order). */
  changeSeq: number;
  erasedAt: string | null;
  erasedBy: string | null;
  erasedVia: string | null;
  /** For a MERGED customer: the survivor every lookup of it answers. */
  mergedInto: string | null;
}

export interface MemberRecord {
  id: string;
  workspaceId: string;
  customerId: string;
  email: string;
  name: string | null;
  externalId: string | null;
  role: MemberRole;
  createdAt: string;
  updatedAt: string;
}

export interface FieldChange {
  from: unknown;
  to: unknown;
}

export interface ActionRecord {
  id: string;
  workspaceId: string;
  customerId: string;
  memberId: string | null;
  type: ActionType;
  actor: string | null;
  via: string | null;
  changes: Record<string, FieldChange>;
  createdAt: string;
}

export interface CustomFieldDefinitionRecord {
  workspaceId: string;
  key: string;
  label: string;
  valueType: CustomFieldValueType;
  searchable: boolean;
  /** Whether customers may set it themselves through `updateMe`. */
  selfEditable: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface CustomFieldValueRecord {
  customerId: string;
  key: string;
  value: CustomFieldScalar;
}

export interface WorkspaceRecord {
  id: string;
  name: string;
  createdAt: string;
}

export interface ApiKeyRecord {
  id: string;
  workspaceId: string;
  name: string | null;
  prefix: string;
  rateLimited: boolean;
  /** The scopes granted at creation; null: every key scope. */
  scopes: readonly string[] | null;
  createdAt: string;
  revokedAt: string | null;
}
