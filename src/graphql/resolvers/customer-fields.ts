/**
 * What each GraphQL Customer field reads of the CustomerRecord it resolves on: its default
 * resolver's own record field, or, for the fields src/graphql/resolvers/customer.ts resolves, every
 * record field that resolver touches. A query reads only the columns behind the fields it asks
 * for (src/graphql/customer-reads.ts), so a resolver that starts reading another record
 * field must say so here. The type makes the table name every field of the schema's Customer.
 */
import type { Customer } from '../../generated/graphql';
import type { CustomerRecord } from '../../store/records';

type Reads = readonly (keyof CustomerRecord)[];

export const CUSTOMER_FIELD_READS: { [F in Exclude<keyof Customer, '__typename'>]-?: Reads } = {
  id: ['id'],
  externalId: ['externalId'],
  email: ['email'],
  emailVerified: ['emailVerified'],
  firstName: ['firstName'],
  lastName: ['lastName'],
  // displayName(): the explicit name, else first and last name.
  name: ['name', 'firstName', 'lastName'],
  phone: ['phone'],
  phoneCountry: ['phoneCountry'],
  birthDate: ['birthDate'],
  gender: ['gender'],
  // The stored avatar, else the Gravatar of the email.
  avatarUrl: ['avatarUrl', 'email'],
  profile: ['profile'],
  billingAddress: ['billingAddress'],
  type: ['type'],
  metadata: ['metadata'],
  // Loaded by customer id, as are the nested connections and the url.
  customFields: ['id'],
  unsubscribed: ['unsubscribed'],
  internalNote: ['internalNote'],
  netRevenue: ['netRevenue'],
  signInCount: ['signInCount'],
  lastRequestAt: ['lastRequestAt'],
  bouncedAt: ['bouncedAt'],
  status: ['status'],
  archivedAt: ['archivedAt'],
  archivedBy: ['archivedBy'],
  archivedVia: ['archivedVia'],
  archiveReason: ['archiveReason'],
  createdAt: ['createdAt'],
  createdBy: ['createdBy'],
  createdVia: ['createdVia'],
  updatedAt: ['updatedAt'],
  updatedBy: ['updatedBy'],
  updatedVia: ['updatedVia'],
  version: ['version'],
  url: ['id'],
  members: ['id'],
  actions: ['id'],
};
