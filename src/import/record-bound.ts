/**
 * The bound on one record of an import file. The readers (./sources.ts) parse whole records, so
 * without a bound their memory grows with the longest record: one 512 MiB line exhausts the
 * heap. These byte filters run in front of the parsers. Each holds at most `maxBytes` of the
 * current record; a record that grows past it is dropped as it streams by and replaced by
 * something the parser reads as nothing (its line breaks, or a JSON `null`), and its position is
 * reported so the reader yields an error item in its place. Structural bytes (quotes, brackets,
 * line breaks) are ASCII, so scanning UTF-8 byte by byte is exact.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** The default: far above any real customer record, far below what a parser's heap can take. */
export const MAX_RECORD_BYTES = 1024 * 1024;

export function oversizeMessage(maxBytes: number): string {
  return `the record is over the ${maxBytes}-byte limit for one record and was not read (--max-record-bytes raises it)`;
}

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Line-based files (NDJSON; CSV with `quotes`, where a line break inside a quoted cell does not
 * end the record). A dropped record keeps its line breaks, so later line numbers stay right;
 * `onOversize` gets the line it started on.
 */
export function lineRecordBound(maxBytes: number, quotes: boolean, onOversize: (line: number) => void): Transform {
  let held: Buffer[] = [];
  let size = 0;
  let dropping = false;
  // A dropped record's line breaks, passed on in slices (a record may hold millions of them).
  let breaks: number[] = [];
  let inQuotes = false;
  let previousCr = false;
  let line = 1;
  let startLine = 1;

  function endRecord(out: Transform): void {
    if (dropping) {
      onOversize(startLine);
      out.push(Buffer.from(breaks));
    } else if (held.length > 0) out.push(Buffer.concat(held));
    held = [];
    breaks = [];
    size = 0;
    dropping = false;
  }

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      let start = 0;
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i];
        if (quotes && byte === QUOTE) inQuotes = !inQuotes;
        const isBreak = byte === LF || byte === CR;
        const newLine = byte === CR || (byte === LF && !previousCr);
        previousCr = byte === CR;
        size += 1;
        if (!dropping && size > maxBytes) {
          dropping = true;
          held = [];
        }
        if (dropping && isBreak && breaks.push(byte) >= 65536) {
          this.push(Buffer.from(breaks));
          breaks = [];
        }
        if (newLine) line += 1;
        if (isBreak && !inQuotes) {
          if (!dropping) held.push(chunk.subarray(start, i + 1));
          endRecord(this);
          start = i + 1;
          startLine = line;
        }
      }
      if (!dropping && start < chunk.length) held.push(chunk.subarray(start));
      done();
    },
    flush(done: TransformCallback) {
      endRecord(this);
      // The end a turn later, as a file's own end comes after its last data: a parser that fails
      // at the end (an unclosed CSV quote) destroys its stream, and the reader must have taken
      // the rows before that first.
      setImmediate(done);
    },
  });
}

/** A record path as stream-json's filters see it: keys, and array indexes as numbers. */
export type JsonPath = readonly (string | number | null)[];

/** Keys longer than this cannot name a records array; they are tracked as unnamed. */
const MAX_KEY_BYTES = 256;

interface Frame {
  kind: 'object' | 'array';
}

/**
 * A JSON document whose records are the values `isRecord` picks by path (array elements, or
 * single records). An oversize record reaches the parser as `null`; `onOversize` gets its path
 * (stream-json's stack at that value) first.
 */
export function jsonRecordBound(maxBytes: number, isRecord: (path: JsonPath) => boolean, onOversize: (path: JsonPath) => void): Transform {
  const frames: Frame[] = [];
  const path: (string | number | null)[] = [];
  let expect: 'value' | 'key' | 'colon' | 'after' = 'value';
  let inString = false;
  let escaped = false;
  let stringIsKey = false;
  let key: number[] | null = [];
  let inScalar = false;
  // The record being read: the frame depth it started at, what is held of it, its path.
  let recordDepth = -1;
  let recordPath: JsonPath = [];
  let held: Buffer[] = [];
  let size = 0;
  let dropping = false;
  let finished = false;

  function startValue(): void {
    const top = frames[frames.length - 1];
    if (top?.kind === 'array') path[path.length - 1] = (path[path.length - 1] as number) + 1;
    if (recordDepth < 0 && isRecord(path)) {
      recordDepth = frames.length;
      recordPath = [...path];
      size = 0;
      dropping = false;
    }
  }

  function endValue(): void {
    expect = 'after';
    if (frames.length === recordDepth) {
      recordDepth = -1;
      finished = true;
    }
  }

  function keyText(bytes: number[] | null): string | null {
    if (bytes === null) return null;
    try {
      return JSON.parse(`"${Buffer.from(bytes).toString('utf8')}"`) as string;
    } catch {
      return null;
    }
  }

  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      let start = 0;
      const flushRecord = (end: number) => {
        if (dropping) {
          onOversize(recordPath);
          this.push('null');
        } else {
          held.push(chunk.subarray(start, end));
          this.push(Buffer.concat(held));
        }
        held = [];
        start = end;
        dropping = false;
      };
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i];
        const wasRecord = recordDepth >= 0;
        if (inString) {
          const closes = !escaped && byte === QUOTE;
          escaped = !escaped && byte === BACKSLASH;
          if (closes) {
            inString = false;
            if (stringIsKey) {
              path[path.length - 1] = keyText(key);
              expect = 'colon';
            } else endValue();
          } else if (stringIsKey && key !== null) {
            if (key.length < MAX_KEY_BYTES) key.push(byte);
            else key = null;
          }
        } else {
          if (inScalar && (byte <= 0x20 || byte === 0x2c || byte === 0x5d || byte === 0x7d)) {
            inScalar = false;
            endValue();
            if (finished) {
              finished = false;
              flushRecord(i);
            }
          }
          const isSpace = byte === 0x20 || byte === 0x09 || byte === LF || byte === CR;
          if (!isSpace && !inScalar) {
            if (byte === 0x2c) expect = frames[frames.length - 1]?.kind === 'object' ? 'key' : 'value';
            else if (byte === 0x3a) expect = 'value';
            else if (byte === 0x7d || byte === 0x5d) {
              frames.pop();
              path.pop();
              endValue();
            } else if (expect === 'key' && byte === QUOTE) {
              inString = true;
              stringIsKey = true;
              key = [];
            } else {
              startValue();
              if (recordDepth >= 0 && !wasRecord) {
                // Bytes before the record pass straight on.
                this.push(chunk.subarray(start, i));
                start = i;
              }
              if (byte === 0x7b || byte === 0x5b) {
                frames.push({ kind: byte === 0x7b ? 'object' : 'array' });
                path.push(byte === 0x7b ? null : -1);
                expect = byte === 0x7b ? 'key' : 'value';
              } else if (byte === QUOTE) {
                inString = true;
                stringIsKey = false;
              } else inScalar = true;
            }
          }
        }
        if (recordDepth >= 0 || finished) {
          size += 1;
          if (!dropping && size > maxBytes) {
            dropping = true;
            held = [];
          }
        }
        if (finished) {
          finished = false;
          flushRecord(i + 1);
        } else if (dropping) start = i + 1;
      }
      if (recordDepth >= 0) {
        if (!dropping) held.push(chunk.subarray(start));
      } else this.push(chunk.subarray(start));
      done();
    },
    flush(done: TransformCallback) {
      if (recordDepth >= 0 && dropping) {
        onOversize(recordPath);
        this.push('null');
      } else if (held.length > 0) this.push(Buffer.concat(held));
      done();
    },
  });
}
