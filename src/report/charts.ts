/**
 * Small SVG charts for the report: a line chart, a grouped bar chart and a histogram, sharing one
 * frame (title, legend row, plot area with margins) and the same axes. Each returns a complete
 * <svg> element with no external references; every point and bar carries a <title> so hovering
 * shows its value. Tick lines carry data-value so tests can check where a value lands.
 */
import { bandScale, formatTick, linearScale, niceDomain, niceTicks, type BandScale, type LinearScale } from './scale.ts';
import { el, num, pathData, text } from './svg.ts';

/** Colour-blind-friendly categorical colours (Observable's "Observable10" palette). */
export const PALETTE = ['#4269d0', '#efb118', '#ff725c', '#6cc5b0', '#3ca951', '#ff8ab7', '#a463f2', '#97bbf5', '#9c6b4e', '#9498a0'];
export const MUTED = '#8a8f98';

/** A rough average glyph width of the 12 px labels, to size label space without measuring text. */
const CHAR_WIDTH = 6.6;
const TITLE_HEIGHT = 28;
const LEGEND_HEIGHT = 20;

export interface Margin {
  top: number;
  right: number;
  bottom: number;
  left: number;
}

/** Where the plot area sits inside the SVG. */
export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export function frameOf(width: number, height: number, margin: Margin): Frame {
  return { width, height, left: margin.left, right: width - margin.right, top: margin.top, bottom: height - margin.bottom };
}

interface LegendItem {
  name: string;
  color: string;
  shape: 'line' | 'dashed' | 'box';
}

function textWidth(s: string): number {
  return s.length * CHAR_WIDTH;
}

function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function legend(frame: Frame, items: LegendItem[]): string {
  let x = frame.left;
  const y = TITLE_HEIGHT + LEGEND_HEIGHT / 2;
  const parts: string[] = [];
  for (const item of items) {
    const swatch =
      item.shape === 'box'
        ? el('rect', { x, y: y - 5, width: 12, height: 10, rx: 2, fill: item.color })
        : el('line', { x1: x, y1: y, x2: x + 16, y2: y, stroke: item.color, 'stroke-width': 2.5, 'stroke-dasharray': item.shape === 'dashed' ? '5 3' : undefined });
    const label = el('text', { x: x + 20, y: y + 4, class: 'legend-label' }, text(item.name));
    parts.push(el('g', { class: 'legend-item' }, [swatch, label]));
    x += 20 + textWidth(item.name) + 18;
  }
  return el('g', { class: 'legend' }, parts);
}

function svgRoot(frame: Frame, title: string, kind: string, body: string[]): string {
  return el(
    'svg',
    { class: `chart chart-${kind}`, width: frame.width, height: frame.height, viewBox: `0 0 ${num(frame.width)} ${num(frame.height)}`, role: 'img', 'aria-label': title },
    [el('title', {}, text(title)), el('text', { x: frame.left, y: 18, class: 'chart-title' }, text(title)), ...body],
  );
}

