import { loadDataset } from '../../data/index.ts';
import { classifyDataset, loadIntModel, runtimeInfo, savePlan, setRuntimeThreads, timeIntModel } from '../../runtime/index.ts';
import { intOption, stringOption, type Command } from '../command.ts';
import { DATA_OPTIONS, datasetName } from '../data-setup.ts';
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
    dataset: DATA_OPTIONS.dataset,
  },
  async run(o) {
    const path = stringOption(o, 'model');
    const batch = intOption(o, 'batch', 1);
    // The runtime's kernels have their own thread pool; --threads sizes it too.
    if (o.threads !== undefined) setRuntimeThreads(intOption(o, 'threads', 1));
    const model = await loadIntModel(path, { dataset: datasetName(o) });
    if (typeof o.save === 'string') {
      const bytes = savePlan(model.plan, { modelConfig: model.modelConfig }, o.save);
      info(`run: plan written to ${o.save} (${bytes} bytes, ${model.plan.packedWeightBytes()} of them packed weights)`);
    }
    const { threads } = runtimeInfo();
    const name = model.modelConfig.name;
    if (o.bench) {
      const t = timeIntModel(model, batch);
      output(o, { model: path, isa: model.plan.isa, threads, ...t }, `${name} (${model.plan.isa}, ${threads} threads): ${t.imagesPerSecond.toFixed(0)} images/s at batch ${batch} (median of ${t.repetitions})`);
      return;
    }
    const r = classifyDataset(model, loadDataset(datasetName(o), 'test'), batch);
    output(
      o,
      { model: path, isa: model.plan.isa, accuracy: r.accuracy, count: r.count, seconds: r.seconds },
      `${name} (${model.plan.isa}): test accuracy ${(100 * r.accuracy).toFixed(2)}% (${r.count} images, ${(r.count / r.seconds).toFixed(0)} images/s)`,
    );
  },
};
