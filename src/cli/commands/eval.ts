import { checkDatasetFits, DataLoader, loadData } from '../../data/index.ts';
import { evaluate } from '../../train/index.ts';
import { intOption, type Command } from '../command.ts';
import { dataSpecFrom, describeData, USER_DATA_OPTIONS } from '../data-setup.ts';
import { setErrorContext } from '../error-context.ts';
import { loadModelSource, modelPathFrom, modelProvenance } from '../model-source.ts';
import { output } from '../output.ts';

const { 'train-subset': _subset, seed: _seed, ...EVAL_DATA_OPTIONS } = USER_DATA_OPTIONS;

export const evalCommand: Command = {
  name: 'eval',
  summary: 'test-set accuracy of a checkpoint or an ONNX model',
  usage: 'lowbit eval (--checkpoint PATH | --onnx FILE) [--dataset NAME | --data PATH [--mean LIST --std LIST]] [--batch-size N]',
  examples: [
    'lowbit eval --checkpoint runs/r20/model.safetensors',
    'lowbit eval --checkpoint runs/r20/model.safetensors --json',
    'lowbit eval --onnx runs/ptq-onnx/model.onnx --dataset mnist',
    'lowbit eval --checkpoint runs/lenet/model.safetensors --data my-digits/   # a folder of class sub-folders',
  ],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'PATH', description: 'a model.safetensors written by lowbit' },
    onnx: { type: 'string', metavar: 'FILE', description: 'an ONNX model (NCHW float input) instead of --checkpoint' },
    ...EVAL_DATA_OPTIONS,
    'batch-size': { ...USER_DATA_OPTIONS['batch-size'], default: '500' },
  },
  run(o) {
    const which = modelPathFrom(o, { onnx: true });
    // The data is settled before the weights are loaded: a contradicting --dataset fails at once.
    const recorded = modelProvenance(which);
    const batchSize = intOption(o, 'batch-size', 1);
    const source = loadModelSource(which);
    const spec = dataSpecFrom(o, { recorded, source: which.path, ...(source.inputSize ? { inputSize: source.inputSize } : {}) });
    const testSet = loadData(spec, 'test');
    setErrorContext({ model: source.input.source, data: describeData(spec) });
    checkDatasetFits(testSet, source.input);
    const test = new DataLoader(testSet, { batchSize, shuffle: false, memoryFormat: 'channelsLast' });
    const r = evaluate(source.model, test);
    const name = String(source.modelConfig.name);
    output(o, { [which.kind]: which.path, model: name, dataset: testSet.name, ...r }, `${name}: test accuracy ${(100 * r.accuracy).toFixed(2)}% on ${testSet.name} (loss ${r.loss.toFixed(4)}, ${r.count} images)`);
  },
};
