import { UsageError } from '../../errors.ts';
import { complexity } from '../../models/index.ts';
import type { Optimizer } from '../../optim/index.ts';
import {
  ACT_QUANT_KINDS,
  TRAINABLE_WEIGHT_QUANT_KINDS,
  nonQuantizerParameters,
  quantizeModel,
  quantizerParameters,
  type ActQuantKind,
  type QuantConfig,
  type WeightQuantKind,
} from '../../quant/index.ts';
import { manualSeed } from '../../tensor/index.ts';
import { loadCheckpoint, RunDir } from '../../train/index.ts';
import { intOption, numberOption, stringOption, type Command, type ParsedOptions } from '../command.ts';
import { DATA_OPTIONS } from '../data-setup.ts';
import { info, output } from '../output.ts';
import { defaultRunDir, makeOptimizer, OPTIMIZER_OPTIONS, runTraining } from './train.ts';

/** abits 32 means "activations stay in floating point". */
const FLOAT_BITS = 32;

function bitsOption(o: ParsedOptions, name: string, allowFloat: boolean): number {
  const bits = intOption(o, name, 1);
  if ((bits >= 2 && bits <= 8) || (allowFloat && bits === FLOAT_BITS)) return bits;
  throw new UsageError(`--${name} ${bits}: choose 2 to 8 bits${allowFloat ? ' (or 32 to leave activations in floating point)' : ''}`);
}

/** The quantization config from the command line: body at wbits/abits, first and last layer at --first-last-bits. */
export function qatQuantConfig(o: ParsedOptions): QuantConfig {
  const wbits = bitsOption(o, 'wbits', false);
  const abits = bitsOption(o, 'abits', true);
  const wq = stringOption(o, 'wq') as WeightQuantKind;
  const aq = stringOption(o, 'aq') as ActQuantKind;
  const firstLastBits = bitsOption(o, 'first-last-bits', false);
  const perChannel = Boolean(o['per-channel']);
  if (perChannel && wq !== 'uniform' && wq !== 'lsq') throw new UsageError(`--per-channel applies to --wq uniform or lsq, not ${wq}`);
  const alphaInit = numberOption(o, 'alpha-init', Number.MIN_VALUE);
  return {
    weight: { kind: wq, bits: wbits, ...(perChannel ? { perChannel } : {}) },
    act: abits === FLOAT_BITS ? null : { kind: aq, bits: abits, ...(aq === 'pact' ? { alphaInit } : {}) },
    firstLast: { bits: firstLastBits },
  };
}

/**
 * Parameter groups for fake-quant training. Weights, BN and PACT's alpha share the main group with its
 * weight decay (PACT's L2 penalty on alpha is weight decay on it, and the anchor recipe keeps alpha in
 * the SGD group); LSQ steps get no weight decay, as in the LSQ paper.
 */
export function qatOptimizer(o: ParsedOptions, model: Parameters<typeof quantizerParameters>[0]): Optimizer {
  const lsqSteps = quantizerParameters(model, 'lsq');
  const lsqSet = new Set(lsqSteps);
  const main = [...nonQuantizerParameters(model), ...quantizerParameters(model).filter((p) => !lsqSet.has(p))];
  const groups = [{ params: main }, ...(lsqSteps.length ? [{ params: lsqSteps, weightDecay: 0 }] : [])];
  return makeOptimizer(o, groups);
}

export const qatCommand: Command = {
  name: 'qat',
  summary: 'quantization-aware fine-tuning of a float checkpoint (fake-quant weights and activations)',
  usage: 'lowbit qat --checkpoint FLOAT.safetensors [--wbits 2] [--abits 2] [--wq sawb] [--aq pact] [--epochs 8] [--lr 0.01] [--out DIR] [--resume]',
  examples: [
    'lowbit qat --checkpoint results/float/resnet20.safetensors --wbits 2 --abits 2 --out runs/qat-w2a2',
    'lowbit qat --checkpoint runs/r20/model.safetensors --wbits 4 --abits 4 --wq lsq --aq lsq --epochs 4',
    'lowbit qat --checkpoint runs/r20/model.safetensors --wbits 3 --abits 32   # weights only',
    'lowbit qat --checkpoint runs/r20/model.safetensors --out runs/qat-w2a2 --resume   # after an interruption',
  ],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'FILE', description: 'float checkpoint to start from (lowbit train writes RUN_DIR/model.safetensors)' },
    wbits: { type: 'string', default: '2', metavar: 'N', description: 'weight bits of the body (2..8)' },
    abits: { type: 'string', default: '2', metavar: 'N', description: 'activation bits (2..8; 32 keeps activations float)' },
    wq: { type: 'string', default: 'sawb', choices: TRAINABLE_WEIGHT_QUANT_KINDS, description: 'weight quantizer' },
    aq: { type: 'string', default: 'pact', choices: ACT_QUANT_KINDS, description: 'activation quantizer' },
    'first-last-bits': { type: 'string', default: '8', metavar: 'N', description: 'bits of the first and last layer (weights and the last layer input)' },
    'per-channel': { type: 'boolean', description: 'one weight scale per output channel (uniform, lsq)' },
    'alpha-init': { type: 'string', default: '1.0', metavar: 'X', description: 'initial PACT clip level alpha' },
    ...DATA_OPTIONS,
    ...OPTIMIZER_OPTIONS,
    epochs: { ...OPTIMIZER_OPTIONS.epochs, default: '8' },
    lr: { ...OPTIMIZER_OPTIONS.lr, default: '0.01' },
  },
  run(o) {
    if (typeof o.checkpoint !== 'string') throw new UsageError('--checkpoint is required: the float model to fine-tune (e.g. runs/r20/model.safetensors)');
    const seed = intOption(o, 'seed', 0);
    manualSeed(seed);
    const quant = qatQuantConfig(o);
    const { model, modelConfig } = loadCheckpoint(o.checkpoint);
    if (modelConfig.quant !== undefined) {
      throw new UsageError(`${o.checkpoint} is already a quantized checkpoint; start QAT from a float one (or continue this run with --out its run directory and --resume)`);
    }
    const plan = quantizeModel(model, quant);
    const qatConfig = { ...modelConfig, quant };
    const out = typeof o.out === 'string' ? o.out : defaultRunDir('qat', modelConfig.name);
    const runDir = new RunDir(out);
    const c = complexity(model, [modelConfig.inChannels, ...modelConfig.inputSize]);
    const wbits = quant.weight.bits;
    const abits = quant.act?.bits ?? FLOAT_BITS;
    info(`qat: ${modelConfig.name} W${wbits}A${abits === FLOAT_BITS ? 'float' : abits} (${quant.weight.kind}/${quant.act?.kind ?? '-'}), ${plan.filter((l) => l.weight).length} quantized layers, ${(c.macs / 1e6).toFixed(2)} M MACs per image`);
    const summary = runTraining({
      o,
      command: 'qat',
      model,
      modelConfig: qatConfig as unknown as Record<string, unknown>,
      optimizer: qatOptimizer(o, model),
      runDir,
      config: { command: 'qat', model: modelConfig, quant, layers: plan, from: o.checkpoint, options: o, wbits, abits },
    });
    output(o, { ...summary, wbits, abits, quant }, `W${wbits}A${abits} test accuracy ${(100 * Number(summary.testAccuracy)).toFixed(2)}% (best ${(100 * Number(summary.bestTestAccuracy)).toFixed(2)}%), weights in ${summary.checkpoint}`);
  },
};
