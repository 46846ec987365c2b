import { UsageError } from '../../errors.ts';
import { ACT_QUANT_KINDS, TRAINABLE_WEIGHT_QUANT_KINDS, type ActQuantKind, type WeightQuantKind } from '../../quant/index.ts';
import { AUX_DEFAULTS, QAT_QUANT_DEFAULTS, QAT_TRAINING_DEFAULTS, runAuxQat, runQat, type AuxOptions, type QatQuantOptions } from '../../qat/index.ts';
import { readSafetensorsMetadata } from '../../nn/index.ts';
import { modelConfigOf } from '../../train/index.ts';
import { bitsOption, intOption, numberOption, type Command, type ParsedOptions } from '../command.ts';
import { dataSpecFrom, describeData, USER_DATA_OPTIONS } from '../data-setup.ts';
import { setErrorContext } from '../error-context.ts';
import { modelPathFrom, modelProvenance } from '../model-source.ts';
import { info, output } from '../output.ts';
import { openRunDir, resumeOptions } from '../run-dir-setup.ts';
import { checkResume, defaultRunDir, OPTIMIZER_OPTIONS, trainingOptionsFrom, trainingProgress } from './train.ts';

const Q = QAT_QUANT_DEFAULTS;

/** The quantization flags as the library's QatQuantOptions, checked with the flags' names. */
export function qatQuantOptionsFrom(o: ParsedOptions): QatQuantOptions {
  const weightQuantizer = o.wq as WeightQuantKind;
  const perChannel = Boolean(o['per-channel']);
  if (perChannel && weightQuantizer !== 'uniform' && weightQuantizer !== 'lsq') throw new UsageError(`--per-channel applies to --wq uniform or lsq, not ${weightQuantizer}`);
  return {
    wbits: bitsOption(o, 'wbits'),
    abits: bitsOption(o, 'abits', { allowFloat: true }),
    weightQuantizer,
    actQuantizer: o.aq as ActQuantKind,
    firstLastBits: bitsOption(o, 'first-last-bits'),
    perChannel,
    alphaInit: numberOption(o, 'alpha-init', Number.MIN_VALUE),
  };
}

/** --aux and its settings as the library's AuxOptions, or null without --aux. */
function auxOptionsFrom(o: ParsedOptions): AuxOptions | null {
  if (!o.aux) return null;
  const stages = intOption(o, 'aux-stages', 1);
  if (stages !== 1 && stages !== 2) throw new UsageError(`--aux-stages ${stages}: choose 1 (a fresh module at the fine-tune) or 2 (float network + module first)`);
  return { weight: numberOption(o, 'aux-weight', 0), stages, stage1Epochs: intOption(o, 'aux-stage1-epochs', 1) };
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
    'lowbit qat --checkpoint results/float/resnet20.safetensors --aux --out runs/qat-aux   # + full-precision auxiliary module',
    'lowbit qat --checkpoint results/float/resnet20.safetensors --aux --aux-stages 2 --aux-stage1-epochs 2 --out runs/qat-aux2',
  ],
  options: {
    checkpoint: { type: 'string', short: 'c', metavar: 'FILE', description: 'float checkpoint to start from (lowbit train writes RUN_DIR/model.safetensors)' },
    wbits: { type: 'string', default: String(Q.wbits), metavar: 'N', description: 'weight bits of the body (2..8)' },
    abits: { type: 'string', default: String(Q.abits), metavar: 'N', description: 'activation bits (2..8; 32 keeps activations float)' },
    wq: { type: 'string', default: Q.weightQuantizer, choices: TRAINABLE_WEIGHT_QUANT_KINDS, description: 'weight quantizer' },
    aq: { type: 'string', default: Q.actQuantizer, choices: ACT_QUANT_KINDS, description: 'activation quantizer' },
    'first-last-bits': { type: 'string', default: String(Q.firstLastBits), metavar: 'N', description: 'bits of the first and last layer (weights and the last layer input)' },
    'per-channel': { type: 'boolean', description: 'one weight scale per output channel (uniform, lsq)' },
    'alpha-init': { type: 'string', default: Q.alphaInit.toFixed(1), metavar: 'X', description: 'initial PACT clip level alpha' },
    aux: { type: 'boolean', description: 'train with a full-precision auxiliary module (Zhuang et al.), dropped from the saved model' },
    'aux-weight': { type: 'string', default: String(AUX_DEFAULTS.weight), metavar: 'X', description: "weight beta of the auxiliary head's loss" },
    'aux-stages': { type: 'string', default: String(AUX_DEFAULTS.stages), metavar: 'N', description: '1: a fresh module at the fine-tune; 2: float network + module trained first (the paper)' },
    'aux-stage1-epochs': { type: 'string', default: String(AUX_DEFAULTS.stage1Epochs), metavar: 'N', description: 'epochs of stage 1 (--aux-stages 2), in RUN_DIR/stage1' },
    ...USER_DATA_OPTIONS,
    ...OPTIMIZER_OPTIONS,
    epochs: { ...OPTIMIZER_OPTIONS.epochs, default: String(QAT_TRAINING_DEFAULTS.epochs) },
    lr: { ...OPTIMIZER_OPTIONS.lr, default: String(QAT_TRAINING_DEFAULTS.optimizer.lr) },
  },
  run(given) {
    if (typeof given.checkpoint !== 'string' || given.checkpoint === '') throw new UsageError('--checkpoint is required: the float model to fine-tune (e.g. runs/r20/model.safetensors)');
    const which = modelPathFrom(given, { onnx: false });
    const modelConfig = modelConfigOf(readSafetensorsMetadata(which.path), which.path);
    // Everything the flags say is checked before the run directory is made.
    qatQuantOptionsFrom(given);
    auxOptionsFrom(given);
    const dataset0 = dataSpecFrom(given, { recorded: modelProvenance(which), source: which.path, inputSize: modelConfig.inputSize });
    trainingOptionsFrom(given, dataset0);
    const runDir = openRunDir(given, defaultRunDir('qat', modelConfig.name), { resumable: true });
    const o = resumeOptions(given, runDir);
    const quant = qatQuantOptionsFrom(o);
    const aux = auxOptionsFrom(o);
    const dataset = dataSpecFrom(o, { recorded: modelProvenance(which), source: which.path, inputSize: modelConfig.inputSize });
    const resume = checkResume(o, runDir);
    setErrorContext({ model: `checkpoint ${which.path} (${modelConfig.name})`, data: describeData(dataset) });
    const r = (aux ? (a: Parameters<typeof runQat>[0]) => runAuxQat({ ...a, aux }) : runQat)({
      checkpoint: String(o.checkpoint),
      quant,
      options: trainingOptionsFrom(o, dataset),
      runDir: () => runDir,
      resume,
      config: { options: o },
      onModel: ({ modelConfig, quant: q, layers, macs }) => {
        const abits = q.act?.bits;
        info(`qat: ${modelConfig.name} W${q.weight.bits}A${abits === undefined ? 'float' : abits} (${q.weight.kind}/${q.act?.kind ?? '-'}), ${layers.filter((l) => l.weight).length} quantized layers, ${(macs / 1e6).toFixed(2)} M MACs per image`);
      },
      ...trainingProgress('qat'),
    });
    const { summary, wbits, abits } = r;
    const human = `${aux ? 'aux-trained ' : ''}W${wbits}A${abits} test accuracy ${(100 * Number(summary.testAccuracy)).toFixed(2)}% (best ${(100 * Number(summary.bestTestAccuracy)).toFixed(2)}%), weights in ${summary.checkpoint}`;
    output(o, { ...summary, wbits, abits, quant: r.quant }, human);
  },
};
