/**
 * bench/runtime-accuracy: the integer plan against the fake-quant model it was compiled from, on the
 * whole Fashion-MNIST test set.
 *
 *   node --import tsx bench/runtime-accuracy.ts RUN/model.safetensors [...more checkpoints]
 *
 * Prints both accuracies (the fake-quant one is what `lowbit eval` reports: same normalization, same
 * channels-last batches), every image whose class differs with the fake-quant top-2 margin, and for
 * each quantization point how many codes differ over the first 1,000 images and how many of those
 * are rounding ties (y / s within 1e-4 of k + 1/2) of the point itself.
 */
import { DataLoader, loadDataset } from '../src/data/index.ts';
import { BasicBlock, ResNet } from '../src/models/index.ts';
import { QuantConv2d, QuantLinear, type Quantizer } from '../src/quant/index.ts';
import { argmaxRows, compileResNet, datasetPixels, type IntPlan } from '../src/runtime/index.ts';
import { noGrad, scope, type Tensor } from '../src/tensor/index.ts';
import { loadCheckpoint } from '../src/train/index.ts';

const BATCH = 500;

function compare(plan: IntPlan, name: string, q: Quantizer, x: Tensor, acc: Map<string, { n: number; bad: number; ties: number }>): void {
  scope(() => {
    const ref = q.export(x);
    const nhwc = (t: Tensor) => (t.shape.length === 4 ? t.permute(0, 2, 3, 1) : t).contiguous().toFloat32Array();
    const want = nhwc(ref.codes);
    const pre = nhwc(x.clamp(0, Infinity).div(ref.scale));
    const got = plan.read(name);
    const a = acc.get(name) ?? { n: 0, bad: 0, ties: 0 };
    for (let i = 0; i < want.length; i++) {
      if (got[i] === want[i]) continue;
      a.bad++;
      if (Math.abs(pre[i] - Math.floor(pre[i]) - 0.5) < 1e-4) a.ties++;
    }
    a.n += want.length;
    acc.set(name, a);
  });
}

for (const path of process.argv.slice(2)) {
  const { model } = loadCheckpoint(path);
  model.eval();
  const test = loadDataset('fashion-mnist', 'test');
  const plan = compileResNet(model, { mean: test.mean, std: test.std, inputSize: [28, 28] });
  const pixels = datasetPixels(test);
  const labels = scope(() => test.labels.toArray());
  const loader = new DataLoader(test, { batchSize: BATCH, shuffle: false, memoryFormat: 'channelsLast' });
  const points = new Map<string, { n: number; bad: number; ties: number }>();
  let first = 0;
  let okFake = 0;
  let okInt = 0;
  const differ: string[] = [];
  const r = model as ResNet;
  for (const batch of loader) {
    noGrad(() =>
      scope(() => {
        const n = batch.labels.shape[0];
        const logits = model.call(batch.images);
        const fake = logits.argmax(1).toArray();
        const ref = logits.toFloat32Array();
        const intPred = argmaxRows(plan.run(pixels.subarray(first * 784, (first + n) * 784), n, n), 10);
        for (let i = 0; i < n; i++) {
          if (fake[i] === labels[first + i]) okFake++;
          if (intPred[i] === labels[first + i]) okInt++;
          if (intPred[i] !== fake[i]) {
            const row = Array.from(ref.subarray(i * 10, i * 10 + 10)).sort((a, b) => b - a);
            differ.push(`image ${first + i}: label ${labels[first + i]}, fake-quant ${fake[i]}, integer ${intPred[i]}, fake-quant top-2 margin ${(row[0] - row[1]).toExponential(2)}`);
          }
        }
        if (first < 1000) {
          let X = r.stem.call(batch.images);
          r.layers.children().forEach((m, i) => {
            const b = m as BasicBlock;
            compare(plan, `layers.${i}.conv1.in`, (b.conv1 as QuantConv2d).inputQuantizer!, X, points);
            if (b.shortcut) compare(plan, `layers.${i}.shortcut.in`, (b.shortcut.at(0) as QuantConv2d).inputQuantizer!, X, points);
            compare(plan, `layers.${i}.conv2.in`, (b.conv2 as QuantConv2d).inputQuantizer!, b.bn1.call(b.conv1.call(X)).relu(), points);
            X = b.call(X);
          });
          compare(plan, 'fc.in', (r.fc as QuantLinear).inputQuantizer!, r.flatten.call(r.pool.call(X)), points);
        }
        first += n;
        batch.dispose();
      }),
    );
  }
  console.log(`${path}: fake-quant (lowbit eval) ${(100 * okFake / labels.length).toFixed(2)}%, integer plan (${plan.isa}) ${(100 * okInt / labels.length).toFixed(2)}%, ${differ.length} of ${labels.length} classes differ`);
  for (const d of differ) console.log(`  ${d}`);
  let n = 0;
  let bad = 0;
  for (const [name, a] of points) {
    n += a.n;
    bad += a.bad;
    if (a.bad) console.log(`  ${name}: ${a.bad} of ${a.n} codes differ, ${a.ties} of them at a rounding tie of this point`);
  }
  console.log(`  codes over the first 1,000 images: ${bad} of ${n} differ`);
}
