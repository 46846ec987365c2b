import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { makeDirs } from '../../src/util/make-dirs.ts';

test('makeDirs: creates missing parents, accepts an existing folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-mkdirs-'));
  try {
    makeDirs(join(dir, 'a', 'b', 'c'));
    assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory());
    makeDirs(join(dir, 'a', 'b'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('makeDirs: a file on the path is one line naming the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-mkdirs-'));
  try {
    writeFileSync(join(dir, 'file'), 'x');
    assert.throws(() => makeDirs(join(dir, 'file', 'sub'), 'create the run directory'), (e: Error) => e instanceof LowbitError && /cannot create the run directory .*file\/sub: (a part of the path is a file|it already exists)/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Node's own mkdirSync(recursive) never returns here; makeDirs refuses at once.
test('makeDirs: under /proc and /sys it refuses instead of looping', { skip: !existsSync('/proc/self') }, () => {
  assert.throws(() => makeDirs('/proc/lowbit-no-such/x'), /cannot create the folder \/proc\/lowbit-no-such\/x: \/proc is on procfs, a kernel file system where no files can be made; write somewhere else/);
  if (existsSync('/sys/kernel')) assert.throws(() => makeDirs('/sys/kernel/lowbit-no-such'), /\/sys\/kernel is on sysfs/);
});
