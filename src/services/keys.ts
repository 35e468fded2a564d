/**
 * API keys: `cgk_<prefix>_<secret>`. Only a SHA-256 hash is stored; the secret has 192 bits of
 * entropy, so a fast hash is enough (no password stretching needed) and lookups stay one
 * indexed read. The prefix is stored in clear so operators can name a key to revoke it.
 */
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { newId } from '../ids';
import { withTransaction } from '../store/engine';
import type { ApiKeyRecord, WorkspaceRecord } from '../store/records';
import type { Database } from '../store/tables';
import {
  findActiveKeyByHash,
  findWorkspaceByName,
  insertApiKey,
  insertWorkspace,
} from '../store/workspaces.repository';

export function hashKey(key: string): string {
  return crypto.createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface IssuedKey {
  key: string;
  record: ApiKeyRecord;
  workspace: WorkspaceRecord;
  workspaceCreated: boolean;
}

export interface IssueKeyOptions {
  workspace: string;
  name?: string | null;
  /** false for trusted back-office jobs exempt from rate limiting. */
  rateLimited?: boolean;
}

const WORKSPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function checkWorkspaceName(name: string): void {
  if (!WORKSPACE_NAME.test(name)) {
    throw new Error(
      `workspace name must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit; got ${JSON.stringify(name)}`,
    );
  }
}

/** Creates a key for the workspace, creating the workspace first when it does not exist. */
export async function issueKey(db: Kysely<Database>, options: IssueKeyOptions): Promise<IssuedKey> {
  checkWorkspaceName(options.workspace);
  const prefix = crypto.randomBytes(5).toString('hex');
  const key = `cgk_${prefix}_${crypto.randomBytes(24).toString('base64url')}`;
  const now = new Date().toISOString();
  return withTransaction(db, async (trx) => {
    let workspace = await findWorkspaceByName(trx, options.workspace);
    const workspaceCreated = workspace === null;
    if (!workspace) {
      workspace = { id: newId(), name: options.workspace, createdAt: now };
      await insertWorkspace(trx, workspace);
    }
    const record: ApiKeyRecord = {
      id: newId(),
      workspaceId: workspace.id,
      name: options.name ?? null,
      prefix,
      rateLimited: options.rateLimited ?? true,
      createdAt: now,
      revokedAt: null,
    };
    await insertApiKey(trx, { ...record, keyHash: hashKey(key) });
    return { key, record, workspace, workspaceCreated };
  });
}

/** The live key and its workspace for a presented key, or null. */
export async function authenticateKey(db: Kysely<Database>, presented: string) {
  if (presented.length === 0 || presented.length > 200) return null;
  return findActiveKeyByHash(db, hashKey(presented));
}
