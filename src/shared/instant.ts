/**
 * The one parser of ISO 8601 date-times given by clients (mutation inputs, `updatedSince` on
 * the NDJSON export, `export --since`): a date, `T` or a space, a time, optionally a zone.
 * Callers report a null in their own words (a userError, BAD_USER_INPUT, a CLI message).
 */
const DATE_TIME_START = /^\d{4}-\d{2}-\d{2}[T ]/;

/** The instant as the canonical UTC string (`toISOString`), or null when the text is none. */
export function parseInstant(value: string): string | null {
  const time = Date.parse(value);
  if (!DATE_TIME_START.test(value) || Number.isNaN(time)) return null;
  return new Date(time).toISOString();
}
