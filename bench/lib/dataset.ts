/**
 * The benchmarks' shared dataset: a deterministic generator of export-shaped customers
 * (services/export-record.ts shape, which the ndjson importer reads too) and the rows the
 * gateway would store for them, for raw better-sqlite3 seeding. Used by bench/sync.ts,
 * bench/scale.ts and bench/perf.ts.
 *
 * The one gateway module it loads is the store's row builder (with kysely), so seeded rows
 * cannot drift from what the store writes; nothing else heavy (no libphonenumber). Phone
 * validity is passed in by callers that feed the importer.
 */
import type SqliteDatabase from 'better-sqlite3';
import { newId } from '../../src/shared/ids';
import { toCustomerRow } from '../../src/store/customers.repository';
import type { CustomerRecord } from '../../src/store/records';

export interface GeneratorOptions {
  /** Numbers the generator may use; callers feeding the importer pass the gateway's own check. */
  isValidPhone?: (e164: string) => boolean;
  /** Share of TEAM customers (default 0.1). */
  teamShare?: number;
  /** Members per TEAM customer, inclusive range (default [2, 2]). */
  membersPerTeam?: [number, number];
}

export interface Actor {
  actor: string;
  via: string;
}

export const DEFAULT_ACTOR: Actor = { actor: 'bench', via: 'import' };

