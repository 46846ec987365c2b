// Native memory stays flat: a long synchronous run of small training steps inside scope() does not grow
// RSS, and tensors made outside any scope are reclaimed by their finalizers when the garbage collector runs.
// Run with --expose-gc (npm test does); without it these tests skip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { native } from '../../src/tensor/native.ts';
import { F, Tensor, fromArray, getNumThreads, keep, manualSeed, noGrad, randint, randn, scope, setNumThreads, zeros } from '../../src/tensor/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 2 ** 20;

/** Collects garbage and lets Node run the native finalizers, which it queues for the event loop. */
async function settle(): Promise<void> {
  for (let k = 0; k < 3; k++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('20,000 training steps inside scope() keep RSS flat after warm-up', { skip: gc === undefined && 'needs node --expose-gc' }, async (t) => {
  // One thread: these ops are tiny, and OpenMP's hand-off would dominate on a busy 2-core machine.
  const threads = getNumThreads();
  setNumThreads(1);
  try {
    manualSeed(0);
    // A fixed, learnable toy problem: the class is the quadrant holding the brightest pixel.
    const samples = 64;
    const images = keep(randn([samples, 1, 8, 8]));
    const labels = keep(
      scope(() => {
        const flatArg = images.reshape(samples, 64).argmax(1);
        const row = flatArg.div(8).floor().ge(4).long();
        const col = flatArg.remainder(8).ge(4).long();
        return row.mul(2).add(col);
      }),
    );
    const params = {
      convW: keep(randn([4, 1, 3, 3]).mul(0.3).requiresGrad_()),
      convB: keep(zeros([4], { requiresGrad: true })),
      fcW: keep(randn([4, 36]).mul(0.1).requiresGrad_()),
      fcB: keep(zeros([4], { requiresGrad: true })),
    };
    const list: Tensor[] = Object.values(params);
    const lr = 0.05;
    const step = (): number =>
      scope(() => {
        const idx = randint(0, samples, [16]);
        const x = images.indexSelect(0, idx);
        const y = labels.indexSelect(0, idx);
        const h = F.maxPool2d(F.relu(F.conv2d(x, params.convW, params.convB)), 2).flatten(1);
        const loss = F.crossEntropy(F.linear(h, params.fcW, params.fcB), y, { labelSmoothing: 0.05 });
        loss.backward();
        noGrad(() => {
          for (const p of list) {
            const g = p.grad!;
            p.add_(g, -lr);
            g.zero_();
          }
        });
        return loss.item();
      });
    const fullLoss = () =>
      noGrad(() =>
        scope(() => {
          const h = F.maxPool2d(F.relu(F.conv2d(images, params.convW, params.convB)), 2).flatten(1);
          return F.crossEntropy(F.linear(h, params.fcW, params.fcB), labels).item();
        }),
      );

    const initialLoss = fullLoss();
    const started = performance.now();
    const warmup = 2_000;
    const total = 20_000;
    for (let i = 0; i < warmup; i++) step();
    await settle();
    const rssAfterWarmup = process.memoryUsage().rss;
    for (let i = warmup; i < total; i++) step();
    await settle();
    const rssAfterRun = process.memoryUsage().rss;
    const seconds = (performance.now() - started) / 1000;
    const growth = (rssAfterRun - rssAfterWarmup) / rssAfterWarmup;
    const finalLoss = fullLoss();
    t.diagnostic(
      `${total} steps in ${seconds.toFixed(1)} s (${((seconds / total) * 1e6).toFixed(0)} us/step); ` +
        `RSS ${(rssAfterWarmup / MB).toFixed(1)} -> ${(rssAfterRun / MB).toFixed(1)} MiB (${(growth * 100).toFixed(2)}%); ` +
        `loss ${initialLoss.toFixed(3)} -> ${finalLoss.toFixed(3)}`,
    );
    assert.ok(growth < 0.05, `RSS grew ${(growth * 100).toFixed(2)}% over ${total - warmup} steps`);
    assert.ok(finalLoss < initialLoss * 0.7, `the steps really trained: loss ${initialLoss} -> ${finalLoss}`);
    for (const p of [...list, images, labels]) p.dispose();
  } finally {
    setNumThreads(threads);
  }
});

test('tensors created outside any scope are freed by their finalizers after gc()', { skip: gc === undefined && 'needs node --expose-gc' }, async (t) => {
  await settle();
  const before = process.memoryUsage().rss;
  const count = 2_000;
  const elements = 64 * 1024; // 256 KiB each: 500 MiB in all if nothing were freed
  let peak = before;
  // A synchronous loop on purpose: the addon's finalizers run inside GC, not on a later turn of the
  // event loop, so memory is reclaimed without ever yielding (deferred finalizers held all 500 MiB here).
  for (let i = 0; i < count; i++) {
    // no scope, no dispose: only the finalizer can free this
    fromArray(new Float32Array(elements).fill(i), [elements]);
    if (i % 100 === 99) {
      gc!();
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  await settle();
  const after = process.memoryUsage().rss;
  t.diagnostic(`${count} x 256 KiB unscoped tensors: RSS ${(before / MB).toFixed(1)} -> peak ${(peak / MB).toFixed(1)} -> ${(after / MB).toFixed(1)} MiB`);
  assert.ok(peak - before < 128 * MB, `RSS rose ${((peak - before) / MB).toFixed(1)} MiB for ${((count * elements * 4) / MB).toFixed(0)} MiB allocated`);
});

test('V8 hears of the bytes of tensors the GC may free, not of scoped temporaries', () => {
  const MiB = 1024 * 1024;
  // process.memoryUsage().external does not include what addons report; V8's own count does.
  const external = (): number => native.externalMemory();
  const eightMiB = () => zeros([2 * MiB]); // float32: 8 MiB
  let before = external();
  const outside = eightMiB();
  assert.ok(external() - before >= 8 * MiB - 1024, 'a tensor made outside any scope is reported');
  before = external();
  outside.dispose();
  assert.ok(before - external() >= 8 * MiB - 1024, 'disposing it takes its bytes back');

  before = external();
  let peak = 0;
  scope(() => {
    for (let i = 0; i < 4; i++) eightMiB();
    peak = external() - before;
  });
  assert.ok(peak < MiB, `scoped temporaries are not reported (external grew ${peak} bytes)`);

  before = external();
  const escaped = scope(() => eightMiB());
  assert.ok(external() - before >= 8 * MiB - 1024, 'a tensor returned from the outermost scope is reported');
  before = external();
  const kept = scope(() => keep(eightMiB()));
  assert.ok(external() - before >= 8 * MiB - 1024, 'a kept tensor is reported');
  before = external();
  const inner = scope(() => scope(() => eightMiB()));
  assert.ok(external() - before >= 8 * MiB - 1024, 'reported once it leaves the outermost of nested scopes');
  for (const t of [escaped, kept, inner]) t.dispose();
});

interface AllocatorStats {
  installed: boolean;
  liveBlocks: number;
  liveBytes: number;
  totalAllocations: number;
  cachedBlocks: number;
  cachedBytes: number;
}

test("lowbit's CPU allocator keeps freed blocks of 32 MiB and up for the next request of their size", () => {
  const stats = () => native.cpuAllocatorStats() as AllocatorStats;
  if (!stats().installed) return;
  native.releaseCachedBlocks();
  assert.equal(stats().cachedBytes, 0, 'releaseCachedBlocks empties the cache');
  const big = (): Tensor => zeros([10 * 2 ** 20]); // 40 MiB: glibc would mmap it afresh every time
  scope(() => {
    big();
  });
  const afterFirst = stats();
  assert.equal(afterFirst.cachedBlocks, 1, 'the freed 40 MiB block is cached');
  assert.ok(afterFirst.cachedBytes >= 40 * MB && afterFirst.cachedBytes < 44 * MB, `cached ${afterFirst.cachedBytes} bytes`);
  const faults = process.resourceUsage().minorPageFault;
  scope(() => {
    const t = big();
    assert.equal(stats().cachedBlocks, 0, 'the next 40 MiB request takes the cached block');
    t.fill_(1); // touches every page: a reused block faults none of them in
  });
  const fresh = process.resourceUsage().minorPageFault - faults;
  assert.ok(fresh < 2000, `${fresh} page faults writing 40 MiB (10,240 pages) into a reused block`);
  assert.equal(stats().cachedBlocks, 1);
  native.releaseCachedBlocks();
  assert.equal(stats().cachedBlocks, 0);
});

test("lowbit's CPU allocator: scope() returns a step's blocks at once, and live blocks stay flat", () => {
  const stats = () => native.cpuAllocatorStats() as AllocatorStats;
  if (!stats().installed) return; // LOWBIT_MALLOC=default: c10's allocator, nothing of ours to count
  const x = keep(randn([64, 1024]));
  const before = stats();
  scope(() => {
    for (let i = 0; i < 10; i++) x.relu().mul(2);
    assert.ok(stats().liveBytes - before.liveBytes >= 20 * 64 * 1024 * 4, 'twenty 256 KiB results are live inside the scope');
  });
  const after = stats();
  assert.equal(after.liveBlocks, before.liveBlocks, 'every block the scope made is freed when it ends');
  assert.equal(after.liveBytes, before.liveBytes);
  assert.ok(after.totalAllocations - before.totalAllocations >= 20, 'the allocations went through lowbit');
  x.dispose();
  assert.equal(stats().liveBytes, before.liveBytes - 64 * 1024 * 4, 'disposing a tensor frees its block');
});

// The case the allocator exists for (native/src/cpu-allocator.cc): a scoped loop over a 6 MiB result
// while the heap also holds garbage that only the GC frees. With c10's posix_memalign a freed block
// never fitted the next same-size request, so every iteration took 6 MiB of fresh pages (~1,500
// faults, 18 ms instead of 0.2 ms on this machine). Run in a child for a fresh heap.
const scopedLoopScript = `
import { randn, scope, mallocSettings } from ${JSON.stringify(new URL('../../src/tensor/index.ts', import.meta.url).pathname)};
const shape = [128, 16, 28, 28];
const x = randn(shape).contiguous('channelsLast');
randn(shape).contiguous('channelsLast').requiresGrad_(true); // unscoped garbage, freed by the GC only
for (let i = 0; i < 20; i++) scope(() => { x.relu(); });
const before = process.resourceUsage().minorPageFault;
for (let i = 0; i < 100; i++) scope(() => { x.relu(); });
console.log(JSON.stringify({ alignedMalloc: mallocSettings().alignedMalloc, faultsPerIteration: (process.resourceUsage().minorPageFault - before) / 100 }));
`;

test('a scoped loop reuses its freed blocks instead of faulting in fresh pages every iteration', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', scopedLoopScript], {
    encoding: 'utf8',
    env: { ...process.env, LOWBIT_THREADS: '1' },
  });
  const r = JSON.parse(out.trim().split('\n').pop()!) as { alignedMalloc: boolean; faultsPerIteration: number };
  if (!r.alignedMalloc) {
    t.skip('LOWBIT_MALLOC=default: c10 allocator');
    return;
  }
  t.diagnostic(`${r.faultsPerIteration} page faults per iteration (one result is 1,568 pages)`);
  assert.ok(r.faultsPerIteration < 150, `${r.faultsPerIteration} page faults per iteration: freed 6 MiB blocks are not being reused`);
});