function yAxis(frame: Frame, y: LinearScale, ticks: number[], label: string, format: (v: number) => string): string {
  const parts = ticks.map((t) =>
    el('g', {}, [
      el('line', { class: 'grid y', 'data-value': String(t), x1: frame.left, x2: frame.right, y1: y(t), y2: y(t) }),
      el('text', { class: 'tick-label', x: frame.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, text(format(t))),
    ]),
  );
  const cy = (frame.top + frame.bottom) / 2;
  parts.push(el('text', { class: 'axis-label', transform: `translate(14 ${num(cy)}) rotate(-90)`, 'text-anchor': 'middle' }, text(label)));
  parts.push(el('line', { class: 'axis', x1: frame.left, x2: frame.left, y1: frame.top, y2: frame.bottom }));
  return el('g', { class: 'y-axis' }, parts);
}

function xAxisLinear(frame: Frame, x: LinearScale, ticks: number[], label: string, format: (v: number) => string): string {
  const parts = ticks.map((t) =>
    el('g', {}, [
      el('line', { class: 'tick x', 'data-value': String(t), x1: x(t), x2: x(t), y1: frame.bottom, y2: frame.bottom + 5 }),
      el('text', { class: 'tick-label', x: x(t), y: frame.bottom + 18, 'text-anchor': 'middle' }, text(format(t))),
    ]),
  );
  parts.push(el('line', { class: 'axis', x1: frame.left, x2: frame.right, y1: frame.bottom, y2: frame.bottom }));
  parts.push(el('text', { class: 'axis-label', x: (frame.left + frame.right) / 2, y: frame.height - 8, 'text-anchor': 'middle' }, text(label)));
  return el('g', { class: 'x-axis' }, parts);
}

/** Labels longer than this are shortened with an ellipsis (the full name stays in the tooltip); long enough for ResNet names such as 'layer3.2.conv2 (2b)'. */
const MAX_CATEGORY_CHARS = 32;

/** Whether category labels must be rotated to fit their slots. */
function rotateLabels(categories: readonly string[], step: number): boolean {
  return categories.some((c) => textWidth(truncate(c, MAX_CATEGORY_CHARS)) > step - 4);
}

function xAxisBands(frame: Frame, band: BandScale, categories: readonly string[], label: string | undefined, rotate: boolean): string {
  const parts = categories.map((c, i) => {
    const cx = band.center(i);
    const shown = truncate(c, MAX_CATEGORY_CHARS);
    const attrs = rotate
      ? { class: 'tick-label', transform: `translate(${num(cx + 4)} ${num(frame.bottom + 10)}) rotate(-40)`, 'text-anchor': 'end' }
      : { class: 'tick-label', x: cx, y: frame.bottom + 18, 'text-anchor': 'middle' };
    return el('g', {}, [el('line', { class: 'tick x', 'data-category': c, x1: cx, x2: cx, y1: frame.bottom, y2: frame.bottom + 4 }), el('text', attrs, [el('title', {}, text(c)), text(shown)])]);
  });
  parts.push(el('line', { class: 'axis', x1: frame.left, x2: frame.right, y1: frame.bottom, y2: frame.bottom }));
  if (label) parts.push(el('text', { class: 'axis-label', x: (frame.left + frame.right) / 2, y: frame.height - 8, 'text-anchor': 'middle' }, text(label)));
  return el('g', { class: 'x-axis' }, parts);
}

function defaultFormat(ticks: number[]): (v: number) => string {
  return (v) => formatTick(v, ticks);
}

function marginFor(hasLegend: boolean, yTickLabels: string[], bottom = 44): Margin {
  const widest = Math.max(0, ...yTickLabels.map(textWidth));
  return { top: TITLE_HEIGHT + (hasLegend ? LEGEND_HEIGHT : 0) + 8, right: 18, bottom, left: Math.max(48, 30 + widest) };
}

// ---------------------------------------------------------------------------------------------
// Line chart

export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
}

/** A horizontal line across the plot, e.g. the float model's accuracy. */
export interface ReferenceLine {
  name: string;
  y: number;
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  references?: readonly ReferenceLine[];
  /** Ticks of the x axis; default nice ticks over the data. Explicit ticks suit a few discrete x (bit widths). */
  xTicks?: readonly number[];
  /** Only whole-number x ticks (epochs). */
  integerX?: boolean;
  yDomain?: readonly [number, number];
  width?: number;
  height?: number;
  formatX?: (v: number) => string;
  formatY?: (v: number) => string;
}

export interface LineChartLayout {
  frame: Frame;
  x: LinearScale;
  y: LinearScale;
  xTicks: number[];
  yTicks: number[];
}

