import { DataLoader, loadDataset, RandomCrop, RandomHorizontalFlip } from './src/data/index.ts';
import { createModel } from './src/models/index.ts';
import { SGD } from './src/optim/index.ts';
import { F, scope } from './src/tensor/index.ts';
const ds = loadDataset('fashion-mnist', 'train');
const model = createModel({ name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [28, 28] });
const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
const loader = new DataLoader(ds, { batchSize: 128, seed: 0, transform: [new RandomCrop(2), new RandomHorizontalFlip()], memoryFormat: 'channelsLast' });
let tData = 0, tFwd = 0, tBwd = 0, tOpt = 0, n = 0;
let t = performance.now();
for (const b of loader) {
  const t1 = performance.now(); tData += t1 - t;
  scope(() => {
    const logits = model.call(b.images);
    const loss = F.crossEntropy(logits, b.labels);
    loss.item();
    const t2 = performance.now(); tFwd += t2 - t1;
    opt.zeroGrad(); loss.backward();
    const t3 = performance.now(); tBwd += t3 - t2;
    opt.step();
    tOpt += performance.now() - t3;
  });
  b.dispose(); n++;
  t = performance.now();
  if (n === 30) break;
}
console.log(`per step ms: data ${(tData/n).toFixed(1)} fwd ${(tFwd/n).toFixed(1)} bwd ${(tBwd/n).toFixed(1)} opt ${(tOpt/n).toFixed(1)}; img/s ${(128*n*1000/(tData+tFwd+tBwd+tOpt)).toFixed(0)}`);
