import { spawn } from 'node:child_process';
import { UsageError } from '../../errors.ts';
import { writeReport } from '../../report/index.ts';
import type { Command } from '../command.ts';
import { info, output } from '../output.ts';

/** Viewers tried in order by --open: the desktop's default, then a browser by name. */
const VIEWERS = process.platform === 'darwin' ? ['open'] : ['xdg-open', 'chromium', 'chromium-browser', 'google-chrome', 'firefox'];

/** Starts a viewer on `file`, detached; null when none could be started (no display, no browser). */
async function openInViewer(file: string): Promise<string | null> {
  // Without a display a browser would start and die at once; say so instead of claiming it opened.
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return null;
  for (const viewer of VIEWERS) {
    const started = await new Promise<boolean>((resolve) => {
      const child = spawn(viewer, [file], { detached: true, stdio: 'ignore' });
      child.once('error', () => resolve(false));
      child.once('spawn', () => {
        child.unref();
        resolve(true);
      });
    });
    if (started) return viewer;
  }
  return null;
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a markdown summary and a self-contained HTML page with plots for a run directory',
  usage: 'lowbit report RUN_DIR [--out FILE] [--open]',
  examples: ['lowbit report runs/demo', 'lowbit report runs/ptq-gpfq-w4 --out /tmp/w4.html --open', 'lowbit report runs/demo --json'],
  positionals: true,
  options: {
    out: { type: 'string', short: 'o', metavar: 'FILE', description: 'the HTML page (default RUN_DIR/report.html); the markdown goes next to it as .md' },
    open: { type: 'boolean', description: 'open the page in a browser (xdg-open, else chromium); only a note if none can be started' },
  },
  async run(o, positionals) {
    if (positionals.length === 0) throw new UsageError("missing RUN_DIR: the directory of a run (or of several runs, like runs/demo). See 'lowbit report --help'.");
    if (positionals.length > 1) throw new UsageError(`expected one RUN_DIR, got ${positionals.length}: ${positionals.join(' ')}`);
    if (typeof o.out === 'string' && !/\.html?$/i.test(o.out)) throw new UsageError(`--out ${o.out}: the page must end in .html`);
    const written = writeReport(positionals[0], { out: typeof o.out === 'string' ? o.out : undefined });
    let opened: string | null = null;
    if (o.open) {
      opened = await openInViewer(written.html);
      info(opened ? `report: opened with ${opened}` : `report: could not open a browser (no display, or none of ${VIEWERS.join(', ')} installed); open ${written.html} yourself`);
    }
    output(o, { ...written, opened }, `report of ${written.runs} run${written.runs === 1 ? '' : 's'}:\n  ${written.html}\n  ${written.markdown}`);
  },
};
