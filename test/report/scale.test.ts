import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bandScale, formatTick, linearScale, niceDomain, niceStep, niceTicks } from '../../src/report/scale.ts';

test('linearScale maps the domain ends to the range ends and interpolates between', () => {
  const x = linearScale([0, 10], [50, 390]);
  assert.equal(x(0), 50);
  assert.equal(x(10), 390);
  assert.equal(x(2.5), 135);
  // SVG's y axis points down: a larger value is a smaller pixel row.
  const y = linearScale([0, 100], [250, 30]);
  assert.equal(y(0), 250);
  assert.equal(y(100), 30);
  assert.equal(y(25), 195);
  assert.deepEqual(x.domain, [0, 10]);
  assert.equal(linearScale([3, 3], [0, 100])(3), 50, 'an empty domain maps to the middle');
});

test('niceStep picks 1, 2 or 5 times a power of ten', () => {
  assert.equal(niceStep(0.3 / 0.1 / 10), 0.5);
  assert.equal(niceStep(1), 1);
  assert.equal(niceStep(1.3), 2);
  assert.equal(niceStep(2.2), 5);
  assert.equal(niceStep(7), 10);
  assert.equal(niceStep(0.018), 0.02);
  assert.equal(niceStep(180), 200);
});

test('niceTicks and niceDomain land on clean multiples', () => {
  assert.deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(0.1, 0.9, 4), [0.2, 0.4, 0.6, 0.8]);
  // (90.93 - 79.89) / 5 = 2.2 rounds up to a step of 5.
  assert.deepEqual(niceTicks(79.89, 90.93), [80, 85, 90]);
  assert.deepEqual(niceDomain(79.89, 90.93), [75, 95]);
  assert.deepEqual(niceDomain(0, 75, 4), [0, 80]);
  assert.deepEqual(niceTicks(-0.3, 0.3, 3), [-0.2, 0, 0.2]);
  // A single value gets a usable range instead of a zero-width one.
  assert.ok(niceTicks(5, 5).length >= 2);
  assert.deepEqual(niceDomain(0, 0), [-1, 1]);
});

test('formatTick uses the decimals the spacing needs', () => {
  assert.equal(formatTick(80, [80, 82]), '80');
  assert.equal(formatTick(0.4, [0.2, 0.4]), '0.4');
  assert.equal(formatTick(0.05, [0, 0.05]), '0.05');
  assert.equal(formatTick(-0, [0, 1]), '0');
  assert.equal(formatTick(-1e-17, [-0.2, 0, 0.2]), '0.0');
});

test('bandScale splits the range into padded slots', () => {
  const b = bandScale(2, [48, 382], 0.2);
  assert.equal(b.step, 167);
  assert.ok(Math.abs(b.bandwidth - 133.6) < 1e-9);
  assert.ok(Math.abs(b.start(0) - 64.7) < 1e-9);
  assert.ok(Math.abs(b.start(1) - 231.7) < 1e-9);
  assert.equal(b.center(1), 298.5);
});
