/**
 * Progress for long work: a redrawn bar with rate and ETA on a terminal, plain lines when piped
 * (about every 10% and at the end), nothing when quiet.
 */
export interface ProgressOptions {
  label: string;
  total: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  quiet?: boolean;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class Progress {
  private done = 0;
  private readonly start = performance.now();
  private lastDraw = 0;
  private lastPlainDecile = -1;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private finished = false;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Advances by n units; `status` is shown after the rate (e.g. the current loss). */
  tick(n = 1, status = ''): void {
    this.done += n;
    if (this.opts.quiet) return;
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDraw < 100 && this.done < this.opts.total) return;
      this.lastDraw = now;
      this.stream.write(`\r${this.line(status)}\x1b[K`);
    } else {
      const decile = Math.floor((10 * this.done) / Math.max(1, this.opts.total));
      if (decile > this.lastPlainDecile && this.done < this.opts.total) {
        this.lastPlainDecile = decile;
        this.stream.write(`${this.line(status)}\n`);
      }
    }
  }

  /** Ends the bar with a final line. */
  finish(status = ''): void {
    if (this.finished) return;
    this.finished = true;
    if (this.opts.quiet) return;
    this.stream.write(`${this.tty ? '\r' : ''}${this.line(status)}${this.tty ? '\x1b[K' : ''}\n`);
  }

  private line(status: string): string {
    const { label, total, unit = 'it' } = this.opts;
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-9);
    const eta = (total - this.done) / rate;
    const frac = Math.min(1, this.done / Math.max(total, 1));
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = this.tty ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    // A rate over the first instants (a tick right after the bar starts) is noise: show none yet.
    const measured = elapsed >= 0.5 || this.done >= total;
    const timing = this.done >= total ? `in ${formatDuration(elapsed)}` : `ETA ${measured ? formatDuration(eta) : '--:--'}`;
    return `${label} ${bar}${this.done}/${total} ${measured ? rate.toFixed(1) : '-'} ${unit}/s ${timing}${status ? '  ' + status : ''}`;
  }
}

/**
 * A batch source that shows a progress bar over its images while it is iterated (an evaluation pass,
 * say); the bar finishes when the iteration ends.
 */
export function withImageProgress<B extends { labels: { shape: number[] } }>(
  source: { readonly length: number; [Symbol.iterator](): Iterator<B> },
  label: string,
  totalImages: number,
  stream?: NodeJS.WriteStream,
): { readonly length: number; [Symbol.iterator](): Iterator<B> } {
  return {
    length: source.length,
    *[Symbol.iterator]() {
      const bar = new Progress({ label, total: totalImages, unit: 'img', stream });
      for (const batch of source as Iterable<B>) {
        const n = batch.labels.shape[0]; // read before the consumer disposes the batch
        yield batch;
        bar.tick(n);
      }
      bar.finish();
    },
  };
}
