/**
 * What a credential may do. The names are the public contract (DESIGN.md, "Browsers, end users
 * and least privilege"): API keys carry some of KEY_SCOPES (all of them when created without
 * `--scope`), JWTs carry theirs in the `scope` claim, and `customer:self` is a JWT-only scope
 * that reaches one customer. The SDL declares which scopes each field needs (@requiresScopes).
 */
export const KEY_SCOPES = ['customers:read', 'customers:write', 'customers:erase', 'export:read', 'webhooks:manage', 'schema:manage'] as const;

export type KeyScope = (typeof KEY_SCOPES)[number];
export const SELF_SCOPE = 'customer:self';
export type Scope = KeyScope | typeof SELF_SCOPE;

const KNOWN = new Set<string>([...KEY_SCOPES, SELF_SCOPE]);

/** Scopes that bring others with them: whoever may write may read what it writes. */
const IMPLIES: Partial<Record<Scope, readonly Scope[]>> = { 'customers:write': ['customers:read'] };

export function isKeyScope(value: string): value is KeyScope {
  return (KEY_SCOPES as readonly string[]).includes(value);
}

/** The scopes a credential holds once implications are applied; unknown names are dropped. */
export function effectiveScopes(granted: Iterable<string>): ReadonlySet<Scope> {
  const scopes = new Set<Scope>();
  for (const name of granted) {
    if (!KNOWN.has(name)) continue;
    scopes.add(name as Scope);
    for (const implied of IMPLIES[name as Scope] ?? []) scopes.add(implied);
  }
  return scopes;
}

/** Every scope an API key can hold: what a key created without `--scope` gets. */
export const ALL_KEY_SCOPES: ReadonlySet<Scope> = effectiveScopes(KEY_SCOPES);

/**
 * A requirement as @requiresScopes writes it: any one of the inner lists, each needing all of
 * its scopes. Returns whether `held` satisfies it.
 */
export function satisfies(held: ReadonlySet<string>, anyOf: readonly (readonly string[])[]): boolean {
  return anyOf.some((allOf) => allOf.every((scope) => held.has(scope)));
}

/** Checks `--scope` values for a key; throws with the allowed names on anything else. */
export function parseKeyScopes(values: readonly string[]): KeyScope[] {
  const unknown = values.filter((value) => !isKeyScope(value));
  if (unknown.length > 0) {
    throw new Error(`unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}; a key's scopes are ${KEY_SCOPES.join(', ')}`);
  }
  return [...new Set(values as KeyScope[])];
}
