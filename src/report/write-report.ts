/** Reads a run directory (or a directory of runs) and writes its markdown summary and HTML page. */
import { basename, join, resolve } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { htmlReport } from './html.ts';
import { markdownReport, type ReportText } from './markdown.ts';
import { loadRuns } from './run-data.ts';

export interface ReportOptions extends ReportText {
  /** The HTML file; default RUN_DIR/report.html. The markdown goes next to it with the extension .md. */
  out?: string;
}

export interface WrittenReport {
  html: string;
  markdown: string;
  runs: number;
}

export function writeReport(runDir: string, options: ReportOptions = {}): WrittenReport {
  const collection = loadRuns(runDir);
  const htmlPath = options.out ?? join(runDir, 'report.html');
  const markdownPath = `${htmlPath.replace(/\.html?$/i, '')}.md`;
  const text: ReportText = { title: options.title, notes: options.notes, htmlName: basename(htmlPath) };
  // Both are built before either is written, so a failure leaves the old pair in place.
  const page = htmlReport(collection, text);
  const markdown = markdownReport(collection, text);
  writeFileAtomic(htmlPath, page);
  writeFileAtomic(markdownPath, markdown);
  return { html: resolve(htmlPath), markdown: resolve(markdownPath), runs: collection.runs.length };
}
