/**
 * Scales for the report's plots: a linear map from data values to pixels, "nice" tick values
 * (1, 2 or 5 times a power of ten, as most plotting libraries pick them), and a band scale that
 * splits an axis into equal slots for bar charts.
 */

export interface LinearScale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
}

/** v in [d0, d1] maps to [r0, r1] linearly (r0 > r1 is fine: SVG's y axis points down). */
export function linearScale(domain: readonly [number, number], range: readonly [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const f = ((v: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))) as LinearScale;
  Object.defineProperty(f, 'domain', { value: [d0, d1] });
  Object.defineProperty(f, 'range', { value: [r0, r1] });
  return f;
}

/** The smallest of 1, 2, 5 times a power of ten that is >= raw (raw > 0). */
export function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const m = raw / power;
  // The small tolerance keeps 0.3 / 0.1 = 2.9999999999999996 from stepping up to 5.
  const nice = m <= 1 + 1e-9 ? 1 : m <= 2 + 1e-9 ? 2 : m <= 5 + 1e-9 ? 5 : 10;
  return nice * power;
}

/** Rounds away floating-point dust (0.30000000000000004 -> 0.3). */
function clean(v: number): number {
  return Number.parseFloat(v.toPrecision(12));
}

function widen(min: number, max: number): [number, number] {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return [0, 1];
  if (min < max) return [min, max];
  const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
  return [min - pad, max + pad];
}

/** About `count` tick values inside [min, max], spaced by a nice step. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  const [lo, hi] = widen(min, max);
  const step = niceStep((hi - lo) / Math.max(1, count));
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(clean(i * step));
  return ticks;
}

/** [min, max] widened outward to the nearest multiples of the nice step, so the axis ends on a tick. */
export function niceDomain(min: number, max: number, count = 5): [number, number] {
  const [lo, hi] = widen(min, max);
  const step = niceStep((hi - lo) / Math.max(1, count));
  return [clean(Math.floor(lo / step + 1e-9) * step), clean(Math.ceil(hi / step - 1e-9) * step)];
}

/** A tick label with as many decimals as the tick spacing needs, and no more. */
export function formatTick(value: number, ticks: readonly number[]): string {
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : Math.abs(value) || 1;
  const decimals = Math.max(0, Math.min(10, -Math.floor(Math.log10(step) + 1e-9)));
  return (Object.is(value, -0) ? 0 : value).toFixed(decimals).replace(/^-(0\.?0*)$/, '$1');
}

export interface BandScale {
  /** Left edge of category i's bar group. */
  start(i: number): number;
  /** Centre of category i's slot. */
  center(i: number): number;
  /** Width of one category's bar group (the slot less its padding). */
  readonly bandwidth: number;
  /** Width of one category's whole slot. */
  readonly step: number;
}

/**
 * n equal slots over [r0, r1]; each slot keeps `padding` (a fraction of the slot) as empty space,
 * half on each side, so neighbouring groups of bars do not touch.
 */
export function bandScale(n: number, range: readonly [number, number], padding = 0.2): BandScale {
  const [r0, r1] = range;
  const step = (r1 - r0) / Math.max(1, n);
  const bandwidth = step * (1 - padding);
  return {
    start: (i) => r0 + i * step + (step * padding) / 2,
    center: (i) => r0 + (i + 0.5) * step,
    bandwidth,
    step,
  };
}
