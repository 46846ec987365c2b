/**
 * The lowbit side of the training-throughput benchmarks, run as a child process (one case per process):
 *
 *   node --import tsx bench/lib/lowbit-train-child.ts '<TrainCase as JSON>'
 *
 * Builds ResNet-20 (channels-last parameters), optionally converts it with quantizeModel, and trains it
 * with SGD the way src/train/trainer.ts does a step: forward, cross-entropy, loss.item(), zeroGrad,
 * backward, step, all inside one scope. ATen threads come from LOWBIT_THREADS. Then it answers the
 * parent over stdin/stdout (bench/lib/step-protocol.ts).
 */
import { DataLoader, loadDataset, RandomCrop, RandomHorizontalFlip, type Batch } from '../../src/data/index.ts';
import { createModel } from '../../src/models/index.ts';
import { SGD } from '../../src/optim/index.ts';
import { quantizeModel } from '../../src/quant/index.ts';
import { attachAuxiliaryModule } from '../../src/qat/index.ts';
import { F, Generator, keep, manualSeed, randint, randn, scope, type Tensor } from '../../src/tensor/index.ts';
import type { Module } from '../../src/nn/index.ts';
import { lowbitInfo } from './machine.ts';
import { serveSteps } from './step-protocol.ts';
import type { TrainCase } from './train-case.ts';

/** Where each step's batch comes from; the step disposes what `next` hands out. */
interface BatchSource {
  next(): { images: Tensor; labels: Tensor; dispose(): void };
  describe: string;
}

/** One random batch, made once and kept: the data costs nothing, so the step is model + optimizer alone. */
function syntheticSource(c: TrainCase): BatchSource {
  const images = keep(scope(() => randn([c.batch, c.inChannels, c.inputSize, c.inputSize]).contiguous('channelsLast')));
  const labels = keep(randint(0, c.numClasses, [c.batch]));
  return { next: () => ({ images, labels, dispose: () => {} }), describe: 'synthetic: one random batch in memory, reused every step' };
}

/**
 * Fashion-MNIST's training set through lowbit's DataLoader, as `lowbit train` feeds it
 * (src/train/loaders.ts trainingLoaders): shuffled, RandomCrop(pad 2) + horizontal flip, channels-last.
 * Epochs roll over, so a long run keeps going.
 */
function fashionMnistSource(c: TrainCase): BatchSource {
  const trainSet = loadDataset('fashion-mnist', 'train');
  const loader = new DataLoader(trainSet, {
    batchSize: c.batch,
    shuffle: true,
    seed: c.seed,
    transform: [new RandomCrop(2), new RandomHorizontalFlip()],
    memoryFormat: 'channelsLast',
  });
  let it: Iterator<Batch> = loader[Symbol.iterator]();
  return {
    next() {
      let r = it.next();
      if (r.done) {
        it = loader[Symbol.iterator]();
        r = it.next();
      }
      return r.value as Batch;
    },
    describe: `fashion-mnist train (${trainSet.length} images) through DataLoader: shuffle, RandomCrop(2) + RandomHorizontalFlip, channels-last`,
  };
}

function buildModel(c: TrainCase): Module {
  const model = createModel({ name: 'resnet20', inChannels: c.inChannels, numClasses: c.numClasses, inputSize: [c.inputSize, c.inputSize] });
  if (c.quant !== null) quantizeModel(model, c.quant);
  return model.toMemoryFormat_('channelsLast').train();
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2] ?? '') as TrainCase;
  manualSeed(c.seed);
  const model = buildModel(c);
  const aux = c.aux ? attachAuxiliaryModule(model, { numClasses: c.numClasses, generator: new Generator(c.seed + 1) }) : null;
  aux?.module.toMemoryFormat_('channelsLast').train();
  const optimizer = new SGD([...model.parameters(), ...(aux?.module.parameters() ?? [])], c.optimizer);
  const source = c.data === 'synthetic' ? syntheticSource(c) : fashionMnistSource(c);
  // The aux step is src/qat's auxTrainStep without its metrics: CE(LP) + CE(aux), one backward, one step.
  const lossOf = (images: Tensor, labels: Tensor): Tensor => {
    if (aux === null) return F.crossEntropy(model.call(images), labels);
    const { logits, auxLogits } = aux.forward(images);
    return F.crossEntropy(logits, labels).add(F.crossEntropy(auxLogits, labels));
  };

  const step = (): number => {
    const batch = source.next();
    return scope(() => {
      const loss = lossOf(batch.images, batch.labels);
      loss.item(); // the training loop reads the loss every step (and so waits for it)
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      const n = batch.labels.shape[0];
      batch.dispose();
      return n;
    });
  };
  await serveSteps(step, {
    side: 'lowbit',
    ...lowbitInfo(),
    node: process.version,
    parameterTensors: model.parameters().length + (aux?.module.parameters().length ?? 0),
    parameterScalars: model.numParameters() + (aux?.module.numParameters() ?? 0),
    data: source.describe,
  });
}

main().catch((err: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) })}\n`);
  process.exitCode = 1;
});
