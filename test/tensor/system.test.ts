// Threads, build information and which BLAS the process really loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { blasInUse, buildInfo, getNumThreads, mallocSettings, ones, setNumThreads } from '../../src/tensor/index.ts';

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

test('mallocSettings: glibc tuned at load unless LOWBIT_MALLOC=default', (t) => {
  const s = mallocSettings();
  if (!s.tuned) {
    t.skip(`malloc not tuned here (not glibc, or LOWBIT_MALLOC=${process.env.LOWBIT_MALLOC})`);
    return;
  }
  assert.deepEqual(s, { tuned: true, mmapThresholdBytes: 32 * 2 ** 20, trimThresholdBytes: 2 ** 30, alignedMalloc: true });
  s.tuned = false;
  assert.equal(mallocSettings().tuned, true, 'callers get a copy');
});

// A training step whose activations all die when its scope ends: with glibc's adaptive thresholds the
// freed heap goes back to the kernel after every step and is faulted in again during the next one.
// Batch 256 makes each activation 16 MiB and the step free ~160 MiB at once, more than a trim threshold
// sized to one tensor (64 MiB, glibc's rule after a 32 MiB block) keeps.
const stepFaultsScript = `
import { F, mallocSettings, ones, randn, scope, zeros } from ${JSON.stringify(fileURLToPath(new URL('../../src/tensor/index.ts', import.meta.url)))};
const c = 16;
const x = randn([256, c, 32, 32]).contiguous('channelsLast').requiresGrad_(true);
const w = randn([c, c, 3, 3]).mul(0.1).contiguous('channelsLast').requiresGrad_(true);
const gamma = ones([c]).requiresGrad_(true), beta = zeros([c]).requiresGrad_(true);
const step = () => scope(() => {
  x.grad = null; w.grad = null;
  let y = F.conv2d(x, w, null, { padding: 1 });
  y = F.batchNorm(y, { weight: gamma, bias: beta, training: true }).relu();
  y = F.conv2d(y, w, null, { padding: 1 });
  y = F.batchNorm(y, { weight: gamma, bias: beta, training: true }).add(x).relu();
  y.sum().backward();
});
for (let i = 0; i < 3; i++) step();
const before = process.resourceUsage().minorPageFault;
for (let i = 0; i < 5; i++) step();
console.log(JSON.stringify({ tuned: mallocSettings().tuned, faultsPerStep: (process.resourceUsage().minorPageFault - before) / 5 }));
`;

function stepFaults(env: NodeJS.ProcessEnv): { tuned: boolean; faultsPerStep: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', stepFaultsScript], {
    encoding: 'utf8',
    env: { ...process.env, LOWBIT_THREADS: '1', ...env },
  });
  return JSON.parse(out.trim().split('\n').pop()!) as { tuned: boolean; faultsPerStep: number };
}

test('tuned malloc keeps a scoped training step from faulting its heap back in every step', (t) => {
  if (!mallocSettings().tuned) {
    t.skip('malloc not tuned here (not glibc, or LOWBIT_MALLOC=default)');
    return;
  }
  const tuned = stepFaults({ LOWBIT_MALLOC: '' });
  const untouched = stepFaults({ LOWBIT_MALLOC: 'default' });
  assert.equal(tuned.tuned, true);
  assert.equal(untouched.tuned, false);
  // Each step makes ~10 activations of 16 MiB (4,096 pages each).
  assert.ok(untouched.faultsPerStep > 4000, `glibc's defaults: ${untouched.faultsPerStep} faults per step (the case this guards against)`);
  t.diagnostic(`faults per step: tuned ${tuned.faultsPerStep}, glibc defaults ${untouched.faultsPerStep}`);
  assert.ok(tuned.faultsPerStep < untouched.faultsPerStep / 4, `tuned ${tuned.faultsPerStep} vs default ${untouched.faultsPerStep} faults per step`);
});
