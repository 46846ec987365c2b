/**
 * The bad-inputs table (cases.ts): each row's answer is one line with the expected text, a LowbitError
 * from the library or, from the `lowbit` command, that line on stderr with the expected exit code and
 * no stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { BAD_INPUTS } from './cases.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');

function inTempDir(fn: (dir: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lowbit-bad-'));
    try {
      await fn(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

describe('bad inputs', () => {
  for (const c of BAD_INPUTS) {
    it(`${c.id} (issue 20: ${c.issue})`, inTempDir((dir) => {
      if (c.kind === 'library') {
        assert.throws(() => c.run(dir), (err: unknown) => {
          assert.ok(err instanceof LowbitError, `expected a LowbitError, got ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
          assert.match(err.message, c.message);
          assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
          return true;
        });
      } else if (c.kind === 'behaviour') {
        assert.equal(c.check(dir), null);
      } else {
        const r = spawnSync(process.execPath, [BIN, ...c.args(dir)], { env: { ...process.env, LOWBIT_THREADS: '1', ...c.env }, encoding: 'utf8' });
        const lines = r.stderr.split('\n').filter(Boolean);
        assert.equal(r.status, c.exitCode, r.stderr);
        assert.equal(lines.length, 1, `one line on stderr: ${r.stderr}`);
        assert.match(lines[0], c.message);
        assert.doesNotMatch(r.stderr, /unexpected error|    at /);
        if (c.after) assert.equal(c.after(dir), null);
      }
    }));
  }
});
