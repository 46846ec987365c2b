// writeFileAtomic: replaces only regular files (a FIFO, a folder, a link to a FIFO are refused and
// left as they were), follows a symbolic link to the file it names, removes its temporary file when a
// write fails, and reports file-system errors as one line naming the file and the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { writeFileAtomic } from '../../src/util/atomic-write.ts';
import { fsErrorMessage } from '../../src/util/fs-errors.ts';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-atomic-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function refused(fn: () => void, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof LowbitError && re.test(e.message) && !e.message.includes('\n'));
}

test('writes and replaces a regular file; no temporary file is left', () => {
  withDir((dir) => {
    const p = join(dir, 'sub', 'a.json');
    writeFileAtomic(p, 'one');
    writeFileAtomic(p, [Buffer.from('tw'), Buffer.from('o')]);
    assert.equal(readFileSync(p, 'utf8'), 'two');
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['a.json']);
  });
});

test('a named pipe, a folder and a link to a pipe are refused and stay what they were', () => {
  withDir((dir) => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    refused(() => writeFileAtomic(fifo, 'x'), /refusing to write .*pipe: it is a named pipe \(FIFO\), which lowbit never replaces/);
    assert.ok(lstatSync(fifo).isFIFO());
    refused(() => writeFileAtomic(dir, 'x'), /refusing to write .*: it is a folder/);
    const link = join(dir, 'link');
    symlinkSync(fifo, link);
    refused(() => writeFileAtomic(link, 'x'), /it links to .*pipe, a named pipe/);
    assert.ok(lstatSync(link).isSymbolicLink() && lstatSync(fifo).isFIFO());
    assert.deepEqual(readdirSync(dir).sort(), ['link', 'pipe']);
  });
});

test('/dev/null is recognised as a character device (checked without writing to it)', () => {
  // Only the check is exercised: a write attempt that slipped through would replace the device.
  refused(() => writeFileAtomic('/dev/null', new Uint8Array(0)), /refusing to write \/dev\/null: it is a character device \(like \/dev\/null\)/);
  assert.ok(lstatSync('/dev/null').isCharacterDevice());
});

test('a symbolic link to a file: the file is replaced, the link kept', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'real.txt'), 'old');
    symlinkSync(join(dir, 'real.txt'), join(dir, 'alias.txt'));
    writeFileAtomic(join(dir, 'alias.txt'), 'new');
    assert.ok(lstatSync(join(dir, 'alias.txt')).isSymbolicLink());
    assert.equal(readFileSync(join(dir, 'real.txt'), 'utf8'), 'new');
  });
});

test('a failed write removes its temporary file and leaves the old content', () => {
  withDir((dir) => {
    const p = join(dir, 'model.onnx');
    writeFileAtomic(p, 'old');
    // A chunk that fails when read, after the temporary file was opened and partly written (as a full disk would).
    const failing = { get length(): number { throw new Error('disk gone'); } } as unknown as Uint8Array;
    assert.throws(() => writeFileAtomic(p, [Buffer.from('ab'), failing]), /disk gone/);
    assert.deepEqual(readdirSync(dir), ['model.onnx']);
    assert.equal(readFileSync(p, 'utf8'), 'old');
  });
});

test('file-system errors: one line naming the file and the fix', () => {
  withDir((dir) => {
    writeFileSync(join(dir, 'file.txt'), 'x');
    refused(() => writeFileAtomic(join(dir, 'file.txt', 'out.onnx'), 'y'), /cannot (create the folder of|write) .*file\.txt\/out\.onnx: a part of the path is a file, not a folder; check the path \(ENOTDIR\)/);
    refused(() => writeFileAtomic('', 'y'), /empty path/);
  });
  const err = (code: string) => Object.assign(new Error(`${code}: raw message`), { code });
  assert.equal(fsErrorMessage(err('ENOSPC'), 'write', 'runs/x/model.onnx'), 'cannot write runs/x/model.onnx: no space left on the device; free some space or write somewhere else (ENOSPC)');
  assert.equal(fsErrorMessage(err('EROFS'), 'write', '/ro/a'), 'cannot write /ro/a: the file system is read-only; write somewhere else (EROFS)');
  assert.equal(fsErrorMessage(err('EEXIST'), 'create', 'runs/x'), 'cannot create runs/x: it already exists; remove it or choose another path (EEXIST)');
  assert.equal(fsErrorMessage(err('EISDIR'), 'read', 'runs'), 'cannot read runs: it is a folder; give a file path (EISDIR)');
  assert.equal(fsErrorMessage(new Error('odd\nsecond line'), 'read', 'f'), 'cannot read f: odd');
});
