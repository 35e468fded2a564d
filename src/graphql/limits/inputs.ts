/**
 * Bounds for query arguments (mutation inputs are bounded by src/services/validation.ts and
 * answer with TOO_LONG / LIMIT_EXCEEDED userErrors). A query argument over its bound is a
 * BAD_USER_INPUT error naming the argument, before any lookup runs.
 */
import { badUserInput } from '../../shared/errors';
import { LIMITS } from '../../services/validation';

export const ARGUMENT_BOUNDS = { id: LIMITS.id, externalId: LIMITS.id, email: LIMITS.email } as const;

/** Returns the value when it is at most `max` characters long. */
export function boundedString(value: string, max: number, argument: string): string {
  if (value.length > max) throw badUserInput(`\`${argument}\` must be at most ${max} characters, got ${value.length}`, argument);
  return value;
}

