// Progress output when piped: one plain line per 10% step, no rate or ETA before there is time to measure
// them, and a final line with the total duration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Progress, withImageProgress } from '../../src/cli/progress.ts';

function capture(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const stream = { isTTY: false, write: (s: string) => ((text += s), true) } as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.split('\n').filter((l) => l.length > 0) };
}

test('piped progress: a line per decile, no rate right after the start, a final line', () => {
  const out = capture();
  const p = new Progress({ label: 'epoch 1/1', total: 100, unit: 'img', stream: out.stream });
  p.tick(1, 'loss 1.0'); // immediately: too early for a rate
  assert.match(out.lines()[0], /^epoch 1\/1 1\/100 - img\/s ETA --:--  loss 1\.0$/);
  for (let i = 1; i < 100; i++) p.tick(1);
  p.finish('done');
  const lines = out.lines();
  // deciles 0..9 while running (1, 10, 20, ... 90 done), then the final line
  assert.equal(lines.length, 11, lines.join('\n'));
  assert.match(lines[1], /^epoch 1\/1 10\/100 /);
  assert.match(lines[10], /^epoch 1\/1 100\/100 [0-9.]+ img\/s in 00:00  done$/);
});

test('quiet progress writes nothing', () => {
  const out = capture();
  const p = new Progress({ label: 'x', total: 3, stream: out.stream, quiet: true });
  p.tick(3);
  p.finish();
  assert.equal(out.lines().length, 0);
});

test('withImageProgress passes the batches through and counts their images, reading each count before the consumer frees it', () => {
  const out = capture();
  const batches = [3, 3, 2].map((n) => ({ labels: { shape: [n] }, freed: false }));
  const source = { length: batches.length, [Symbol.iterator]: () => batches[Symbol.iterator]() };
  const wrapped = withImageProgress(source, 'evaluate', 8, out.stream);
  assert.equal(wrapped.length, 3);
  const seen: unknown[] = [];
  for (const b of wrapped) {
    seen.push(b);
    b.labels.shape = []; // as a consumer that disposes the batch: the count was read before
  }
  assert.deepEqual(seen, batches);
  const last = out.lines().at(-1)!;
  assert.match(last, /^evaluate 8\/8 /, last);
});
