/**
 * No resurrection: an erased customer's email and externalId are remembered only as HMAC-SHA256
 * hashes keyed by a random per-workspace secret (never the values), and a create, update or
 * import that would bring either back is refused with ERASED unless the caller allows it.
 */
import crypto from 'node:crypto';
import { findErasedIdentities, findErasureKey, type ErasedIdentity, type IdentityKind } from '../store/privacy.repository';
import type { Db } from '../store/engine';
import type { Problems } from './validation';

/** Emails are compared trimmed and lower-cased, externalIds trimmed, as the customer columns store them. */
function normalised(kind: IdentityKind, value: string): string {
  return kind === 'email' ? value.trim().toLowerCase() : value.trim();
}

export function identityHash(key: string, kind: IdentityKind, value: string): string {
  return crypto.createHmac('sha256', key).update(`${kind}\u0000${normalised(kind, value)}`).digest('hex');
}

export function identitiesOf(key: string, values: { email?: string | null; externalId?: string | null }): ErasedIdentity[] {
  const identities: ErasedIdentity[] = [];
  if (values.email) identities.push({ kind: 'email', hash: identityHash(key, 'email', values.email) });
  if (values.externalId) identities.push({ kind: 'externalId', hash: identityHash(key, 'externalId', values.externalId) });
  return identities;
}

export function newErasureKey(): string {
  return crypto.randomBytes(32).toString('base64url');
}

/**
 * Adds an ERASED problem for each of the values that belonged to an erased customer. Costs one
 * statement in a workspace that never erased anyone, two otherwise.
 */
export async function refuseErased(db: Db, workspaceId: string, values: { email?: string | null; externalId?: string | null }, problems: Problems): Promise<void> {
  if (!values.email && !values.externalId) return;
  const key = await findErasureKey(db, workspaceId);
  if (key === null) return;
  for (const found of await findErasedIdentities(db, workspaceId, identitiesOf(key, values))) {
    problems.add([found.kind], 'ERASED', `this ${found.kind} belonged to a customer who was erased; it can only be brought back by an import that allows erased identities`);
  }
}
