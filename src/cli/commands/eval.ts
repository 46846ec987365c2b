import { DataLoader, loadDataset } from '../../data/index.ts';
import { evaluate, loadCheckpoint } from '../../train/index.ts';
import { intOption, stringOption, type Command } from '../command.ts';
import { DATA_OPTIONS, datasetName } from '../data-setup.ts';
import { output } from '../output.ts';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'test-set accuracy of a checkpoint',
  usage: 'lowbit eval --checkpoint PATH [--dataset NAME] [--batch-size N]',
  examples: ['lowbit eval --checkpoint runs/r20/model.safetensors', 'lowbit eval --checkpoint runs/r20/model.safetensors --json'],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'PATH', description: 'a model.safetensors written by lowbit' },
    dataset: DATA_OPTIONS.dataset,
    'batch-size': { ...DATA_OPTIONS['batch-size'], default: '500' },
  },
  run(o) {
    const path = stringOption(o, 'checkpoint');
    const { model, modelConfig } = loadCheckpoint(path);
    const test = new DataLoader(loadDataset(datasetName(o), 'test'), { batchSize: intOption(o, 'batch-size', 1), shuffle: false, memoryFormat: 'channelsLast' });
    const r = evaluate(model, test);
    output(o, { checkpoint: path, model: modelConfig.name, ...r }, `${modelConfig.name}: test accuracy ${(100 * r.accuracy).toFixed(2)}% (loss ${r.loss.toFixed(4)}, ${r.count} images)`);
  },
};
