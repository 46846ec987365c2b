/**
 * Per-call cost of the fused fake-quantizers and of a quantized model's evaluation forward: the probes
 * behind the SAWB/PACT fusion and the scoped Module.call (issue 5's closing note). Prints ms/us per call.
 *
 *   node --import tsx bench/fake-quant.ts [--reps 200]
 */
import { parseArgs } from 'node:util';
import { loadCheckpoint } from '../src/train/index.ts';
import { calibrateActivations, PactQuantizer, quantizeModel, SawbQuantizer, type QuantConfig } from '../src/quant/index.ts';
import { getNumThreads, noGrad, randn, scope, type Tensor } from '../src/tensor/index.ts';

const { values: args } = parseArgs({ options: { reps: { type: 'string', default: '200' } } });
const reps = Number(args.reps);

/** Mean microseconds per call of f after a warm-up, and the page faults per call. */
function time(f: () => void, n: number): { us: number; faults: number } {
  for (let i = 0; i < Math.min(20, n); i++) f();
  const faults = process.resourceUsage().minorPageFault;
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  return { us: ((performance.now() - t) / n) * 1000, faults: (process.resourceUsage().minorPageFault - faults) / n };
}
const row = (label: string, r: { us: number; faults: number }) =>
  console.log(`  ${label.padEnd(44)} ${r.us >= 1000 ? `${(r.us / 1000).toFixed(1)} ms` : `${r.us.toFixed(1)} us`}  (${r.faults.toFixed(0)} faults)`);

console.log(`bench/fake-quant: ${getNumThreads()} threads`);
const sawb = new SawbQuantizer({ bits: 2 });
for (const shape of [[16, 16, 3, 3], [64, 64, 3, 3]]) {
  const w = randn(shape).mul(0.05).contiguous('channelsLast').requiresGrad_(true);
  row(`SAWB 2-bit forward ${shape.join('x')} (fused)`, time(() => scope(() => void sawb.call(w)), reps));
  row(`SAWB 2-bit forward ${shape.join('x')} (op by op)`, time(() => scope(() => void sawb.forwardByOps(w)), reps));
}
const pact = new PactQuantizer({ bits: 2 });
const x = randn([128, 16, 28, 28]).contiguous('channelsLast').requiresGrad_(true);
row('PACT 2-bit forward 128x16x28x28 (fused)', time(() => scope(() => void pact.call(x)), reps));
row('PACT 2-bit forward 128x16x28x28 (op by op)', time(() => scope(() => void pact.forwardByOps(x)), Math.ceil(reps / 4)));

// A W8A8 ResNet-20 (uniform MSE activation ranges) in eval mode at batch 500, as `lowbit ptq --abits 8`
// evaluates it, against the float model.
const images = randn([500, 1, 28, 28]).contiguous('channelsLast');
const forward = (model: { call(t: Tensor): Tensor }) => () => scope(() => noGrad(() => void model.call(images)));
const float = loadCheckpoint(new URL('../results/float/resnet20.safetensors', import.meta.url).pathname).model.eval();
row('ResNet-20 float eval forward, batch 500', time(forward(float), 5));
const w8a8: QuantConfig = { weight: { kind: 'uniform', bits: 8 }, act: { kind: 'uniform', bits: 8, range: 'mse' }, firstLast: { bits: 8 } };
const quantized = loadCheckpoint(new URL('../results/float/resnet20.safetensors', import.meta.url).pathname).model;
quantizeModel(quantized, w8a8);
calibrateActivations(quantized, [images]);
row('ResNet-20 W8A8 eval forward, batch 500', time(forward(quantized.eval()), 5));
