// Threads, build information and which BLAS the process really loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { blasInUse, buildInfo, getNumThreads, ones, setNumThreads } from '../../src/tensor/index.ts';

function debianPackageInstalled(name: string): boolean {
  try {
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return status.trim() === 'install ok installed';
  } catch {
    return false; // no dpkg (not Debian) or the package is unknown
  }
}

test('setNumThreads/getNumThreads round trip; the default follows LOWBIT_THREADS or the core count', () => {
  const before = getNumThreads();
  assert.ok(Number.isInteger(before) && before >= 1);
  try {
    setNumThreads(1);
    assert.equal(getNumThreads(), 1);
    setNumThreads(3);
    assert.equal(getNumThreads(), 3);
    // work still runs and gives the same result with any thread count
    assert.equal(ones([256, 256]).matmul(ones([256, 256])).sum().item(), 256 ** 3);
  } finally {
    setNumThreads(before);
  }
  assert.equal(getNumThreads(), before);
  assert.throws(() => setNumThreads(0), /setNumThreads: need at least 1 thread, got 0/);
  assert.throws(() => setNumThreads('2' as unknown as number), /expected an integer/);
  assert.equal(getNumThreads(), before, 'a refused call changes nothing');
});

test('buildInfo reports the libtorch version and configuration', () => {
  const info = buildInfo();
  assert.match(info.torchVersion, /^\d+\.\d+\.\d+/);
  assert.match(info.config, /PyTorch built with/);
  assert.match(info.parallel, /ATen\/Parallel/);
  assert.equal(typeof info.mkldnn, 'boolean');
});

test('blasInUse names OpenBLAS when libopenblas0-openmp is installed', (t) => {
  if (!debianPackageInstalled('libopenblas0-openmp')) {
    t.skip('libopenblas0-openmp is not installed (scripts/setup.sh installs it)');
    return;
  }
  ones([64, 64]).matmul(ones([64, 64])); // make sure BLAS has been touched
  const blas = blasInUse();
  assert.match(blas, /^OpenBLAS \(\/.*libopenblas.*\.so.*\)$/, `blasInUse() says: ${blas}`);
});

test('blasInUse always answers with a description, never throws', () => {
  const blas = blasInUse();
  assert.equal(typeof blas, 'string');
  assert.ok(blas.length > 0);
  assert.match(blas, /OpenBLAS|reference BLAS|none loaded|unknown|lib/);
});
