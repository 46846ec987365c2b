import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRunFixture } from './fixtures.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');
const fixture = makeRunFixture();
after(() => fixture.cleanup());

function lowbit(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { env: { ...process.env, LOWBIT_THREADS: '1', DISPLAY: '', WAYLAND_DISPLAY: '' }, encoding: 'utf8' });
}

test('lowbit report --help shows usage and examples', () => {
  const r = lowbit(['report', '--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: lowbit report RUN_DIR/);
  assert.match(r.stdout, /Examples:\n {2}lowbit report runs\/demo/);
});

test('lowbit report --json writes the page and the markdown and prints their paths', () => {
  const out = join(fixture.tmp, 'elsewhere', 'page.html');
  const r = lowbit(['report', fixture.dir, '--out', out, '--json', '--open']);
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout);
  assert.equal(result.html, out);
  assert.equal(result.markdown, join(fixture.tmp, 'elsewhere', 'page.md'));
  assert.equal(result.runs, 7);
  assert.equal(result.opened, null, 'no display: nothing opened');
  assert.match(r.stderr, /could not open a browser.*open .*page\.html yourself/);
  assert.match(readFileSync(out, 'utf8'), /^<!doctype html>/);
  assert.match(readFileSync(result.markdown, 'utf8'), /are in `page\.html` next to this file/);
});

test('lowbit report exit codes: 2 for usage, 1 for a missing run directory', () => {
  const none = lowbit(['report']);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /missing RUN_DIR/);
  const two = lowbit(['report', 'a', 'b']);
  assert.equal(two.status, 2);
  const badOut = lowbit(['report', fixture.dir, '--out', join(fixture.tmp, 'x.png')]);
  assert.equal(badOut.status, 2);
  assert.match(badOut.stderr, /--out .*must end in \.html/);
  const missing = lowbit(['report', join(fixture.tmp, 'no-such-run')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no-such-run does not exist: pass a directory written by lowbit/);
  assert.ok(!existsSync(join(fixture.tmp, 'no-such-run')), 'a failed report creates nothing');
});