/** mulberry32: a small, fast, seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth', 'William', 'Barbara', 'Richard', 'Susan', 'Joseph', 'Jessica', 'Thomas', 'Sarah', 'Carlos', 'Karen', 'Wei', 'Aisha', 'Mateo', 'Sofia', 'Noah', 'Olivia', 'Liam', 'Emma', 'Hiroshi', 'Priya', 'Omar', 'Zoe'];
const LAST = ['Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Chen', 'Nguyen', 'Patel', 'Kim', "O'Brien"];
const STATES = ['AL', 'AK', 'AZ', 'AR', 'CA', 'CO', 'CT', 'DE', 'FL', 'GA', 'HI', 'ID', 'IL', 'IN', 'IA', 'KS', 'KY', 'LA', 'ME', 'MD', 'MA', 'MI', 'MN', 'MS', 'MO', 'MT', 'NE', 'NV', 'NH', 'NJ', 'NM', 'NY', 'NC', 'ND', 'OH', 'OK', 'OR', 'PA', 'RI', 'SC', 'SD', 'TN', 'TX', 'UT', 'VT', 'VA', 'WA', 'WV', 'WI', 'WY'];
const CITIES = ['Springfield', 'Riverside', 'Franklin', 'Greenville', 'Bristol', 'Clinton', 'Fairview', 'Salem', 'Madison', 'Georgetown', 'Arlington', 'Ashland', 'Burlington', 'Manchester', 'Oxford'];
const STREETS = ['Main St', 'Oak Ave', 'Pine St', 'Maple Dr', 'Cedar Ln', 'Elm St', 'Washington Blvd', 'Lake Rd', 'Hill St', 'Park Ave', 'Sunset Blvd', 'River Rd'];
const AREA_CODES = ['201', '202', '206', '212', '213', '303', '305', '312', '404', '415', '503', '512', '602', '617', '702', '713', '720', '805', '919', '971'];
const DOMAINS = ['example.com', 'mail.example.org', 'acme.test', 'corp.example.net', 'shop.example.io'];
const BIO_WORDS = ['avid', 'reader', 'runner', 'coffee', 'lover', 'product', 'designer', 'engineer', 'parent', 'traveler', 'photographer', 'gardener', 'musician', 'teacher', 'founder', 'of', 'a', 'small', 'bakery', 'in', 'the', 'city', 'who', 'enjoys', 'hiking', 'and', 'board', 'games'];
const PLANS = ['free', 'starter', 'pro', 'enterprise'];
const SOURCES = ['web', 'referral', 'ads', 'partner', 'event'];

export interface ExportShape {
  [key: string]: unknown;
  members: { id: string; email: string; name: string | null; externalId: string | null; role: string; createdAt: string; updatedAt: string }[];
}

/** A generator of export-shaped customers (services/export-record.ts), one per call, deterministic. */
export function customerGenerator(seed: number, options: GeneratorOptions = {}) {
  const isValidPhone = options.isValidPhone ?? (() => true);
  const teamShare = options.teamShare ?? 0.1;
  const [minMembers, maxMembers] = options.membersPerTeam ?? [2, 2];
  const rand = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)];
  const int = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));
  const base = Date.UTC(2020, 0, 1);
  const iso = (ms: number) => new Date(ms).toISOString();
  const hex = (n: number) => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
    return s;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-7${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
  const phone = () => {
    for (;;) {
      const number = `+1${pick(AREA_CODES)}${int(2, 9)}${int(0, 9)}${int(0, 9)}${String(int(0, 9999)).padStart(4, '0')}`;
      if (number.slice(5, 7) === '11' || number.slice(5, 8) === '555') continue;
      if (isValidPhone(number)) return number;
    }
  };

  return (i: number): ExportShape => {
    const first = pick(FIRST);
    const last = pick(LAST);
    const local = `${first}.${last}`.toLowerCase().replace(/[^a-z.]/g, '');
    const email = `${local}.${i}@${pick(DOMAINS)}`;
    const created = base + int(0, 4 * 365 * 86400) * 1000;
    const updated = created + int(0, 200 * 86400) * 1000;
    const team = rand() < teamShare;
    const metadata: Record<string, string | number | boolean> = { plan: pick(PLANS), source: pick(SOURCES) };
    if (rand() < 0.5) metadata.score = int(0, 1000);
    const bioLength = int(6, 18);
    const bio = Array.from({ length: bioLength }, () => pick(BIO_WORDS)).join(' ');
    const displayName = team ? `${last} Household` : `${first} ${last}`;
    const members: ExportShape['members'] = team
      ? Array.from({ length: minMembers === maxMembers ? minMembers : int(minMembers, maxMembers) }, (_, m) => ({
          id: uuid(),
          email: `${m === 0 ? local : `${pick(FIRST).toLowerCase()}.${last.toLowerCase().replace(/[^a-z]/g, '')}`}.m${m}.${i}@${pick(DOMAINS)}`,
          name: m === 0 ? `${first} ${last}` : `${pick(FIRST)} ${last}`,
          externalId: null,
          role: m === 0 ? 'OWNER' : 'MEMBER',
          createdAt: iso(created + m * 1000),
          updatedAt: iso(created + m * 1000),
        }))
      : [];
    return {
      id: uuid(),
      externalId: `crm-${String(i).padStart(7, '0')}`,
      email,
      emailVerified: rand() < 0.7,
      firstName: first,
      lastName: last,
      name: displayName,
      explicitName: team ? displayName : null,
      phone: phone(),
      phoneCountry: 'US',
      birthDate: rand() < 0.6 ? `${int(1950, 2004)}-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}` : null,
      gender: rand() < 0.5 ? pick(['female', 'male', 'non-binary']) : null,
      avatarUrl: `https://www.gravatar.com/avatar/${hex(64)}?d=404`,
      explicitAvatarUrl: null,
      profile: {
        bio,
        location: `${pick(CITIES)}, ${pick(STATES)}`,
        website: rand() < 0.3 ? `https://${local.replace('.', '-')}.example.com/` : null,
        socials: { twitter: rand() < 0.3 ? `@${local.replace('.', '_')}` : null, facebook: null, instagram: rand() < 0.2 ? local.replace('.', '') : null },
      },
      billingAddress: {
        line1: `${int(1, 9999)} ${pick(STREETS)}`,
        line2: rand() < 0.2 ? `Apt ${int(1, 400)}` : null,
        city: pick(CITIES),
        state: pick(STATES),
        postalCode: String(int(10000, 99999)),
        country: 'US',
      },
      type: team ? 'TEAM' : 'INDIVIDUAL',
      metadata,
      unsubscribed: rand() < 0.05,
      internalNote: rand() < 0.1 ? 'VIP: call before renewal' : null,
      netRevenue: `${int(0, 50000)}.${String(int(0, 99)).padStart(2, '0')}`,
      signInCount: int(0, 500),
      lastRequestAt: iso(updated),
      bouncedAt: null,
      status: 'ACTIVE',
      archivedAt: null,
      archivedBy: null,
      archivedVia: null,
      archiveReason: null,
      createdAt: iso(created),
      createdBy: 'legacy-crm',
      createdVia: 'api',
      updatedAt: iso(updated),
      updatedBy: 'legacy-crm',
      updatedVia: 'api',
      version: 1 + members.length,
      customFields: [],
      members,
    };
  };
}

