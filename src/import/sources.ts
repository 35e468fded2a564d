/**
 * Streaming readers for import files: records come out one at a time with their position, in
 * constant memory whatever the file size (one record, plus the parsers' small buffers, at a time).
 *
 * A record that cannot be read is yielded as `{ line, raw: undefined, error }` rather than
 * thrown, so the engine rejects it and goes on. Only problems with the file as a whole throw
 * (it cannot be opened, it holds no records where any known layout keeps them, a CSV header
 * names a column twice).
 *
 * `line` is, per layout:
 * - NDJSON: the 1-based line number in the file (blank lines are skipped but counted);
 * - a JSON array, or an array inside an envelope: the 1-based index of the element in the array;
 * - a single record in an envelope (JSON:API `data` object, CRM `data.user`): 1;
 * - CSV: the file line number on which the record starts (the header is line 1).
 *
 * JSON layout detection (`detectJsonLayout`) looks at the first MiB of the file only, after an
 * optional byte-order mark and leading whitespace:
 * 1. `[` -> a JSON array of records, streamed element by element.
 * 2. `{` -> NDJSON when the first line is a complete JSON object followed by more content, or is
 *    the file's only line and has none of the envelope keys (`data`, `items`, `customers`); also
 *    when the first line is not valid JSON on its own yet the next non-blank line starts with `{`
 *    and the first line does not end inside an open structure (`[`, `{`, `,`, `:`): NDJSON whose
 *    first record is broken. Otherwise an envelope object (pretty-printed or minified), streamed.
 * 3. Anything else -> NDJSON, so each unreadable line is reported with its line number.
 * An envelope that fits in the first MiB and has none of the envelope keys is a single record
 * (line 1): a pretty-printed customer, like a saved "get customer" response.
 *
 * Envelopes: records are the elements of the first of these arrays present: `data.users` (CRM
 * list), `data.items` (CRM export), `data` (JSON:API list or plain), `items`, `customers`; or the
 * single record `data.user` (CRM get) or JSON:API resource `data { type, id, attributes }`.
 * Any JSON:API resource (`{ type, id, attributes }`) is yielded as its attributes plus `id`.
 * The arrays are streamed with stream-json, never loaded whole.
 *
 * Every layout bounds one record at `maxRecordBytes` (./record-bound.ts): a longer record is
 * skipped unread and comes out as an error item with code TOO_LONG at its position.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { extname } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream';
import { parse as parseCsv } from 'csv-parse';
import pick from 'stream-json/filters/pick.js';
import parser from 'stream-json/parser.js';
import streamValues from 'stream-json/streamers/stream-values.js';
import { flattenResource, isPlainObject, unwrapJsonApi, type RawObject } from './raw';
import { jsonRecordBound, lineRecordBound, MAX_RECORD_BYTES, oversizeMessage, type JsonPath } from './record-bound';

export interface SourceItem {
  line: number;
  raw: unknown;
  /** Why this record could not be read (`raw` is then undefined). */
  error?: string;
  /** The reject code for `error`: TOO_LONG for a record over the bound, else INVALID. */
  code?: 'TOO_LONG';
}

export interface ReadOptions {
  /**
   * 'auto' (the default) detects the layout. A dotted path ('data.users', 'results') names the
   * array holding the records in a JSON document; '' means the document is that array.
   */
  envelope?: string;
  /** 'csv' reads CSV whatever the file is called; by default `.csv` files are CSV, others JSON. */
  format?: 'json' | 'csv';
  /** The most bytes one record may take (MAX_RECORD_BYTES by default); a longer one is rejected unread. */
  maxRecordBytes?: number;
}

function oversizeItem(line: number, maxBytes: number): SourceItem {
  return { line, raw: undefined, error: oversizeMessage(maxBytes), code: 'TOO_LONG' };
}

/** Error items for the oversize records (by start line, ascending) that come before `line`. */
function* oversizeBefore(lines: number[], line: number, maxBytes: number): Generator<SourceItem> {
  while (lines.length > 0 && lines[0] < line) yield oversizeItem(lines.shift() ?? 0, maxBytes);
}

/** The file as a whole cannot be imported. */
export class ImportSourceError extends Error {
  override name = 'ImportSourceError';
}

