/**
 * The one cursor codec: a cursor is a JSON array, base64url-encoded, whose first element tags
 * its kind (a list's ordering for pages, `export` for the change feed). Opaque to clients;
 * each kind checks its own parts (src/services/paging.ts, src/services/export.ts).
 */
export type CursorPart = string | number;

export function encodeCursor(tag: string, parts: readonly CursorPart[]): string {
  return Buffer.from(JSON.stringify([tag, ...parts]), 'utf8').toString('base64url');
}

/** The parts after the tag, or null when the text is no cursor of this tag. */
export function decodeCursor(tag: string, cursor: string): unknown[] | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  return Array.isArray(parsed) && parsed[0] === tag ? parsed.slice(1) : null;
}
