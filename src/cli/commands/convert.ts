import { existsSync } from 'node:fs';
import { datasetMetadata, DATASET_CATALOG, DATASET_NAMES, type DatasetName } from '../../data/index.ts';
import { UsageError, LowbitError } from '../../errors.ts';
import { createModel, MODEL_NAMES, resNetBlocksPerStage, torchvisionResNetKey, type ModelConfig } from '../../models/index.ts';
import { loadSafetensors } from '../../nn/index.ts';
import type { Tensor } from '../../tensor/index.ts';
import { saveCheckpoint } from '../../train/index.ts';
import { stringOption, type Command } from '../command.ts';
import { output } from '../output.ts';

/**
 * A PyTorch state dict (safetensors) as a lowbit checkpoint of a zoo model, its keys renamed by
 * --key-map: then eval, ptq, qat and export take it like any other.
 */
export const convertCommand: Command = {
  name: 'convert',
  summary: "a PyTorch state dict (safetensors) as a lowbit checkpoint of a zoo model (torchvision's ResNet key names)",
  usage: 'lowbit convert --weights FILE --model NAME [--key-map torchvision|none] [--dataset NAME] [--input-size HxW] --out FILE',
  examples: [
    'lowbit convert --weights resnet18-cifar.safetensors --model resnet18 --key-map torchvision --dataset cifar10 --out runs/tv/model.safetensors',
  ],
  options: {
    weights: { type: 'string', metavar: 'FILE', description: 'safetensors state dict saved from PyTorch (safetensors.torch.save_file(model.state_dict(), ...))' },
    model: { type: 'string', short: 'm', choices: MODEL_NAMES, description: 'the zoo architecture the weights are for' },
    'key-map': { type: 'string', default: 'torchvision', choices: ['torchvision', 'none'], description: "rename PyTorch ResNet keys (conv1, layer1.0.conv1, downsample, fc) to the zoo's (stem.0, layers.0.conv1, shortcut, fc)" },
    widths: { type: 'string', metavar: 'LIST', description: 'comma-separated per-layer widths, when not the architecture\'s published ones' },
    dataset: { type: 'string', choices: DATASET_NAMES, description: 'the data set the weights were trained on (recorded in the checkpoint; sets the input size)' },
    'input-size': { type: 'string', metavar: 'HxW', description: 'input image size (default: the data set\'s, else 32x32)' },
    out: { type: 'string', short: 'o', metavar: 'FILE', description: 'the lowbit checkpoint to write' },
  },
  run(o) {
    const weights = stringOption(o, 'weights');
    const model = stringOption(o, 'model');
    const out = stringOption(o, 'out');
    if (!existsSync(weights)) throw new UsageError(`--weights ${weights} does not exist: check the path`);
    const dataset = o.dataset as DatasetName | undefined;
    const m = /^(\d+)(?:x(\d+))?$/.exec(String(o['input-size'] ?? ''));
    if (o['input-size'] !== undefined && !m) throw new UsageError(`--input-size ${String(o['input-size'])}: expected HxW (e.g. 32x32)`);
    const file = loadSafetensors(weights);
    try {
      const rename = o['key-map'] === 'torchvision' ? (k: string) => torchvisionResNetKey(k, resNetBlocksPerStage(model)) : (k: string) => k;
      const sd = new Map<string, Tensor>();
      for (const [k, t] of file.tensors) sd.set(rename(k), t);
      const first = sd.get('stem.0.weight') ?? [...sd.values()].find((t) => t.shape.length === 4 || t.shape.length === 2);
      const head = sd.get('fc.weight');
      if (first === undefined || head === undefined) throw new LowbitError(`${weights}: no first layer or 'fc.weight' after --key-map ${String(o['key-map'])}; is it a ${model} state dict?`);
      const size: [number, number] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : dataset === 'cifar10' || dataset === undefined ? [32, 32] : [28, 28];
      const config: ModelConfig = { name: model, inChannels: first.shape[1], numClasses: head.shape[0], inputSize: size, ...(typeof o.widths === 'string' ? { widths: o.widths.split(',').map(Number) } : {}) };
      const net = createModel(config);
      try {
        net.loadStateDict(sd);
      } catch (err) {
        const stem = sd.get('stem.0.weight');
        const hint = stem && stem.shape[2] === 7 ? " (a 7x7 conv1: torchvision's ImageNet stem; the zoo's ResNets have the small-image 3x3 stem without max pool, so this model cannot be loaded; import its ONNX export with --onnx instead)" : '';
        throw new LowbitError(`${weights} as ${model}: ${(err as Error).message}${hint}`, { cause: err });
      }
      const entry = dataset === undefined ? undefined : DATASET_CATALOG[dataset];
      saveCheckpoint(out, net, config, entry ? { metadata: datasetMetadata({ dataset: dataset!, mean: [...entry.mean], std: [...entry.std] }) } : {});
      output(o, { out, model: config }, `${out}: ${model} (${config.inChannels}x${size.join('x')} input, ${config.numClasses} classes) from ${weights}`);
    } finally {
      for (const t of file.tensors.values()) t.dispose();
    }
  },
};