export type JsonLayout = 'ndjson' | 'array' | 'envelope';

const PEEK_BYTES = 1024 * 1024;
const ENVELOPE_KEYS = ['data', 'items', 'customers'];

/** An error's own field; duck-typed because errors from another realm (a test VM) fail `instanceof Error`. */
function errorField(error: unknown, field: 'message' | 'syscall' | 'lines'): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[field] : undefined;
}

function message(error: unknown): string {
  const text = errorField(error, 'message');
  return typeof text === 'string' ? text : String(error);
}

function hasEnvelopeKey(document: RawObject): boolean {
  return ENVELOPE_KEYS.some((key) => Object.hasOwn(document, key));
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The layout of a JSON file from its first bytes (`complete`: the head is the whole file). See the rules above. */
export function detectJsonLayout(head: string, complete = true): JsonLayout {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (text.startsWith('[')) return 'array';
  if (!text.startsWith('{')) return 'ndjson';
  const newline = text.indexOf('\n');
  // One line longer than the peek: a minified document, not a customer record.
  if (newline < 0 && !complete) return 'envelope';
  const firstLine = newline < 0 ? text : text.slice(0, newline);
  const rest = newline < 0 ? '' : text.slice(newline + 1).trimStart();
  const first = parseJson(firstLine);
  if (isPlainObject(first)) return rest !== '' || !complete || !hasEnvelopeKey(first) ? 'ndjson' : 'envelope';
  return rest.startsWith('{') && !/[[{,:]\s*$/.test(firstLine) ? 'ndjson' : 'envelope';
}

async function peek(file: string): Promise<{ head: string; complete: boolean }> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(PEEK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, PEEK_BYTES, 0);
    return { head: buffer.toString('utf8', 0, bytesRead), complete: bytesRead < PEEK_BYTES };
  } finally {
    await handle.close();
  }
}

function parseLine(line: number, text: string): SourceItem {
  try {
    return { line, raw: unwrapJsonApi(JSON.parse(text)) };
  } catch (error) {
    return { line, raw: undefined, error: `not valid JSON: ${message(error)}` };
  }
}

/** NDJSON, one line at a time (readline pauses the file while the consumer is busy). */
export async function* readNdjson(file: string, maxBytes = MAX_RECORD_BYTES): AsyncGenerator<SourceItem, void> {
  const oversize: number[] = [];
  const input = pipeline(createReadStream(file), lineRecordBound(maxBytes, false, (at) => oversize.push(at)), () => undefined);
  input.setEncoding('utf8');
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      const body = line === 1 ? text.replace(/^\uFEFF/, '') : text;
      if (body.trim() === '') continue;
      yield* oversizeBefore(oversize, line, maxBytes);
      yield parseLine(line, body);
    }
    yield* oversizeBefore(oversize, Infinity, maxBytes);
  } finally {
    lines.close();
    input.destroy();
  }
}

type Stack = JsonPath;

function samePath(stack: Stack, path: readonly string[]): boolean {
  return stack.length === path.length && path.every((key, i) => stack[i] === key);
}

/** What one picked value of a JSON document is. */
type Target =
  | { kind: 'element'; line: number }
  | { kind: 'single' }
  | { kind: 'part'; part: 'type' | 'id' | 'attributes' };

/** Where a JSON document keeps its records: arrays whose elements are records, single records. */
interface Selector {
  arrays: readonly (readonly string[])[];
  singles: readonly (readonly string[])[];
  /** JSON:API single resource under `data`, assembled from its parts. */
  resource: boolean;
}

const AUTO_ENVELOPES: Selector = {
  arrays: [['data', 'users'], ['data', 'items'], ['data'], ['items'], ['customers']],
  singles: [['data', 'user']],
  resource: true,
};

function targetOf(selector: Selector, stack: Stack): Target | undefined {
  const last = stack[stack.length - 1];
  if (typeof last === 'number') {
    const parent = stack.slice(0, -1);
    return selector.arrays.some((path) => samePath(parent, path)) ? { kind: 'element', line: last + 1 } : undefined;
  }
  if (selector.singles.some((path) => samePath(stack, path))) return { kind: 'single' };
  const isPart = selector.resource && stack.length === 2 && stack[0] === 'data';
  return isPart && (last === 'type' || last === 'id' || last === 'attributes') ? { kind: 'part', part: last } : undefined;
}

