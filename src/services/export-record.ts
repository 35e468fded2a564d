/**
 * The shape of one customer in NDJSON exports (and in `--format ndjson` imports): the GraphQL
 * `Customer` fields as JSON, with members and custom field values inlined, so that
 * export -> import round-trips every piece of customer data.
 */
import { displayName } from '../store/customers.repository';
import type { CustomFieldValueRecord, CustomerRecord, MemberRecord } from '../store/records';
import { gravatarUrl } from './validation';

export interface ExportedMember {
  id: string;
  email: string;
  name: string | null;
  externalId: string | null;
  role: MemberRecord['role'];
  createdAt: string;
  updatedAt: string;
}

export interface ExportedCustomer
  extends Omit<CustomerRecord, 'workspaceId' | 'changeSeq' | 'name' | 'avatarUrl'> {
  /** Display name (explicit name, else first + last). */
  name: string | null;
  /** The explicitly set name, so a re-import keeps "defaulted" names defaulted. */
  explicitName: string | null;
  avatarUrl: string;
  /** The explicitly set avatar (null when the Gravatar fallback is in use). */
  explicitAvatarUrl: string | null;
  customFields: { key: string; value: CustomFieldValueRecord['value'] }[];
  members: ExportedMember[];
}

export function toExportedCustomer(
  customer: CustomerRecord,
  members: MemberRecord[],
  fields: CustomFieldValueRecord[],
): ExportedCustomer {
  const { workspaceId, changeSeq, name, avatarUrl, ...rest } = customer;
  void workspaceId;
  void changeSeq;
  return {
    ...rest,
    name: displayName(customer),
    explicitName: name,
    avatarUrl: avatarUrl ?? gravatarUrl(customer.email),
    explicitAvatarUrl: avatarUrl,
    customFields: fields.map((f) => ({ key: f.key, value: f.value })),
    members: members.map((m) => ({
      id: m.id,
      email: m.email,
      name: m.name,
      externalId: m.externalId,
      role: m.role,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
    })),
  };
}
