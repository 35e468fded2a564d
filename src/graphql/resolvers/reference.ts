/**
 * Federation representations arrive as `_Any`: the key types codegen declares are what a
 * router sends, not what any caller must send. These helpers read a key field defensively,
 * so a malformed representation resolves to null instead of reaching a query.
 */
import { isUuid } from '../../shared/ids';

/** The representation's `field` when it is a string, else null. */
export function referenceString(reference: object, field: string): string | null {
  const value = (reference as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : null;
}

/** The representation's `id` when it is a UUID (ids are never anything else), else null. */
export function referenceUuid(reference: object): string | null {
  const id = referenceString(reference, 'id');
  return id !== null && isUuid(id) ? id : null;
}
