/**
 * What happens after an attempt: retry with exponential backoff and jitter for up to
 * RETRY_WINDOW_MS after the first attempt, give up after that, disable an endpoint that
 * answered 410 or has failed without a single success for DISABLE_AFTER_MS. Pure: the sender
 * passes the clock and the random source, so the schedule is tested on a fake clock.
 */
export const RETRY_WINDOW_MS = 3 * 24 * 3600_000;
export const DISABLE_AFTER_MS = 5 * 24 * 3600_000;
const FIRST_DELAY_MS = 5_000;
const MAX_DELAY_MS = 3600_000;

/**
 * The wait before retry number `failures` (1 after the first failure): 5 s doubling up to an
 * hour, each drawn at random from its upper half so receivers that failed together are not
 * retried together.
 */
export function retryDelayMs(failures: number, random: () => number): number {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(failures - 1, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export interface AttemptFacts {
  /** 2xx, another status, or null when no response came (refused, timeout, blocked). */
  responseCode: number | null;
  /** Attempts made before this one. */
  previousAttempts: number;
  /** The first attempt of this delivery (null: this is it). */
  firstAttemptAt: number | null;
  /** Start of the endpoint's run of failures (null: its last attempt succeeded). */
  failingSince: number | null;
  now: number;
  random: () => number;
}

export interface AttemptVerdict {
  state: 'PENDING' | 'DELIVERED' | 'FAILED';
  nextAttemptAt: number | null;
  failingSince: number | null;
  disableReason: string | null;
}

export function afterAttempt(facts: AttemptFacts): AttemptVerdict {
  const { responseCode, now } = facts;
  if (responseCode !== null && responseCode >= 200 && responseCode < 300) {
    return { state: 'DELIVERED', nextAttemptAt: null, failingSince: null, disableReason: null };
  }
  const failingSince = facts.failingSince ?? now;
  if (responseCode === 410) {
    return { state: 'FAILED', nextAttemptAt: null, failingSince, disableReason: 'the endpoint answered 410 Gone' };
  }
  const disableReason =
    now - failingSince >= DISABLE_AFTER_MS ? `every attempt failed for ${Math.floor((now - failingSince) / 86_400_000)} days (last: ${responseCode === null ? 'no response' : `status ${responseCode}`})` : null;
  const next = now + retryDelayMs(facts.previousAttempts + 1, facts.random);
  const first = facts.firstAttemptAt ?? now;
  if (next - first > RETRY_WINDOW_MS) return { state: 'FAILED', nextAttemptAt: null, failingSince, disableReason };
  return { state: 'PENDING', nextAttemptAt: next, failingSince, disableReason };
}