function selectorFor(envelope: string): Selector {
  const path = envelope === '' ? [] : envelope.split('.');
  return { arrays: [path], singles: [], resource: false };
}

/** The values a selector picks out of a JSON document, each with what it is; `seen` notes a record array. */
async function* pickValues(
  file: string,
  selector: Selector,
  seen: { array: boolean },
  maxBytes: number,
): AsyncGenerator<{ target: Target; value: unknown; oversize: boolean }> {
  // pick() consults the filter once at the start of each value, in document order, and
  // streamValues() then emits the picked values in that same order: a FIFO pairs them up.
  const targets: { target: Target; oversize: boolean }[] = [];
  // Paths of records the bound replaced by null; it runs ahead of the parser, so a path is
  // here before the filter meets its null.
  const oversize = new Set<string>();
  const filter = (stack: Stack, token: { name: string }): boolean => {
    if (token.name === 'startArray' && selector.arrays.some((path) => samePath(stack, path))) seen.array = true;
    const target = targetOf(selector, stack);
    if (target) targets.push({ target, oversize: oversize.size > 0 && oversize.delete(JSON.stringify(stack)) });
    return target !== undefined;
  };
  const bound = jsonRecordBound(maxBytes, (path) => targetOf(selector, path) !== undefined, (path) => oversize.add(JSON.stringify(path)));
  const tokens = parser.asStream({ streamValues: false });
  const values = pipeline(createReadStream(file), bound, tokens, pick.asStream({ filter }), streamValues.asStream(), () => undefined);
  // stream-json types its values as `any`; they are parsed JSON, so `unknown`.
  for await (const item of values as AsyncIterable<{ value: unknown }>) {
    const picked = targets.shift();
    if (picked) yield { ...picked, value: item.value };
  }
}

function noRecords(file: string, selector: Selector): ImportSourceError {
  const places = selector.arrays.map((path) => (path.length === 0 ? 'a top-level array' : path.join('.')));
  return new ImportSourceError(`${file} holds no customer records: expected NDJSON, or records in ${places.join(', ')}`);
}

/** A file error (ENOENT, EACCES) is the caller's to see; anything else is a syntax error in the document. */
function isFileError(error: unknown): boolean {
  // System errors name their syscall; csv-parse's errors carry a `code` too, so that is no sign.
  return typeof errorField(error, 'syscall') === 'string';
}

/** A JSON array or envelope, its records streamed; a syntax error ends the read with an error item. */
async function* readJsonDocument(file: string, selector: Selector, maxBytes: number): AsyncGenerator<SourceItem, void> {
  const seen = { array: false };
  const resource: { type?: unknown; id?: unknown; attributes?: unknown } = {};
  let next = 1;
  try {
    for await (const { target, value, oversize } of pickValues(file, selector, seen, maxBytes)) {
      const line = target.kind === 'element' ? target.line : 1;
      if (oversize) {
        next = line + 1;
        yield oversizeItem(line, maxBytes);
      } else if (target.kind === 'part') resource[target.part] = value;
      else {
        next = line + 1;
        yield { line, raw: unwrapJsonApi(value) };
      }
    }
  } catch (error) {
    if (isFileError(error)) throw error;
    yield { line: next, raw: undefined, error: `not valid JSON: ${message(error)}; the rest of the file was not read` };
    return;
  }
  if (isPlainObject(resource.attributes)) yield { line: 1, raw: flattenResource(resource.attributes, resource.id) };
  else if (next === 1 && !seen.array) throw noRecords(file, selector);
}

/**
 * Records of a JSON or CSV import file, streamed in file order. CSV when `options.format` is
 * 'csv' or, without a format, when the file name ends in `.csv`; JSON (NDJSON, array or
 * envelope, see the rules at the top) otherwise.
 */
