/**
 * bench/runtime-roofline: each conv of an integer plan against the machine's dot-product peak.
 *
 *   node --import tsx bench/runtime-roofline.ts PLAN.lbit [...] [--batch 64] [--runs 30]
 *
 * One thread. The peak is measured here, as the best 2 ms window of 12 independent chains of the ISA's dot-product
 * instruction (vpdpbusd for AVX-512 VNNI: 64 multiply-adds each), no memory traffic. Per conv: integer
 * multiply-adds per second in its fastest run (on a shared machine the fastest run is the one that
 * was not descheduled) and the share of the peak.
 */
import { parseArgs } from 'node:util';
import { loadIntModel } from '../src/runtime/load.ts';
import { peakMacsPerSecond, setRuntimeThreads } from '../src/runtime/native.ts';

const { values, positionals } = parseArgs({ options: { batch: { type: 'string', default: '64' }, runs: { type: 'string', default: '30' } }, allowPositionals: true });
const batch = Number(values.batch);
setRuntimeThreads(1);
for (const path of positionals) {
  const model = await loadIntModel(path);
  const isa = model.plan.isa;
  // The best of many 2 ms windows, like the convs' fastest runs (a long window on a shared machine
  // measures the scheduler too).
  const peak = Math.max(...Array.from({ length: 300 }, () => peakMacsPerSecond(isa, 0.002)));
  const pixels = new Uint8Array(batch * model.imageBytes).map((_, i) => (i * 131) & 255);
  model.plan.profile(true);
  const t0 = performance.now();
  const times: number[] = [];
  for (let r = 0; r < Number(values.runs); r++) {
    const t = performance.now();
    model.plan.run(pixels, batch, batch);
    times.push(performance.now() - t);
  }
  void t0;
  const prof = model.plan.profile();
  console.log(`\n${path}: ${isa}, 1 thread, batch ${batch}; peak ${(peak / 1e9).toFixed(0)} G multiply-adds/s`);
  console.log(`| step | M MACs/image | best ms/batch | G MACs/s | % of peak |`);
  console.log(`|---|---|---|---|---|`);
  let macs = 0;
  let seconds = 0;
  prof.forEach((p, i) => {
    const perBatch = (p.seconds / p.images) * batch;
    seconds += perBatch;
    macs += p.macsPerImage * batch;
    const rate = p.macsPerImage > 0 ? (p.macsPerImage * batch) / perBatch : 0;
    console.log(`| ${model.plan.steps[i].where} | ${(p.macsPerImage / 1e6).toFixed(3)} | ${(perBatch * 1e3).toFixed(3)} | ${(rate / 1e9).toFixed(1)} | ${((100 * rate) / peak).toFixed(1)} |`);
  });
  const best = Math.min(...times) / 1e3;
  console.log(`| all steps (sum of bests) | ${(macs / batch / 1e6).toFixed(2)} | ${(seconds * 1e3).toFixed(2)} | ${(macs / seconds / 1e9).toFixed(1)} | ${((100 * macs) / seconds / peak).toFixed(1)} |`);
  console.log(`fastest whole run: ${(best * 1e3).toFixed(2)} ms = ${(batch / best).toFixed(0)} images/s; steps outside the convs and the input copy: ${((best - seconds) * 1e3).toFixed(2)} ms`);
}
