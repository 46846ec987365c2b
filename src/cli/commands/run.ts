import { DATASET_NAMES, loadDataset, type DatasetName } from '../../data/index.ts';
import { UsageError } from '../../errors.ts';
import { classifyDataset, loadIntModel, runtimeInfo, savePlan, setRuntimeThreads, timeIntModel } from '../../runtime/index.ts';
import { intOption, stringOption, type Command } from '../command.ts';
import { USER_DATA_OPTIONS } from '../data-setup.ts';
import { info, output } from '../output.ts';

export const runCommand: Command = {
  name: 'run',
  summary: 'classify test images (or time the model) with the integer runtime',
  usage: 'lowbit run --model PATH [--batch N] [--bench] [--dataset NAME] [--save PLAN]',
  examples: [
    'lowbit run --model runs/w2a2/model.safetensors',
    'lowbit run --model runs/w2a2/model.safetensors --bench --batch 1',
    'lowbit export --checkpoint runs/w2a2/model.safetensors && lowbit run --model runs/w2a2/model.onnx',
    'LOWBIT_RUNTIME_ISA=portable lowbit run --model runs/w2a2/model.safetensors --bench',
    'lowbit run --model runs/w2a2/model.safetensors --save w2a2.lbit && lowbit run --model w2a2.lbit',
  ],
  options: {
    model: { type: 'string', short: 'm', metavar: 'PATH', description: 'a QAT checkpoint (model.safetensors written by lowbit qat), its QDQ ONNX from lowbit export (FILE.onnx), or a plan saved with --save' },
    save: { type: 'string', metavar: 'PLAN', description: 'also write the compiled plan (packed weights, loads without libtorch) to this file' },
    batch: { type: 'string', default: '64', metavar: 'N', description: 'images per run' },
    bench: { type: 'boolean', description: 'time the model (median images/s) instead of classifying the test set' },
    dataset: USER_DATA_OPTIONS.dataset,
  },
  async run(o) {
    const path = stringOption(o, 'model');
    const batch = intOption(o, 'batch', 1);
    // The runtime's kernels have their own thread pool; --threads sizes it too.
    if (o.threads !== undefined) setRuntimeThreads(intOption(o, 'threads', 1));
    const model = await loadIntModel(path, typeof o.dataset === 'string' ? { dataset: o.dataset as DatasetName } : {});
    if (typeof o.save === 'string') {
      const bytes = savePlan(model.plan, { modelConfig: model.modelConfig, data: model.data }, o.save);
      info(`run: plan written to ${o.save} (${bytes} bytes, ${model.plan.packedWeightBytes()} of them packed weights)`);
    }
    const { threads } = runtimeInfo();
    const name = model.modelConfig.name;
    if (o.bench) {
      const t = timeIntModel(model, batch);
      output(o, { model: path, isa: model.plan.isa, threads, ...t }, `${name} (${model.plan.isa}, ${threads} threads): ${t.imagesPerSecond.toFixed(0)} images/s at batch ${batch} (median of ${t.repetitions})`);
      return;
    }
    // The test set is the model's own (its normalization is folded into the plan).
    if (!(DATASET_NAMES as readonly string[]).includes(model.data.dataset)) {
      throw new UsageError(`${path} was trained on your own data '${model.data.dataset}'; lowbit run classifies the built-in data sets: use 'lowbit eval --checkpoint ... --data PATH', or --bench to time it`);
    }
    const r = classifyDataset(model, loadDataset(model.data.dataset as DatasetName, 'test'), batch);
    output(
      o,
      { model: path, isa: model.plan.isa, accuracy: r.accuracy, count: r.count, seconds: r.seconds },
      `${name} (${model.plan.isa}): test accuracy ${(100 * r.accuracy).toFixed(2)}% (${r.count} images, ${(r.count / r.seconds).toFixed(0)} images/s)`,
    );
  },
};
