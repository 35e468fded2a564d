/**
 * Writes the change feed as NDJSON to any writable (an HTTP response, a file, stdout) with
 * back-pressure: one page in memory at a time, waiting for `drain` when the reader is slow.
 * The last line is a trailer, `{"trailer":{"endCursor":"...","exported":N}}`, to resume from.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { streamExport, type StreamOptions } from './export';
import type { Db } from '../store/engine';

export interface ExportResult {
  endCursor: string;
  exported: number;
}

/** Writes, then waits for `drain` (or the reader going away) when the buffer is full. */
async function writeLine(out: Writable, line: string): Promise<void> {
  if (out.write(line)) return;
  // Both waits are cancelled once one fires, so no listener is left behind per page.
  const done = new AbortController();
  const waits = [once(out, 'drain', { signal: done.signal }), once(out, 'close', { signal: done.signal })];
  try {
    await Promise.race(waits);
  } finally {
    done.abort();
    await Promise.allSettled(waits);
  }
}

export async function writeExportNdjson(
  db: Db,
  workspaceId: string,
  out: Writable,
  options: StreamOptions & { onProgress?: (exported: number) => void } = {},
): Promise<ExportResult> {
  const feed = streamExport(db, workspaceId, options);
  let exported = 0;
  for (;;) {
    const next = await feed.next();
    if (next.done) {
      await writeLine(out, `${JSON.stringify({ trailer: { endCursor: next.value.endCursor, exported } })}\n`);
      return { endCursor: next.value.endCursor, exported };
    }
    if (out.destroyed) throw new Error('export stream closed by the reader');
    await writeLine(out, next.value.map((record) => JSON.stringify(record)).join('\n') + '\n');
    exported += next.value.length;
    options.onProgress?.(exported);
  }
}
