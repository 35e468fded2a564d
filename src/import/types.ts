/**
 * What the format mappers produce for the import engine. Kept apart from formats.ts so the
 * mappers can share these types without importing the dispatcher that imports them.
 */
import type { CreateCustomerInput, CustomFieldValueType, MemberRole } from '../generated/graphql';
import type { CustomerExtras } from '../services/customer-input';
import type { FieldError } from '../services/validation';

export type ImportFormat = 'ndjson' | 'csv' | 'kajabi' | 'crm' | 'khoros' | 'rapidly' | 'group-members';

export const IMPORT_FORMATS: readonly ImportFormat[] = ['ndjson', 'csv', 'kajabi', 'crm', 'khoros', 'rapidly', 'group-members'];

/**
 * Read-only customer fields that only imports may set, and the region for national phone
 * numbers (the CRM's `phoneCountry`): the engine applies them through the same path as input.
 */
export type ImportExtras = CustomerExtras;

export interface ImportMember {
  email: string;
  name?: string | null;
  externalId?: string | null;
  role?: MemberRole | null;
}

export interface CustomFieldKeyUse {
  key: string;
  valueType: CustomFieldValueType;
}

export interface ImportRecord {
  /** Same shape as the GraphQL createCustomer input (validated later by the engine). */
  input: CreateCustomerInput;
  /** Read-only customer fields that only imports may set. */
  extras: ImportExtras;
  /** Members of a TEAM customer (rapidly `members[]`, ndjson `members`). */
  members: ImportMember[];
  /** Custom field keys this record uses that may need defining (khoros non-core keys), with the inferred value type. */
  customFieldKeys: CustomFieldKeyUse[];
}

export type MapResult = { ok: true; record: ImportRecord } | { ok: false; errors: FieldError[] };
