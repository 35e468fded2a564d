/**
 * Progress of long CLI runs (export, import): a live bar with counts, rate and ETA on a
 * terminal; plain periodic lines when stderr is a file or a pipe (CI logs, cron mail).
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** `done` items so far; `detail` is shown after the counts (e.g. "rejected 3"). */
  update(done: number, detail?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number | null;
  stream: NodeJS.WritableStream & { isTTY?: boolean };
  /** Seconds between plain lines when not on a terminal. */
  intervalSeconds?: number;
}

function plainLine(label: string, done: number, total: number | null, started: number, detail: string): string {
  const seconds = (Date.now() - started) / 1000;
  const rate = seconds > 0 ? Math.round(done / seconds) : 0;
  const share = total ? ` of ${total} (${Math.floor((done / total) * 100)}%)` : '';
  const eta = total && rate > 0 ? `, eta ${Math.ceil((total - done) / rate)}s` : '';
  return `${label}: ${done}${share}, ${rate}/s${eta}${detail ? `, ${detail}` : ''}\n`;
}

function plainProgress(options: ProgressOptions): Progress {
  const started = Date.now();
  let last = started;
  let latest = { done: 0, detail: '' };
  return {
    update(done, detail = '') {
      latest = { done, detail };
      if (Date.now() - last < (options.intervalSeconds ?? 5) * 1000) return;
      last = Date.now();
      options.stream.write(plainLine(options.label, done, options.total, started, detail));
    },
    stop() {
      options.stream.write(plainLine(options.label, latest.done, options.total, started, latest.detail));
    },
  };
}

function barProgress(options: ProgressOptions): Progress {
  const bar = new SingleBar({
    format: `${options.label} [{bar}] {value}/{total} | {rate}/s | eta {eta_formatted} {detail}`,
    stream: options.stream,
    hideCursor: true,
    etaBuffer: 50,
  });
  const started = Date.now();
  bar.start(options.total ?? 0, 0, { rate: 0, detail: '' });
  return {
    update(done, detail = '') {
      const seconds = (Date.now() - started) / 1000;
      // Without a known total the bar grows with the count, so the counts and rate still show.
      if (options.total === null) bar.setTotal(done);
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds) : 0, detail });
    },
    stop: () => bar.stop(),
  };
}

export function createProgress(options: ProgressOptions): Progress {
  return options.stream.isTTY ? barProgress(options) : plainProgress(options);
}
