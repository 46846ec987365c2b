import { test } from 'node:test';
import assert from 'node:assert/strict';
import { el, escapeXml, html, num, pathData, text } from '../../src/report/svg.ts';

test('escapeXml escapes the five markup characters', () => {
  assert.equal(escapeXml(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  assert.equal(escapeXml('plain 1.5 × 2'), 'plain 1.5 × 2');
  assert.equal(text('&amp;'), '&amp;amp;', 'already-escaped text is escaped again: it is data, not markup');
});

test('el escapes attribute values and formats numbers', () => {
  assert.equal(el('rect', { x: 1.005, y: -0.001, title: 'a"b<c' }), '<rect x="1" y="0" title="a&quot;b&lt;c"/>');
  assert.equal(el('text', { x: 3 }, text('<b>')), '<text x="3">&lt;b&gt;</text>');
  assert.equal(el('g', { hidden: false, id: undefined }, [el('line'), el('line')]), '<g><line/><line/></g>');
  assert.equal(html('td', {}, ''), '<td></td>');
});

test('num rounds to two decimals and refuses non-finite coordinates', () => {
  assert.equal(num(215), '215');
  assert.equal(num(64.7), '64.7');
  assert.equal(num(64.749), '64.75');
  assert.throws(() => num(Number.NaN), /non-finite/);
});

test('pathData draws a polyline', () => {
  assert.equal(pathData([[48, 256], [215, 146.004]]), 'M48 256 L215 146');
});