/** The scales a line chart will use, exposed so tests can check coordinates by hand. */
export function lineChartLayout(o: LineChartOptions): LineChartLayout {
  const width = o.width ?? 560;
  const height = o.height ?? 320;
  const xs = o.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = [...o.series.flatMap((s) => s.points.map((p) => p[1])), ...(o.references ?? []).map((r) => r.y)];
  const xMin = Math.min(...xs, ...(o.xTicks ?? []));
  const xMax = Math.max(...xs, ...(o.xTicks ?? []));
  const xDomain: [number, number] = o.xTicks ? [xMin, xMax] : niceDomain(xMin, xMax);
  const yDomain = o.yDomain ?? niceDomain(Math.min(...ys), Math.max(...ys));
  const yTicks = niceTicks(yDomain[0], yDomain[1]);
  const formatY = o.formatY ?? defaultFormat(yTicks);
  const legendItems = o.series.length + (o.references?.length ?? 0);
  const margin = marginFor(legendItems > 1 || (o.references?.length ?? 0) > 0, yTicks.map(formatY));
  // Room at both ends so markers at the first and last x are not cut by the axes.
  const pad = o.xTicks ? 14 : 0;
  const frame = frameOf(width, height, margin);
  return {
    frame,
    x: linearScale(xDomain[0] === xDomain[1] ? [xDomain[0] - 1, xDomain[1] + 1] : xDomain, [frame.left + pad, frame.right - pad]),
    y: linearScale(yDomain, [frame.bottom, frame.top]),
    xTicks: o.xTicks ? [...o.xTicks] : niceTicks(xDomain[0], xDomain[1]).filter((t) => !o.integerX || Number.isInteger(t)),
    yTicks,
  };
}

export function lineChart(o: LineChartOptions): string {
  const { frame, x, y, xTicks, yTicks } = lineChartLayout(o);
  const formatY = o.formatY ?? defaultFormat(yTicks);
  const formatX = o.formatX ?? defaultFormat(xTicks);
  const colors = o.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const body: string[] = [yAxis(frame, y, yTicks, o.yLabel, formatY), xAxisLinear(frame, x, xTicks, o.xLabel, formatX)];
  for (const r of o.references ?? []) {
    body.push(
      el('line', { class: 'reference', x1: frame.left, x2: frame.right, y1: y(r.y), y2: y(r.y), stroke: r.color ?? MUTED, 'stroke-width': 1.5, 'stroke-dasharray': '6 4' }, [el('title', {}, text(`${r.name}: ${formatY(r.y)}`))]),
    );
  }
  o.series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const pts = s.points.map(([px, py]) => [x(px), y(py)] as const);
    body.push(el('path', { class: 'series', d: pathData(pts), fill: 'none', stroke: colors[i], 'stroke-width': 2, 'stroke-dasharray': s.dashed ? '6 4' : undefined, 'stroke-linejoin': 'round' }));
    if (s.points.length <= 40) {
      s.points.forEach(([px, py], j) => {
        body.push(el('circle', { class: 'point', cx: pts[j][0], cy: pts[j][1], r: 3.5, fill: colors[i] }, [el('title', {}, text(`${s.name}: ${formatX(px)} → ${formatY(py)}`))]));
      });
    }
  });
  const items: LegendItem[] = [
    ...o.series.map((s, i) => ({ name: s.name, color: colors[i], shape: s.dashed ? ('dashed' as const) : ('line' as const) })),
    ...(o.references ?? []).map((r) => ({ name: r.name, color: r.color ?? MUTED, shape: 'dashed' as const })),
  ];
  if (items.length > 1 || (o.references?.length ?? 0) > 0) body.push(legend(frame, items));
  return svgRoot(frame, o.title, 'line', body);
}

// ---------------------------------------------------------------------------------------------
// Grouped bar chart

export interface BarSeries {
  name: string;
  /** One value per category; null where the series has none (e.g. a layer left float). */
  values: readonly (number | null)[];
  color?: string;
}

