/**
 * Kysely table types: the database as it is stored (snake_case columns, booleans as 0/1
 * integers and JSON as text on both engines so one set of migrations serves SQLite and
 * PostgreSQL). Repositories translate rows to the records in `records.ts`.
 */
import type { Generated, Insertable, Selectable } from 'kysely';

/** Timestamps are ISO 8601 UTC strings on SQLite; `timestamptz` on PostgreSQL, read as the same text in a UTC session and as a Date otherwise (db.ts parseTimestamptz). */
export type Timestamp = string | Date;
/** JSON is text on SQLite and `jsonb` on PostgreSQL (read as a parsed value). */
export type JsonColumn = string | object;

export interface WorkspacesTable {
  id: string;
  name: string;
  created_at: Timestamp;
  /** Last change sequence handed out in this workspace (see store/sequence.ts). */
  change_seq: Generated<number>;
  /** The secret keying this workspace's erased-identity hashes; made on its first erasure. */
  erasure_key: string | null;
  /** Bumped by every webhook endpoint change (the write path's cache of subscribers checks it). */
  webhooks_version: Generated<number | string>;
}

export interface ApiKeysTable {
  id: string;
  workspace_id: string;
  name: string | null;
  prefix: string;
  key_hash: string;
  rate_limited: number;
  /** Space-separated scope names; null: every key scope. */
  scopes: string | null;
  created_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface CustomersTable {
  id: string;
  workspace_id: string;
  external_id: string | null;
  email: string;
  email_verified: number;
  first_name: string | null;
  last_name: string | null;
  name: string | null;
  /** Lower-cased display name (name, else first + last, else email): the NAME sort key. */
  sort_name: string;
  /** Lower-cased email, names and display name, for `filter.search`. */
  search_text: string;
  phone: string | null;
  phone_country: string | null;
  birth_date: string | null;
  gender: string | null;
  avatar_url: string | null;
  bio: string | null;
  location: string | null;
  website: string | null;
  twitter: string | null;
  facebook: string | null;
  instagram: string | null;
  billing_line1: string | null;
  billing_line2: string | null;
  billing_city: string | null;
  billing_state: string | null;
  billing_postal_code: string | null;
  billing_country: string | null;
  type: string;
  metadata: JsonColumn;
  unsubscribed: number;
  internal_note: string | null;
  net_revenue: string | null;
  sign_in_count: number;
  last_request_at: Timestamp | null;
  bounced_at: Timestamp | null;
  status: string;
  archived_at: Timestamp | null;
  archived_by: string | null;
  archived_via: string | null;
  archive_reason: string | null;
  created_at: Timestamp;
  created_by: string | null;
  created_via: string | null;
  updated_at: Timestamp;
  updated_by: string | null;
  updated_via: string | null;
  version: number;
  change_seq: number;
  erased_at: Timestamp | null;
  erased_by: string | null;
  erased_via: string | null;
  /** The survivor a MERGED customer resolves to (never itself a MERGED customer: chains are shortened). */
  merged_into: string | null;
}

export interface MembersTable {
  id: string;
  workspace_id: string;
  customer_id: string;
  email: string;
  name: string | null;
  external_id: string | null;
  role: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ActionsTable {
  id: string;
  workspace_id: string;
  customer_id: string;
  member_id: string | null;
  type: string;
  actor: string | null;
  via: string | null;
  changes: JsonColumn;
  created_at: Timestamp;
}

export interface CustomFieldDefinitionsTable {
  workspace_id: string;
  key: string;
  label: string;
  value_type: string;
  searchable: number;
  /** 1 when customers may set the field themselves (`updateMe`). */
  self_editable: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CustomFieldValuesTable {
  workspace_id: string;
  customer_id: string;
  field_key: string;
  /** The typed value as JSON text (text on both engines). */
  value: string;
  /** Canonical text of the value (strings lower-cased) for equality filters. */
  value_text: string;
  /** Copy of the definition's flag: the partial index covers searchable values only. */
  searchable: number;
}

/** One Idempotency-Key of one caller (see services/idempotency.ts for the states). */
export interface IdempotencyKeysTable {
  workspace_id: string;
  api_key_id: string;
  key: string;
  request_hash: string;
  state: string;
  token: string;
  /** Epoch milliseconds (bigint: PostgreSQL returns them as strings). */
  lease_expires_at: number | string;
  expires_at: number | string;
  payload: string | null;
  response_status: number | null;
  response_body: string | null;
  created_at: number | string;
}

/** A keyed hash of an erased email or externalId (never the value): refuses its return. */
export interface ErasedIdentitiesTable {
  workspace_id: string;
  kind: string;
  hash: string;
  customer_id: string;
  erased_at: Timestamp;
}

/** Webhook instants are epoch milliseconds (bigint: PostgreSQL returns them as strings). */
export type EpochMs = number | string;

export interface WebhookEndpointsTable {
  id: string;
  workspace_id: string;
  url: string;
  /** Space-separated event type names. */
  events: string;
  description: string | null;
  enabled: number;
  disabled_reason: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: EpochMs | null;
  failing_since: EpochMs | null;
  created_at: EpochMs;
  updated_at: EpochMs;
}

/** The outbox: one row per committed change that some endpoint subscribed to. */
export interface WebhookEventsTable {
  id: string;
  workspace_id: string;
  type: string;
  data: string;
  created_at: EpochMs;
}

export interface WebhookDeliveriesTable {
  id: string;
  workspace_id: string;
  event_id: string;
  endpoint_id: string;
  state: string;
  attempts: Generated<number>;
  next_attempt_at: EpochMs;
  first_attempt_at: EpochMs | null;
  lease_owner: string | null;
  lease_expires_at: Generated<EpochMs>;
  updated_at: EpochMs;
}

export interface WebhookAttemptsTable {
  id: string;
  workspace_id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  status: string;
  response_code: number | null;
  error: string | null;
  duration_ms: number;
  attempted_at: EpochMs;
  next_retry_at: EpochMs | null;
}

export interface Database {
  workspaces: WorkspacesTable;
  api_keys: ApiKeysTable;
  customers: CustomersTable;
  members: MembersTable;
  actions: ActionsTable;
  custom_field_definitions: CustomFieldDefinitionsTable;
  custom_field_values: CustomFieldValuesTable;
  idempotency_keys: IdempotencyKeysTable;
  erased_identities: ErasedIdentitiesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

export type CustomerRow = Selectable<CustomersTable>;
export type NewCustomerRow = Insertable<CustomersTable>;
export type MemberRow = Selectable<MembersTable>;
export type ActionRow = Selectable<ActionsTable>;
export type CustomFieldDefinitionRow = Selectable<CustomFieldDefinitionsTable>;
export type WorkspaceRow = Selectable<WorkspacesTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
