import crypto from 'node:crypto';

/** Constant-time comparison of a presented secret with the configured one (hashing first evens out the lengths). */
export function sameSecret(presented: string | undefined, secret: string | undefined): boolean {
  if (!secret || !presented) return false;
  const digest = (value: string) => crypto.createHash('sha256').update(value, 'utf8').digest();
  return crypto.timingSafeEqual(digest(presented), digest(secret));
}