export interface BarChartOptions {
  title: string;
  xLabel?: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly BarSeries[];
  width?: number;
  height?: number;
  formatY?: (v: number) => string;
  /**
   * Top of the value axis: bars above it are cut at the top, drawn with a break mark and labelled with
   * their value, so that one method's large values do not flatten another's small ones.
   */
  clipAt?: number;
}

export interface BarChartLayout {
  frame: Frame;
  band: BandScale;
  y: LinearScale;
  yTicks: number[];
  /** Width of one bar: the category's group width shared by the series. */
  barWidth: number;
  rotate: boolean;
}

export function barChartLayout(o: BarChartOptions): BarChartLayout {
  const values = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v))).map((v) => (o.clipAt !== undefined ? Math.min(v, o.clipAt) : v));
  const yDomain = niceDomain(Math.min(0, ...values), Math.max(0, ...values));
  const yTicks = niceTicks(yDomain[0], yDomain[1]);
  const formatY = o.formatY ?? defaultFormat(yTicks);
  const legendWidth = o.series.length > 1 ? o.series.reduce((w, s) => w + 38 + textWidth(s.name), 0) : 0;
  const width = o.width ?? Math.max(340, 70 + 1.15 * textWidth(o.title), 70 + legendWidth, Math.min(1000, 120 + o.categories.length * Math.max(22, 12 * o.series.length)));
  // First pass with a plain bottom margin, to see whether the category labels fit upright.
  let margin = marginFor(o.series.length > 1, yTicks.map(formatY));
  let frame = frameOf(width, o.height ?? 320, margin);
  let band = bandScale(o.categories.length, [frame.left, frame.right]);
  const rotate = rotateLabels(o.categories, band.step);
  if (rotate) {
    const longest = Math.max(...o.categories.map((c) => textWidth(truncate(c, MAX_CATEGORY_CHARS))));
    margin = { ...margin, bottom: 30 + Math.ceil(longest * Math.sin((40 * Math.PI) / 180)) + 10 };
    frame = frameOf(width, (o.height ?? 320) + margin.bottom - 44, margin);
    band = bandScale(o.categories.length, [frame.left, frame.right]);
  }
  return { frame, band, y: linearScale(yDomain, [frame.bottom, frame.top]), yTicks, barWidth: band.bandwidth / Math.max(1, o.series.length), rotate };
}

export function barChart(o: BarChartOptions): string {
  const { frame, band, y, yTicks, barWidth, rotate } = barChartLayout(o);
  const formatY = o.formatY ?? defaultFormat(yTicks);
  const colors = o.series.map((s, i) => s.color ?? PALETTE[i % PALETTE.length]);
  const body: string[] = [yAxis(frame, y, yTicks, o.yLabel, formatY)];
  o.series.forEach((s, j) => {
    const bars: string[] = [];
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      const clipped = o.clipAt !== undefined && v > o.clipAt;
      const top = clipped ? frame.top : y(Math.max(v, 0));
      const bottom = y(Math.min(v, 0));
      const x = band.start(i) + j * barWidth;
      const w = Math.max(barWidth - 1, 1);
      bars.push(
        el('rect', { class: clipped ? 'bar clipped' : 'bar', x, y: top, width: w, height: Math.max(bottom - top, 0.5), fill: colors[j] }, [
          el('title', {}, text(`${o.categories[i]} · ${s.name}: ${formatY(v)}`)),
        ]),
      );
      if (clipped) {
        // A white gap across the bar near the top says "cut here"; the true value is written above it.
        bars.push(el('rect', { class: 'clip-mark', x: x - 1, y: top + 8, width: w + 2, height: 3, fill: '#fff' }));
        bars.push(el('text', { class: 'clip-label', 'data-value': String(v), x: x + w / 2, y: top - 3, 'text-anchor': 'middle', 'font-size': 10, fill: colors[j] }, text(v >= 100 ? v.toFixed(0) : formatY(v))));
      }
    });
    body.push(el('g', { class: 'bar-series', 'data-series': s.name }, bars));
  });
  body.push(xAxisBands(frame, band, o.categories, o.xLabel, rotate));
  if (o.series.length > 1) body.push(legend(frame, o.series.map((s, j) => ({ name: s.name, color: colors[j], shape: 'box' as const }))));
  return svgRoot(frame, o.title, 'bar', body);
}

