/** Workspaces (tenants), their API keys, and the per-workspace change sequence. */
import { compiledOnce } from './compiled';
import { isoOf, type Db } from './engine';
import type { ApiKeyRecord, WorkspaceRecord } from './records';
import type { ApiKeyRow, WorkspaceRow } from './tables';

function toWorkspaceRecord(row: Pick<WorkspaceRow, 'id' | 'name' | 'created_at'>): WorkspaceRecord {
  return { id: row.id, name: row.name, createdAt: isoOf(row.created_at) };
}

function toApiKeyRecord(row: ApiKeyRow): ApiKeyRecord {
  return {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    prefix: row.prefix,
    rateLimited: row.rate_limited === 1,
    scopes: row.scopes === null ? null : row.scopes.split(' ').filter(Boolean),
    createdAt: isoOf(row.created_at),
    revokedAt: isoOf(row.revoked_at),
  };
}

export async function findWorkspaceByName(db: Db, name: string): Promise<WorkspaceRecord | null> {
  const row = await db.selectFrom('workspaces').select(['id', 'name', 'created_at']).where('name', '=', name).executeTakeFirst();
  return row ? toWorkspaceRecord(row) : null;
}

export async function listWorkspaces(db: Db): Promise<(WorkspaceRecord & { activeKeys: number })[]> {
  const rows = await db
    .selectFrom('workspaces')
    .leftJoin('api_keys', (join) => join.onRef('api_keys.workspace_id', '=', 'workspaces.id').on('api_keys.revoked_at', 'is', null))
    .select(['workspaces.id', 'workspaces.name', 'workspaces.created_at', (eb) => eb.fn.count<number | string>('api_keys.id').as('keys')])
    .groupBy(['workspaces.id', 'workspaces.name', 'workspaces.created_at'])
    .orderBy('workspaces.name')
    .execute();
  return rows.map((row) => ({ ...toWorkspaceRecord(row), activeKeys: Number(row.keys) }));
}

export async function insertWorkspace(db: Db, workspace: WorkspaceRecord): Promise<void> {
  await db.insertInto('workspaces').values({ id: workspace.id, name: workspace.name, created_at: workspace.createdAt }).execute();
}

export async function countWorkspaces(db: Db): Promise<number> {
  const row = await db.selectFrom('workspaces').select((eb) => eb.fn.countAll<number | string>().as('count')).executeTakeFirstOrThrow();
  return Number(row.count);
}

export interface NewApiKey extends ApiKeyRecord {
  keyHash: string;
}

export async function insertApiKey(db: Db, key: NewApiKey): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({
      id: key.id,
      workspace_id: key.workspaceId,
      name: key.name,
      prefix: key.prefix,
      key_hash: key.keyHash,
      rate_limited: key.rateLimited ? 1 : 0,
      scopes: key.scopes === null ? null : key.scopes.join(' '),
      created_at: key.createdAt,
      revoked_at: null,
    })
    .execute();
}

/** The live (not revoked) key with this hash, with its workspace: every request asks, so compiled once. */
const activeKeyByHash = compiledOnce(1, (db: Db, keyHash: string) =>
  db
    .selectFrom('api_keys')
    .innerJoin('workspaces', 'workspaces.id', 'api_keys.workspace_id')
    .selectAll('api_keys')
    .select(['workspaces.name as workspace_name', 'workspaces.created_at as workspace_created_at'])
    .where('api_keys.key_hash', '=', keyHash)
    .where('api_keys.revoked_at', 'is', null),
);

export async function findActiveKeyByHash(
  db: Db,
  keyHash: string,
): Promise<{ key: ApiKeyRecord; workspace: WorkspaceRecord } | null> {
  const [row] = await activeKeyByHash(db, keyHash);
  if (!row) return null;
  return {
    key: toApiKeyRecord(row),
    workspace: toWorkspaceRecord({ id: row.workspace_id, name: row.workspace_name, created_at: row.workspace_created_at }),
  };
}

export async function listApiKeys(db: Db, workspaceId: string): Promise<ApiKeyRecord[]> {
  const rows = await db.selectFrom('api_keys').selectAll().where('workspace_id', '=', workspaceId).orderBy('created_at').execute();
  return rows.map(toApiKeyRecord);
}

/** Revokes the workspace's live keys whose id or prefix is `idOrPrefix`; returns how many. */
export async function revokeApiKey(db: Db, workspaceId: string, idOrPrefix: string, at: string): Promise<number> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: at })
    .where('workspace_id', '=', workspaceId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('id', '=', idOrPrefix), eb('prefix', '=', idOrPrefix)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Hands out the workspace's next change sequence number. It must run inside the writing
 * transaction: the counter row stays locked (PostgreSQL row lock; SQLite's single writer)
 * until that transaction commits, so numbers are handed out in commit order and a reader
 * that has seen sequence N can never later find a newly committed change below N.
 */
export async function nextChangeSeq(db: Db, workspaceId: string): Promise<number> {
  return (await nextChange(db, workspaceId)).changeSeq;
}

/**
 * nextChangeSeq, also returning the workspace's webhooks version from the same statement: the
 * row lock orders it after any committed endpoint change, so a write that finds the version it
 * cached knows its cached subscribers are current without another query.
 */
export async function nextChange(db: Db, workspaceId: string): Promise<{ changeSeq: number; webhooksVersion: number }> {
  const row = await db
    .updateTable('workspaces')
    .set((eb) => ({ change_seq: eb('change_seq', '+', 1) }))
    .where('id', '=', workspaceId)
    .returning(['change_seq', 'webhooks_version'])
    .executeTakeFirstOrThrow();
  return { changeSeq: Number(row.change_seq), webhooksVersion: Number(row.webhooks_version) };
}

/**
 * The last change sequence committed in the workspace. Every sequence up to it belongs to a
 * committed change (see nextChangeSeq), so a feed read up to this point can never later
 * find a gap filled in below it.
 */
export async function committedChangeSeq(db: Db, workspaceId: string): Promise<number> {
  const row = await db.selectFrom('workspaces').select('change_seq').where('id', '=', workspaceId).executeTakeFirstOrThrow();
  return Number(row.change_seq);
}