// ---------------------------------------------------------------------------------------------
// Rows as the gateway stores them (customers through store/customers.repository.ts toCustomerRow; members, actions)

export const MEMBER_COLUMNS = ['id', 'workspace_id', 'customer_id', 'email', 'name', 'external_id', 'role', 'created_at', 'updated_at'] as const;
export const CUSTOM_FIELD_VALUE_COLUMNS = ['workspace_id', 'customer_id', 'field_key', 'value', 'value_text', 'searchable'] as const;
export const ACTION_COLUMNS = ['id', 'workspace_id', 'customer_id', 'member_id', 'type', 'actor', 'via', 'changes', 'created_at'] as const;

export const insertSql = (table: string, columns: readonly string[]) =>
  `insert into ${table} (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`;

export type Row = Record<string, string | number | null>;
export type Loose = any;

/**
 * The customers row for an export-shaped record: the record the gateway would hold, written
 * into a row by the store's own toCustomerRow, so a column change reaches the bench too.
 */
export function customerRow(r: Loose, id: string, workspaceId: string, changeSeq: number, version: number, now: string, actor: Actor = DEFAULT_ACTOR): Row {
  const p = r.profile ?? {};
  const s = p.socials ?? {};
  const a = r.billingAddress;
  const record: CustomerRecord = {
    id,
    workspaceId,
    externalId: r.externalId ?? null,
    email: String(r.email).trim().toLowerCase(),
    emailVerified: Boolean(r.emailVerified),
    firstName: r.firstName ?? null,
    lastName: r.lastName ?? null,
    name: r.explicitName ?? null,
    phone: r.phone ?? null,
    phoneCountry: r.phone ? 'US' : null,
    birthDate: r.birthDate ?? null,
    gender: r.gender ?? null,
    avatarUrl: r.explicitAvatarUrl ?? null,
    profile: {
      bio: p.bio ?? null,
      location: p.location ?? null,
      website: p.website ?? null,
      socials: { twitter: s.twitter ?? null, facebook: s.facebook ?? null, instagram: s.instagram ?? null },
    },
    billingAddress: a
      ? { line1: a.line1 ?? null, line2: a.line2 ?? null, city: a.city ?? null, state: a.state ?? null, postalCode: a.postalCode ?? null, country: a.country }
      : null,
    type: r.type,
    metadata: r.metadata ?? {},
    unsubscribed: Boolean(r.unsubscribed),
    internalNote: r.internalNote ?? null,
    netRevenue: r.netRevenue ?? null,
    signInCount: r.signInCount ?? 0,
    lastRequestAt: r.lastRequestAt ?? null,
    bouncedAt: r.bouncedAt ?? null,
    status: r.status ?? 'ACTIVE',
    archivedAt: r.archivedAt ?? null,
    archivedBy: r.archivedBy ?? null,
    archivedVia: r.archivedVia ?? null,
    archiveReason: r.archiveReason ?? null,
    createdAt: r.createdAt ?? now,
    createdBy: r.createdBy ?? actor.actor,
    createdVia: r.createdVia ?? actor.via,
    updatedAt: now,
    updatedBy: actor.actor,
    updatedVia: actor.via,
    version,
    changeSeq,
    erasedAt: null,
    erasedBy: null,
    erasedVia: null,
    mergedInto: null,
  };
  return toCustomerRow(record) as Row;
}

/** The customers table's columns, in the order toCustomerRow writes them. */
export const CUSTOMER_COLUMNS: readonly string[] = Object.keys(customerRow({ email: 'columns@example.com', type: 'INDIVIDUAL' }, '', '', 0, 1, ''));

/** The audit changes of a creation: every set field, from null (like diffCustomers(null, next)). */
export function creationChanges(row: Row, record: Loose): string {
  const changes: Record<string, { from: null; to: unknown }> = {};
  for (const [key, column] of [
    ['externalId', 'external_id'], ['email', 'email'], ['firstName', 'first_name'], ['lastName', 'last_name'], ['name', 'name'],
    ['phone', 'phone'], ['birthDate', 'birth_date'], ['gender', 'gender'], ['profile.bio', 'bio'], ['profile.location', 'location'],
    ['profile.website', 'website'], ['profile.socials.twitter', 'twitter'], ['profile.socials.instagram', 'instagram'],
    ['internalNote', 'internal_note'], ['netRevenue', 'net_revenue'], ['lastRequestAt', 'last_request_at'], ['status', 'status'],
  ] as const) {
    if (row[column] !== null) changes[key] = { from: null, to: row[column] };
  }
  if (row.email_verified) changes.emailVerified = { from: null, to: true };
  if (record.billingAddress) changes.billingAddress = { from: null, to: record.billingAddress };
  changes.type = { from: null, to: row.type };
  changes.metadata = { from: null, to: record.metadata };
  if (row.sign_in_count) changes.signInCount = { from: null, to: row.sign_in_count };
  return JSON.stringify(changes);
}