// ---------------------------------------------------------------------------------------------
// Histogram

export interface HistogramBin {
  x0: number;
  x1: number;
  /** Bar height, e.g. the share of weights in the bin, in %. */
  value: number;
}

export interface HistogramChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  bins: readonly HistogramBin[];
  color?: string;
  /** Values marked with a dashed vertical line each: the quantization levels. */
  levels?: readonly number[];
  levelsLabel?: string;
  xDomain?: readonly [number, number];
  width?: number;
  height?: number;
}

export interface HistogramLayout {
  frame: Frame;
  x: LinearScale;
  y: LinearScale;
  xTicks: number[];
  yTicks: number[];
}

export function histogramLayout(o: HistogramChartOptions): HistogramLayout {
  const lo = o.xDomain?.[0] ?? Math.min(...o.bins.map((b) => b.x0), ...(o.levels ?? []));
  const hi = o.xDomain?.[1] ?? Math.max(...o.bins.map((b) => b.x1), ...(o.levels ?? []));
  const yDomain = niceDomain(0, Math.max(0, ...o.bins.map((b) => b.value)), 4);
  const yTicks = niceTicks(yDomain[0], yDomain[1], 4);
  const margin = marginFor((o.levels?.length ?? 0) > 0, yTicks.map(defaultFormat(yTicks)));
  const frame = frameOf(o.width ?? 330, o.height ?? 240, margin);
  const x = linearScale(lo === hi ? [lo - 1, hi + 1] : [lo, hi], [frame.left, frame.right]);
  return { frame, x, y: linearScale(yDomain, [frame.bottom, frame.top]), xTicks: niceTicks(x.domain[0], x.domain[1], 4), yTicks };
}

export function histogramChart(o: HistogramChartOptions): string {
  const { frame, x, y, xTicks, yTicks } = histogramLayout(o);
  const color = o.color ?? PALETTE[0];
  const formatY = defaultFormat(yTicks);
  const formatX = (v: number) => formatTick(v, xTicks);
  const body: string[] = [yAxis(frame, y, yTicks, o.yLabel, formatY), xAxisLinear(frame, x, xTicks, o.xLabel, formatX)];
  const bars = o.bins
    .filter((b) => b.value > 0)
    .map((b) =>
      el('rect', { class: 'bar', x: x(b.x0), y: y(b.value), width: Math.max(x(b.x1) - x(b.x0) - 0.5, 0.8), height: Math.max(y(0) - y(b.value), 0.5), fill: color }, [
        el('title', {}, text(`[${b.x0.toPrecision(3)}, ${b.x1.toPrecision(3)}): ${b.value.toFixed(2)}`)),
      ]),
    );
  body.push(el('g', { class: 'bins' }, bars));
  if (o.levels && o.levels.length > 0) {
    const lines = o.levels.map((v) =>
      el('line', { class: 'level', 'data-value': String(v), x1: x(v), x2: x(v), y1: frame.top, y2: frame.bottom, stroke: '#d6336c', 'stroke-width': 1.2, 'stroke-dasharray': '4 3' }, [
        el('title', {}, text(`level ${v.toPrecision(4)}`)),
      ]),
    );
    body.push(el('g', { class: 'levels' }, lines));
    body.push(legend(frame, [{ name: o.levelsLabel ?? 'quantization levels', color: '#d6336c', shape: 'dashed' }]));
  }
  return svgRoot(frame, o.title, 'histogram', body);
}
