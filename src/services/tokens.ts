/**
 * Who a verified bearer token is: its workspace (named by the workspace claim), its scopes, and
 * for end users (`customer:self`) the one customer they may see. Verification itself is
 * src/services/jwt.ts; this adds what the store knows.
 */
import type { Kysely } from 'kysely';
import { LruCache } from '../shared/lru';
import { findCustomersFollowingMerges } from '../store/privacy.repository';
import type { WorkspaceRecord } from '../store/records';
import type { Database } from '../store/tables';
import { findWorkspaceByName } from '../store/workspaces.repository';
import type { JwtVerifier } from './jwt';
import { SELF_SCOPE, effectiveScopes, type Scope } from './scopes';

/**
 * What an end user's token may do, whatever else its scope claim lists: staff scopes next to
 * `customer:self` would open the rest of the workspace to one customer.
 */
const END_USER_SCOPES = effectiveScopes([SELF_SCOPE]);

/** Workspaces are never renamed or deleted, so one found by name stays valid; a miss is not kept. */
const WORKSPACE_CACHE_ENTRIES = 1024;

export interface TokenPrincipal {
  workspace: WorkspaceRecord;
  /** The `sub` claim: the audit actor and, with the workspace, the rate-limit bucket. */
  subject: string;
  scopes: ReadonlySet<Scope>;
  /** Set for `customer:self` tokens: their customer's id, null when no customer has that externalId. */
  self: { customerId: string | null } | null;
}

export class TokenAuthenticator {
  private readonly workspaces = new LruCache<Promise<WorkspaceRecord | null>>(WORKSPACE_CACHE_ENTRIES);

  constructor(private readonly verifier: JwtVerifier) {}

  /** The token's principal; null when its workspace does not exist. Throws the verifier's JwtFailure. */
  async authenticate(db: Kysely<Database>, token: string): Promise<TokenPrincipal | null> {
    const identity = await this.verifier.verify(token);
    const workspace = await this.workspace(db, identity.workspaceName);
    if (!workspace) return null;
    if (identity.scopes.has(SELF_SCOPE) && identity.customerRef !== null) {
      // A person whose customer was merged away reaches the survivor, as every lookup does.
      const [customer] = await findCustomersFollowingMerges(db, workspace.id, 'external_id', [identity.customerRef]);
      return { workspace, subject: identity.subject, scopes: END_USER_SCOPES, self: { customerId: customer?.answer.id ?? null } };
    }
    return { workspace, subject: identity.subject, scopes: effectiveScopes(identity.scopes), self: null };
  }

  private workspace(db: Kysely<Database>, name: string): Promise<WorkspaceRecord | null> {
    const found = this.workspaces.get(name, () => findWorkspaceByName(db, name));
    found.then(
      (workspace) => workspace ?? this.workspaces.delete(name),
      () => this.workspaces.delete(name),
    );
    return found;
  }
}
