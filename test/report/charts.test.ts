import { test } from 'node:test';
import assert from 'node:assert/strict';
import { barChart, barChartLayout, histogramChart, histogramLayout, lineChart, lineChartLayout } from '../../src/report/charts.ts';

// The layouts below are computed by hand from the chart geometry: title row 28 px, legend row 20 px,
// 8 px gap, bottom margin 44, right margin 18, left margin max(48, 30 + widest y label at 6.6 px/char).

function count(svg: string, tag: string): number {
  return svg.split(`<${tag} `).length - 1;
}

test('line chart: a tick at value v sits at the pixel the margins and domain give', () => {
  const opts = { title: 'loss', xLabel: 'epoch', yLabel: 'loss', width: 400, height: 300, series: [{ name: 'train', points: [[0, 0], [5, 5], [10, 10]] as [number, number][] }] };
  const { frame, x, y, xTicks, yTicks } = lineChartLayout(opts);
  // One series, no reference line: no legend row, so the plot starts at 28 + 8 = 36.
  assert.deepEqual([frame.left, frame.right, frame.top, frame.bottom], [48, 382, 36, 256]);
  assert.deepEqual(xTicks, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(yTicks, [0, 2, 4, 6, 8, 10]);
  assert.equal(x(5), 48 + 0.5 * (382 - 48)); // 215
  assert.equal(y(5), 256 - 0.5 * (256 - 36)); // 146
  const svg = lineChart(opts);
  assert.match(svg, /<line class="tick x" data-value="4" x1="181.6" x2="181.6" y1="256" y2="261"\/>/);
  assert.match(svg, /<line class="grid y" data-value="6" x1="48" x2="382" y1="124" y2="124"\/>/);
  assert.match(svg, /<path class="series" d="M48 256 L215 146 L382 36"/);
  assert.equal(count(svg, 'circle'), 3);
  assert.match(svg, /^<svg class="chart chart-line" width="400" height="300" viewBox="0 0 400 300"/);
});

test('line chart with explicit ticks and a reference line: legend row and end padding', () => {
  const opts = {
    title: 'accuracy',
    xLabel: 'bits',
    yLabel: '%',
    width: 400,
    height: 300,
    xTicks: [2, 3, 4],
    series: [{ name: 'RTN', points: [[2, 80], [4, 90]] as [number, number][] }],
    references: [{ name: 'float', y: 91 }],
  };
  const { frame, x, y } = lineChartLayout(opts);
  // Legend row: top = 28 + 20 + 8; explicit ticks keep 14 px free at both ends of the x axis.
  assert.equal(frame.top, 56);
  assert.equal(x(2), 62);
  assert.equal(x(4), 368);
  assert.equal(x(3), 215);
  // y domain niceDomain(80, 91) = [80, 95] (11 / 5 = 2.2 rounds up to a step of 5).
  assert.equal(y(95), 56);
  assert.equal(y(80), 256);
  const svg = lineChart(opts);
  // 91 is 11/15 of the way up from 256 to 56: 256 - 146.67 = 109.33.
  assert.match(svg, /<line class="reference" x1="48" x2="382" y1="109.33" y2="109.33"/);
  assert.match(svg, /class="legend"/);
});

test('grouped bar chart: bars start at their band and reach their value', () => {
  const opts = { title: 'error', yLabel: '%', width: 400, height: 300, categories: ['a', 'b'], series: [{ name: 'RTN', values: [10, 20] }] };
  const { frame, band, y, barWidth, rotate } = barChartLayout(opts);
  assert.deepEqual([frame.left, frame.right, frame.top, frame.bottom], [48, 382, 36, 256]);
  assert.equal(rotate, false);
  assert.ok(Math.abs(barWidth - 133.6) < 1e-9);
  assert.equal(y(20), 36);
  const svg = barChart(opts);
  // Slot 167 px, 20% padding split on both sides: bar 0 starts at 48 + 16.7, one pixel gap between bars.
  assert.match(svg, /<rect class="bar" x="64.7" y="146" width="132.6" height="110"/);
  assert.match(svg, /<rect class="bar" x="231.7" y="36" width="132.6" height="220"/);
  assert.equal(band.center(0), 131.5);
  assert.equal(count(svg, 'rect'), 2, 'one series: no legend swatch');
});

test('bar chart: null values draw no bar, long labels rotate and get room', () => {
  const categories = ['layer1.0.conv1', 'layer1.0.conv2', 'layer2.0.shortcut.0', 'fc'];
  const svg = barChart({ title: 't', yLabel: '%', categories, width: 300, series: [{ name: 'RTN', values: [1, null, 2, 3] }, { name: 'GPFQ', values: [1, 1, 1, 1] }] });
  assert.equal(svg.split('class="bar"').length - 1, 7);
  assert.match(svg, /rotate\(-40\)/);
  assert.ok(barChartLayout({ title: 't', yLabel: '%', categories, width: 300, series: [] }).frame.bottom < 320 + 60);
});

test('histogram: bins span their interval, levels are vertical lines at k * delta', () => {
  const opts = { title: 'w', xLabel: 'w', yLabel: '%', width: 330, height: 240, bins: [{ x0: -1, x1: 0, value: 25 }, { x0: 0, x1: 1, value: 75 }], levels: [-0.5, 0.5] };
  const { frame, x, y } = histogramLayout(opts);
  // Levels add a legend row (top 56); y domain niceDomain(0, 75, 4) = [0, 80].
  assert.deepEqual([frame.left, frame.right, frame.top, frame.bottom], [48, 312, 56, 196]);
  assert.equal(x(-0.5), 114);
  assert.equal(y(80), 56);
  const svg = histogramChart(opts);
  assert.match(svg, /<line class="level" data-value="-0.5" x1="114" x2="114" y1="56" y2="196"/);
  assert.match(svg, /<line class="level" data-value="0.5" x1="246" x2="246"/);
  assert.match(svg, /<rect class="bar" x="180" y="64.75" width="131.5" height="131.25"/);
});

test('chart text is escaped', () => {
  const svg = barChart({ title: 'a <b> & "c"', yLabel: "y's", categories: ['<x>'], series: [{ name: '&', values: [1] }, { name: 'q', values: [2] }] });
  assert.ok(!svg.includes('<b>') && !svg.includes('<x>'));
  assert.match(svg, /a &lt;b&gt; &amp; &quot;c&quot;/);
  assert.match(svg, /y&#39;s/);
  assert.match(svg, /data-category="&lt;x&gt;"/);
});
