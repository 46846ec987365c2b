/**
 * Where one ResNet-20 training step's time goes (float, or issue 5's W2A2 with --quant w2a2) in lowbit: zero_grad, forward (with the loss),
 * backward, optimizer step, each averaged over the timed steps. A profiling aid next to
 * bench/train-throughput (which compares whole steps with PyTorch); run it under `node --trace-gc` to
 * see whether garbage collection lands inside the step.
 *
 *   node --import tsx bench/step-phases.ts [--batch 128] [--steps 40] [--warmup 5] [--quant none|w2a2]
 */
import { parseArgs } from 'node:util';
import { createModel } from '../src/models/index.ts';
import { SGD } from '../src/optim/index.ts';
import { quantizeModel } from '../src/quant/index.ts';
import { W2A2_SAWB_PACT } from './lib/train-case.ts';
import { F, Generator, getNumThreads, randint, randn, scope } from '../src/tensor/index.ts';

const { values: args } = parseArgs({ options: { batch: { type: 'string', default: '128' }, steps: { type: 'string', default: '40' }, warmup: { type: 'string', default: '5' }, quant: { type: 'string', default: 'none' } } });
const batch = Number(args.batch);
const steps = Number(args.steps);
const warmup = Number(args.warmup);

if (args.quant !== 'none' && args.quant !== 'w2a2') throw new Error(`--quant must be none or w2a2, got ${args.quant}`);
const model = createModel({ name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [28, 28] }, { generator: new Generator(0) });
if (args.quant === 'w2a2') quantizeModel(model, W2A2_SAWB_PACT);
model.toMemoryFormat_('channelsLast').train();
const optimizer = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
const x = randn([batch, 1, 28, 28]).contiguous('channelsLast');
const y = randint(0, 10, [batch]);
const ms = { zeroGrad: 0, forward: 0, backward: 0, step: 0 };
let faultsAtWarmupEnd = 0;
for (let i = 0; i < warmup + steps; i++) {
  if (i === warmup) faultsAtWarmupEnd = process.resourceUsage().minorPageFault;
  scope(() => {
    const t0 = performance.now();
    optimizer.zeroGrad();
    const t1 = performance.now();
    const loss = F.crossEntropy(model.call(x), y);
    loss.item();
    const t2 = performance.now();
    loss.backward();
    const t3 = performance.now();
    optimizer.step();
    const t4 = performance.now();
    if (i < warmup) return;
    ms.zeroGrad += t1 - t0;
    ms.forward += t2 - t1;
    ms.backward += t3 - t2;
    ms.step += t4 - t3;
  });
}
console.log(`ResNet-20 ${args.quant === 'w2a2' ? 'W2A2' : 'float'} 28x28x1 b${batch}, ${getNumThreads()} threads, mean of ${steps} steps after ${warmup} warm-up:`);
for (const [phase, total] of Object.entries(ms)) console.log(`  ${phase.padEnd(9)} ${(total / steps).toFixed(1)} ms`);
// Each first touch of a page the allocator got fresh from the kernel is a fault; on some virtual
// machines a fault costs several microseconds, so thousands per step show up in the times above.
const faultsPerStep = (process.resourceUsage().minorPageFault - faultsAtWarmupEnd) / steps;
console.log(`  minor page faults per step: ${faultsPerStep.toFixed(0)} (~${((faultsPerStep * 4096) / 2 ** 20).toFixed(1)} MiB of fresh pages)`);