export interface SeedOptions {
  workspaceId: string;
  count: number;
  seed: number;
  generator?: GeneratorOptions;
  /** Write the CUSTOMER_CREATED / MEMBER_ADDED audit rows as the gateway would (default true). */
  actions?: boolean;
  /** Custom field values set on every customer: key -> value per index (definitions must exist). */
  customFields?: { key: string; valueType: 'STRING' | 'NUMBER' | 'BOOLEAN'; searchable: boolean; valueOf: (i: number) => string | number | boolean }[];
  /** First change sequence minus one (default 0); the workspace counter ends at offset + count. */
  seqOffset?: number;
  onProgress?: (done: number) => void;
}

/**
 * Fast raw seeding of a migrated SQLite file: the real schema's rows (customers, members,
 * audit actions, custom field values) through prepared statements in large transactions,
 * change_seq 1..N and the workspace counter at N. The caller opens the connection (and may turn
 * synchronous off for speed); returns the ids of the customers written, in order.
 */
export function seedCustomers(db: SqliteDatabase.Database, options: SeedOptions): string[] {
  const { workspaceId, count } = options;
  const insertCustomer = db.prepare(insertSql('customers', CUSTOMER_COLUMNS));
  const insertMember = db.prepare(insertSql('members', MEMBER_COLUMNS));
  const insertAction = db.prepare(insertSql('actions', ACTION_COLUMNS));
  const insertValue = db.prepare(insertSql('custom_field_values', CUSTOM_FIELD_VALUE_COLUMNS));
  const next = customerGenerator(options.seed, options.generator);
  const withActions = options.actions ?? true;
  const fields = options.customFields ?? [];
  const offset = options.seqOffset ?? 0;
  const ids: string[] = [];
  const writeRange = db.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const record = next(i) as Loose;
      const id = newId();
      ids.push(id);
      const members = record.members as Loose[];
      const row = customerRow(record, id, workspaceId, offset + i + 1, 1 + members.length, record.updatedAt);
      insertCustomer.run(row);
      if (withActions) {
        insertAction.run({ id: newId(), workspace_id: workspaceId, customer_id: id, member_id: null, type: 'CUSTOMER_CREATED', actor: DEFAULT_ACTOR.actor, via: DEFAULT_ACTOR.via, changes: creationChanges(row, record), created_at: row.created_at });
      }
      for (const m of members) {
        const memberId = newId();
        insertMember.run({ id: memberId, workspace_id: workspaceId, customer_id: id, email: m.email, name: m.name, external_id: m.externalId, role: m.role, created_at: m.createdAt, updated_at: m.updatedAt });
        if (withActions) {
          const changes = JSON.stringify({ email: { from: null, to: m.email }, name: { from: null, to: m.name }, role: { from: null, to: m.role } });
          insertAction.run({ id: newId(), workspace_id: workspaceId, customer_id: id, member_id: memberId, type: 'MEMBER_ADDED', actor: DEFAULT_ACTOR.actor, via: DEFAULT_ACTOR.via, changes, created_at: m.createdAt });
        }
      }
      for (const field of fields) {
        const value = field.valueOf(i);
        const valueText = typeof value === 'string' ? value.toLowerCase() : String(value);
        insertValue.run({ workspace_id: workspaceId, customer_id: id, field_key: field.key, value: JSON.stringify(value), value_text: valueText, searchable: field.searchable ? 1 : 0 });
      }
    }
  });
  const step = 50_000;
  for (let from = 0; from < count; from += step) {
    writeRange(from, Math.min(from + step, count));
    options.onProgress?.(Math.min(from + step, count));
  }
  db.prepare('update workspaces set change_seq = ? where id = ?').run(offset + count, workspaceId);
  return ids;
}
