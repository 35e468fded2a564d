/**
 * API keys: `cgk_<prefix>_<secret>`. Only a SHA-256 hash is stored; the secret has 192 bits of
 * entropy, so a fast hash is enough (no password stretching needed) and lookups stay one
 * indexed read. The prefix is stored in clear so operators can name a key to revoke it.
 */
import crypto from 'node:crypto';
import { newId } from '../shared/ids';
import { withTransaction, type Db } from '../store/engine';
import type { ApiKeyRecord, WorkspaceRecord } from '../store/records';
import { parseKeyScopes, type KeyScope } from './scopes';
import {
  findActiveKeyByHash,
  findWorkspaceByName,
  insertApiKey,
  insertWorkspace,
} from '../store/workspaces.repository';

export function hashKey(key: string): string {
  // One-shot crypto.hash (Node 20.12+): the same digest as createHash().update().digest() at
  // about half the cost, without a Hash object per call.
  return crypto.hash('sha256', key, 'hex');
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
  /** The scopes granted (src/services/scopes.ts); null or absent: every key scope. */
  scopes?: readonly KeyScope[] | null;
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
export async function issueKey(db: Db, options: IssueKeyOptions): Promise<IssuedKey> {
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
      scopes: options.scopes ? parseKeyScopes(options.scopes) : null,
      createdAt: now,
      revokedAt: null,
    };
    await insertApiKey(trx, { ...record, keyHash: hashKey(key) });
    return { key, record, workspace, workspaceCreated };
  });
}

/** The live key and its workspace for a presented key, or null. */
export async function authenticateKey(db: Db, presented: string) {
  if (presented.length === 0 || presented.length > 200) return null;
  return findActiveKeyByHash(db, hashKey(presented));
}

export type AuthenticatedKey = NonNullable<Awaited<ReturnType<typeof findActiveKeyByHash>>>;

export interface KeyCacheOptions {
  /** How long a verified key is trusted without asking the database again; 0 asks every time. */
  ttlMs: number;
  /** Most keys remembered; past this the oldest is dropped. */
  maxEntries?: number;
  /** Milliseconds now (tests move it instead of sleeping). */
  now?: () => number;
}

export const KEY_CACHE_ENTRIES = 10_000;

/**
 * Verified keys remembered for a short while (API_KEY_CACHE_TTL_MS): the key lookup is a
 * database read on every request, often the only one a small query makes besides its data.
 * Only keys that were found live are remembered, so a new key works at once and a wrong one is
 * checked every time. The price: a key revoked by another process (the CLI, another instance)
 * keeps working here until its entry is older than the TTL.
 *
 * Entries are keyed by the presented key itself, so a hit costs a map lookup instead of a
 * SHA-256 digest (about 2 us, the dearest step of a cached authentication). Why that is safe:
 * - The hash protects keys at rest (the database and its backups). This process sees every key
 *   in clear anyway, in each request's headers, so whoever can read its memory can read keys
 *   from the next request as well. Only live keys are held, at most `maxEntries`, and expired
 *   entries are dropped (see `sweep`), so a secret is gone within two TTLs of its verification.
 *   A heap snapshot of a running gateway therefore holds recently used keys: treat one as a
 *   secret (it holds request headers and bodies too).
 * - A lookup compares the presented string with a stored one only when their hashes collide
 *   (V8's string hash, over the whole string), so its timing cannot guess a key character by
 *   character, and a key has 192 random bits. A miss is hashed with SHA-256 and read from the
 *   database, exactly as without the cache.
 */
export class VerifiedKeys {
  private readonly entries = new Map<string, { found: AuthenticatedKey; until: number }>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  private nextSweep = 0;

  constructor(private readonly options: KeyCacheOptions) {
    this.maxEntries = options.maxEntries ?? KEY_CACHE_ENTRIES;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  async authenticate(db: Db, presented: string): Promise<AuthenticatedKey | null> {
    if (this.options.ttlMs <= 0) return authenticateKey(db, presented);
    if (presented.length === 0 || presented.length > 200) return null;
    const now = this.now();
    if (now >= this.nextSweep) this.sweep(now);
    const known = this.entries.get(presented);
    if (known && known.until > now) return known.found;
    this.entries.delete(presented);
    const found = await findActiveKeyByHash(db, hashKey(presented));
    if (!found) return null;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(presented, { found, until: now + this.options.ttlMs });
    return found;
  }

  /**
   * Drops expired entries from the oldest end (they are added in time order with one TTL), so
   * a key nobody presents any more is not held long past its TTL. Runs at most once per TTL
   * (one comparison on other requests): an entry is gone within two TTLs of its verification.
   */
  private sweep(now: number): void {
    this.nextSweep = now + this.options.ttlMs;
    for (const [presented, entry] of this.entries) {
      if (entry.until > now) return;
      this.entries.delete(presented);
    }
  }

  /** Forgets every remembered key (after a revocation in this process). */
  clear(): void {
    this.entries.clear();
  }
}
