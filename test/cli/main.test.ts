// The top level of the command: --version, and the command list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'lowbit.js');

test('lowbit --version prints the package version (as JSON with --json); --help lists convert', () => {
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `lowbit ${version}\n`);
  const j = spawnSync(process.execPath, [BIN, '--version', '--json'], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(j.stdout), { version });
  const h = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  assert.match(h.stdout, /lowbit --version/);
  assert.match(h.stdout, /^ {2}convert +a PyTorch state dict/m);
});