export async function* readRecords(file: string, options: ReadOptions = {}): AsyncGenerator<SourceItem, void> {
  const format = options.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'json');
  const maxBytes = options.maxRecordBytes ?? MAX_RECORD_BYTES;
  if (format === 'csv') return yield* readCsvRecords(file, maxBytes);
  const envelope = options.envelope ?? 'auto';
  if (envelope !== 'auto') return yield* readJsonDocument(file, selectorFor(envelope), maxBytes);
  const { head, complete } = await peek(file);
  const layout = detectJsonLayout(head, complete);
  if (layout === 'ndjson') return yield* readNdjson(file, maxBytes);
  const text = layout === 'envelope' && complete ? head.replace(/^\uFEFF/, '') : '';
  const whole = text === '' ? undefined : parseJson(text);
  // A small pretty-printed object with no envelope key is one record (a saved "get customer" response).
  if (isPlainObject(whole) && !hasEnvelopeKey(whole)) {
    yield Buffer.byteLength(text) > maxBytes ? oversizeItem(1, maxBytes) : { line: 1, raw: unwrapJsonApi(whole) };
  } else yield* readJsonDocument(file, layout === 'array' ? selectorFor('') : AUTO_ENVELOPES, maxBytes);
}

/** One parsed CSV row with csv-parse's `info` and `raw` options on. */
interface CsvRow {
  record: string[];
  raw: string;
  info: { lines: number };
}

/** The line a CSV record starts on: csv-parse counts to its end, and a quoted cell may span lines. */
function startLine(row: CsvRow): number {
  // raw holds the record's text, with any blank lines skipped before it and its line break.
  const inner = row.raw.replace(/^[\r\n]+/, '').replace(/(\r\n|\r|\n)$/, '');
  return row.info.lines - (inner.match(/\r\n|\r|\n/g)?.length ?? 0);
}

function readHeader(file: string, cells: string[]): string[] {
  const names = cells.map((cell) => cell.trim());
  const twice = names.find((name, i) => name !== '' && names.indexOf(name) !== i);
  if (twice !== undefined) throw new ImportSourceError(`${file}: the CSV header names the column "${twice}" twice`);
  return names;
}

function csvItem(header: string[], row: CsvRow): SourceItem {
  const line = startLine(row);
  if (row.record.length !== header.length) {
    return { line, raw: undefined, error: `not valid CSV: the row has ${row.record.length} cells but the header names ${header.length} columns` };
  }
  // fromEntries defines own properties, so a column named '__proto__' stays data.
  return { line, raw: Object.fromEntries(header.map((name, i) => [name, row.record[i]])) };
}

function csvErrorLine(error: unknown): number {
  const lines = errorField(error, 'lines');
  return typeof lines === 'number' ? lines : 0;
}

/**
 * A CSV file with a header row naming the columns (csv-parse, streaming). Each record is an
 * object from column name to cell text; a row with the wrong number of cells is an error item.
 * Blank lines are skipped. A broken quote ends the read with an error item.
 */
export async function* readCsvRecords(file: string, maxBytes = MAX_RECORD_BYTES): AsyncGenerator<SourceItem, void> {
  const options = { bom: true, info: true, raw: true, relax_column_count: true, skip_empty_lines: true } as const;
  const oversize: number[] = [];
  const bound = lineRecordBound(maxBytes, true, (at) => oversize.push(at));
  const rows = pipeline(createReadStream(file), bound, parseCsv(options), () => undefined);
  const headerTooLong = () => new ImportSourceError(`${file}: the CSV header is over the ${maxBytes}-byte limit for one record`);
  let header: string[] | undefined;
  try {
    // csv-parse types its output loosely; with info and raw on, each row has this shape.
    for await (const row of rows as AsyncIterable<CsvRow>) {
      if (header === undefined) {
        if (oversize.length > 0 && oversize[0] < startLine(row)) throw headerTooLong();
        header = readHeader(file, row.record);
        continue;
      }
      const item = csvItem(header, row);
      yield* oversizeBefore(oversize, item.line, maxBytes);
      yield item;
    }
    if (header === undefined && oversize.length > 0) throw headerTooLong();
    yield* oversizeBefore(oversize, Infinity, maxBytes);
  } catch (error) {
    if (isFileError(error) || error instanceof ImportSourceError) throw error;
    yield { line: csvErrorLine(error), raw: undefined, error: `not valid CSV: ${message(error)}; the rest of the file was not read` };
  }
}
