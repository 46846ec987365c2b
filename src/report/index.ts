/** Reports of run directories: a markdown summary and a self-contained HTML page with SVG plots. */
export { writeReport, type ReportOptions, type WrittenReport } from './write-report.ts';
export { markdownReport, type ReportText } from './markdown.ts';
export { htmlReport } from './html.ts';
export { loadRuns, readRun, ptqGroups, methodLabel, type RunCollection, type RunRecord, type RunKind, type LayerWidth, type PtqRecord } from './run-data.ts';
export { lineChart, barChart, histogramChart } from './charts.ts';
export { resolveCheckpoint } from './weight-histograms.ts';
