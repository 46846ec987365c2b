/**
 * Bad inputs real users hit (issue 20), one row each: what is given, and the one line lowbit must
 * answer with (and the exit code, where the row runs the `lowbit` command). To add a case, add a row:
 * `library` rows call a library function and expect a LowbitError; `cli` rows run bin/lowbit.js;
 * `behaviour` rows check a result that used to be silently wrong.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkDatasetFits, checkDatasetMatches, datasetMetadata, encodeNpy, loadData, loadUserData, parseNpy } from '../../src/data/index.ts';
import { importOnnx } from '../../src/export/index.ts';
import { attribute, DataType, encodeModel, floatTensor, graph, int64Tensor, model, node, valueInfo, type NodeProto, type TensorProto } from '../../src/export/onnx/proto.ts';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { saveSafetensors } from '../../src/nn/index.ts';
import { quantizeModel, type QuantConfig } from '../../src/quant/index.ts';
import { fromArray, manualSeed, noGrad } from '../../src/tensor/index.ts';
import { loadCheckpoint, RunDir, saveCheckpoint } from '../../src/train/index.ts';
import { writeFileAtomic } from '../../src/util/atomic-write.ts';
import { idxBytes, writeIdxSplit } from '../data/fixtures.ts';

export type BadInput =
  | { kind: 'library'; id: string; issue: string; run: (dir: string) => unknown; message: RegExp }
  | { kind: 'cli'; id: string; issue: string; args: (dir: string) => string[]; exitCode: number; message: RegExp; after?: (dir: string) => string | null; env?: Record<string, string> }
  | { kind: 'behaviour'; id: string; issue: string; check: (dir: string) => string | null };

const MLP: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [8] };

/** A small float checkpoint; `edit` may change the weights before saving. */
function checkpoint(dir: string, name: string, edit?: (tensors: Map<string, import('../../src/tensor/index.ts').Tensor>) => void, metadata?: Record<string, string>): string {
  manualSeed(5);
  const m = createModel(MLP);
  const path = join(dir, name);
  if (edit === undefined && metadata === undefined) {
    saveCheckpoint(path, m, MLP);
    return path;
  }
  const tensors = new Map(m.stateDict());
  edit?.(tensors);
  saveSafetensors(path, tensors, { 'lowbit.model': JSON.stringify(MLP), ...metadata });
  return path;
}

function onnxFile(dir: string, name: string, nodes: NodeProto[], initializers: TensorProto[], inputShape: (number | string)[] = ['N', 4]): string {
  const bytes = encodeModel(
    model({
      graph: graph({ name: 'g', nodes, initializers, inputs: [valueInfo('input', DataType.FLOAT, inputShape)], outputs: [valueInfo('logits', DataType.FLOAT, ['N', 2])] }),
      irVersion: 8,
      opsets: { '': 17 },
    }),
  );
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

function idxSet(dir: string, name: string, rows: number, cols: number, labels: number[]) {
  writeFileSync(join(dir, `${name}-x`), idxBytes(2051, [labels.length, rows, cols], new Uint8Array(labels.length * rows * cols)));
  writeFileSync(join(dir, `${name}-y`), idxBytes(2049, [labels.length], Uint8Array.from(labels)));
  return loadUserData({ kind: 'idx', images: join(dir, `${name}-x`), labels: join(dir, `${name}-y`) }, { normalization: { mean: [0.1307], std: [0.3081] }, name });
}

const MODEL_28 = { inputShape: [1, 28, 28], numClasses: 10, source: 'checkpoint m.safetensors' };

export const BAD_INPUTS: BadInput[] = [
  // ---------------------------------------------------------------- models from elsewhere (ONNX)
  {
    kind: 'library',
    id: 'onnx: every unsupported op at once, with its nodes',
    issue: 'only the first unsupported op is named',
    run: (dir) =>
      importOnnx(
        readFileSync(onnxFile(dir, 'gelu.onnx', [node('Gelu', ['input'], ['a'], { name: '/act/Gelu' }), node('Erf', ['a'], ['b'], { name: '/act/Erf' }), node('Gelu', ['b'], ['logits'], { name: '/act/Gelu_1' })], [])),
        'gelu.onnx',
      ),
    message: /^gelu\.onnx: unsupported op 'Gelu' \(2 nodes: '\/act\/Gelu', '\/act\/Gelu_1'\); unsupported op 'Erf' \(node '\/act\/Erf'\)\. lowbit imports /,
  },
  {
    kind: 'library',
    id: 'onnx: NaN in an initializer is refused, naming the layer\'s tensor',
    issue: 'NaN/Inf weights pass through eval, GPFQ and export',
    run: (dir) =>
      importOnnx(
        readFileSync(onnxFile(dir, 'nan.onnx', [node('Gemm', ['input', 'fc.weight', 'fc.bias'], ['logits'], { name: '/fc/Gemm', attributes: [attribute('transB', 1)] })], [floatTensor('fc.weight', [2, 4], [1, 2, NaN, 4, 5, 6, 7, 8]), floatTensor('fc.bias', [2], [0, 0])])),
        'nan.onnx',
      ),
    message: /^nan\.onnx: tensor 'fc\.weight' holds 1 NaN value\(s\) of 8; the training diverged or the file is corrupt/,
  },
  {
    kind: 'library',
    id: 'onnx: Gather on a computed tensor (not shape arithmetic)',
    issue: 'unsupported op \'Shape\' / shape arithmetic',
    run: (dir) => importOnnx(readFileSync(onnxFile(dir, 'gather.onnx', [node('Gather', ['input', 'i'], ['logits'], { name: 'pick', attributes: [attribute('axis', 1)] })], [int64Tensor('i', [2], [0, 1])])), 'gather.onnx'),
    message: /node 'pick' \(Gather\): lowbit imports Gather only as shape arithmetic/,
  },
  // ---------------------------------------------------------------- checkpoints
  {
    kind: 'library',
    id: 'checkpoint: Inf weight refused on load, naming the tensor',
    issue: 'NaN/Inf weights pass through eval, GPFQ and export',
    run: (dir) => loadCheckpoint(checkpoint(dir, 'inf.safetensors', (t) => noGrad(() => t.set('1.weight', fromArray(Float32Array.from({ length: 784 * 8 }, (_, i) => (i === 3 ? Infinity : 0.01)), [8, 784]))))),
    message: /inf\.safetensors: tensor '1\.weight' holds 1 infinite value\(s\) of 6272/,
  },
  {
    kind: 'library',
    id: 'checkpoint: an I32 tensor over a float weight is refused',
    issue: 'an I32 tensor over float bytes loads',
    run: (dir) => loadCheckpoint(checkpoint(dir, 'i32.safetensors', (t) => t.set('1.bias', fromArray(Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [8])))),
    message: /i32\.safetensors: tensor '1\.bias' is stored as int32 but the model's 1\.bias is float32/,
  },
  {
    kind: 'library',
    id: 'checkpoint: corrupt model-config metadata',
    issue: 'corrupt checkpoint metadata gives a stack trace',
    run: (dir) => loadCheckpoint(checkpoint(dir, 'meta.safetensors', () => {}, { 'lowbit.model': '{"name": "mlp", "inCh' })),
    message: /meta\.safetensors: corrupt 'lowbit\.model' metadata \(not a model config: \{"name": "mlp", "inCh\); the file was damaged or edited/,
  },
  {
    kind: 'library',
    id: 'run directory: corrupt config.json',
    issue: 'corrupt config.json gives a stack trace',
    run: (dir) => {
      mkdirSync(join(dir, 'run'), { recursive: true });
      writeFileSync(join(dir, 'run', 'config.json'), '{"model": ');
      return new RunDir(join(dir, 'run')).readConfig();
    },
    message: /run\/config\.json is corrupt \(not a JSON object\)/,
  },
  // ---------------------------------------------------------------- data
  {
    kind: 'library',
    id: 'data: 14x56 images into a 28x28 model',
    issue: 'image size not checked against the model',
    run: (dir) => checkDatasetFits(idxSet(dir, 'wide', 14, 56, [0, 1]), MODEL_28),
    message: /data set wide has images of 1x14x56 \(C x H x W\) but checkpoint m\.safetensors takes 1x28x28/,
  },
  {
    kind: 'library',
    id: 'data: 1x784 images into a 28x28 model',
    issue: 'image size not checked against the model',
    run: (dir) => checkDatasetFits(idxSet(dir, 'flat', 1, 784, [0]), MODEL_28),
    message: /data set flat has images of 1x1x784 .* takes 1x28x28/,
  },
  {
    kind: 'library',
    id: 'data: an empty set',
    issue: 'an empty training set "trains" 0 steps and saves',
    run: (dir) => checkDatasetFits(idxSet(dir, 'none', 28, 28, []), MODEL_28),
    message: /none-x holds no images \(its header says 0\); give a file with samples/,
  },
  {
    kind: 'library',
    id: 'data: a label beyond the model\'s classes',
    issue: '"Target 9 is out of bounds"',
    run: (dir) => checkDatasetFits(idxSet(dir, 'twelve', 28, 28, [3, 12]), MODEL_28),
    message: /data set twelve has label 12 but checkpoint m\.safetensors has 10 classes/,
  },
  {
    kind: 'library',
    id: 'data: a .npy whose header says int32 over float64 bytes',
    issue: 'an I32 tensor over float bytes loads',
    run: (dir) => {
      const good = Buffer.from(encodeNpy('int32', [4], [1, 2, 3, 4]));
      const path = join(dir, 'lie.npy');
      writeFileSync(path, Buffer.concat([good.subarray(0, good.length - 16), Buffer.from(new Float64Array([1, 2, 3, 4]).buffer)]));
      return parseNpy(readFileSync(path), path);
    },
    message: /lie\.npy: the header says <i4 \[4\] = 16 bytes of data but 32 follow/,
  },
  {
    kind: 'library',
    id: 'data: a model trained on MNIST evaluated on Fashion-MNIST',
    issue: 'eval/ptq on an MNIST model silently use Fashion-MNIST',
    run: () => checkDatasetMatches({ dataset: 'mnist', mean: [0.1307], std: [0.3081] }, { dataset: 'fashion-mnist', mean: [0.286], std: [0.353] }, 'runs/lenet/model.safetensors'),
    message: /^runs\/lenet\/model\.safetensors was trained on mnist, not fashion-mnist/,
  },
  // ---------------------------------------------------------------- files
  {
    kind: 'library',
    id: 'write: a named pipe is never replaced',
    issue: 'export --out /dev/null replaces the device',
    run: (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      writeFileAtomic(join(dir, 'fifo'), 'x');
    },
    message: /refusing to write .*fifo: it is a named pipe \(FIFO\), which lowbit never replaces; give a regular file path/,
  },
  {
    kind: 'library',
    id: 'write: a path through a file (ENOTDIR)',
    issue: 'file-system errors are stack traces',
    run: (dir) => {
      writeFileSync(join(dir, 'plain'), 'x');
      writeFileAtomic(join(dir, 'plain', 'model.onnx'), 'x');
    },
    message: /plain\/model\.onnx: a part of the path is a file, not a folder; check the path \(ENOTDIR\)/,
  },
  {
    kind: 'library',
    id: 'read: a checkpoint path that is a folder (EISDIR)',
    issue: 'file-system errors are stack traces',
    run: (dir) => {
      mkdirSync(join(dir, 'model.safetensors'));
      return loadCheckpoint(join(dir, 'model.safetensors'));
    },
    message: /cannot read .*model\.safetensors: it is a folder; give a file path \(EISDIR\)$/,
  },
  {
    kind: 'library',
    id: 'run directory where a file is (EEXIST / ENOTDIR)',
    issue: 'file-system errors are stack traces',
    run: (dir) => {
      writeFileSync(join(dir, 'runs'), 'x');
      return new RunDir(join(dir, 'runs'));
    },
    message: /cannot create the run directory .*runs: (it already exists; remove it or choose another path \(EEXIST\)|a part of the path is a file, not a folder; check the path \(ENOTDIR\))$/,
  },
  {
    kind: 'behaviour',
    id: 'metrics.jsonl: a torn last line does not swallow the line written on resume',
    issue: 'a torn last line of metrics.jsonl swallows the line rewritten on resume',
    check: (dir) => {
      const run = new RunDir(join(dir, 'torn'));
      run.appendMetrics({ event: 'epoch', epoch: 1 });
      writeFileSync(run.file('metrics.jsonl'), readFileSync(run.file('metrics.jsonl'), 'utf8') + '{"time":"2026-01-01","event":"epo');
      run.appendMetrics({ event: 'epoch', epoch: 2 });
      const epochs = run.readMetrics().map((m) => m.epoch);
      const lines = readFileSync(run.file('metrics.jsonl'), 'utf8').split('\n').filter(Boolean);
      return JSON.stringify(epochs) === '[1,2]' && lines.length === 2 ? null : `epochs ${JSON.stringify(epochs)}, ${lines.length} lines`;
    },
  },
  // ---------------------------------------------------------------- the command line
  {
    kind: 'cli',
    id: 'lowbit export of a checkpoint with NaN weights',
    issue: 'NaN/Inf weights pass through export (NaN in the ONNX)',
    args: (dir) => ['export', '--checkpoint', checkpoint(dir, 'nan.safetensors', (t) => t.set('3.weight', fromArray(Float32Array.from({ length: 80 }, () => NaN), [10, 8]))), '--out', join(dir, 'nan.onnx')],
    exitCode: 1,
    message: /^lowbit export: .*nan\.safetensors: tensor '3\.weight' holds 80 NaN value\(s\) of 80/,
    after: (dir) => {
      try {
        lstatSync(join(dir, 'nan.onnx'));
        return 'nan.onnx was written';
      } catch {
        return null;
      }
    },
  },
  {
    kind: 'cli',
    id: 'lowbit export --out under /proc',
    issue: '--out under /proc hangs at 100% CPU (recursive mkdir retries forever)',
    args: (dir) => ['export', '--checkpoint', checkpoint(dir, 'ok.safetensors'), '--out', '/proc/lowbit-no-such/m.onnx'],
    exitCode: 1,
    message: /^lowbit export: cannot create the folder of \/proc\/lowbit-no-such\/m\.onnx: \/proc is on procfs, a kernel file system where no files can be made; write somewhere else$/,
  },
  {
    kind: 'cli',
    id: 'lowbit export --out a named pipe (as /dev/null would be)',
    issue: 'export --out /dev/null replaces the device',
    args: (dir) => {
      execFileSync('mkfifo', [join(dir, 'out-fifo')]);
      return ['export', '--checkpoint', checkpoint(dir, 'ok.safetensors'), '--out', join(dir, 'out-fifo')];
    },
    exitCode: 1,
    message: /^lowbit export: refusing to write .*out-fifo: it is a named pipe \(FIFO\)/,
    after: (dir) => (lstatSync(join(dir, 'out-fifo')).isFIFO() ? null : 'the FIFO was replaced'),
  },
  {
    kind: 'cli',
    id: 'lowbit export --out a path through a file',
    issue: 'file-system errors are stack traces',
    args: (dir) => {
      writeFileSync(join(dir, 'a-file'), 'x');
      return ['export', '--checkpoint', checkpoint(dir, 'ok2.safetensors'), '--out', join(dir, 'a-file', 'm.onnx')];
    },
    exitCode: 1,
    message: /^lowbit export: cannot (write|create the folder of) .*a-file\/m\.onnx: a part of the path is a file, not a folder; check the path \(ENOTDIR\)$/,
  },
  {
    kind: 'cli',
    id: 'lowbit export of a checkpoint with corrupt metadata',
    issue: 'corrupt checkpoint metadata gives a stack trace',
    args: (dir) => ['export', '--checkpoint', checkpoint(dir, 'bad-meta.safetensors', () => {}, { 'lowbit.model': 'not json' }), '--out', join(dir, 'x.onnx')],
    exitCode: 1,
    message: /^lowbit export: .*bad-meta\.safetensors: corrupt 'lowbit\.model' metadata/,
  },
  // ---------------------------------------------------------------- the command line (CLI side)
  {
    kind: 'cli',
    id: 'lowbit ptq of a quantized (QAT) checkpoint is refused before GPFQ starts',
    issue: 'ptq on a QAT checkpoint runs the whole GPFQ pass, then fails',
    args: (dir) => {
      const path = join(dir, 'qat.safetensors');
      saveSafetensors(path, new Map(createModel(MLP).stateDict()), { 'lowbit.model': JSON.stringify({ ...MLP, quant: { weight: { kind: 'sawb', bits: 2 } } }) });
      return ['ptq', '--checkpoint', path, '--out', join(dir, 'p')];
    },
    exitCode: 2,
    message: /^lowbit ptq: .*qat\.safetensors is already quantized \(a QAT or PTQ checkpoint\); PTQ starts from a float checkpoint: give the float model\.safetensors it was made from$/,
    after: (dir) => (existsSync(join(dir, 'p')) ? 'a run directory was made' : null),
  },
  {
    kind: 'cli',
    id: 'lowbit eval with --checkpoint and --onnx together',
    issue: '--checkpoint and --onnx together silently ignore one',
    args: (dir) => ['eval', '--checkpoint', checkpoint(dir, 'ok3.safetensors'), '--onnx', join(dir, 'm.onnx')],
    exitCode: 2,
    message: /^lowbit eval: --checkpoint .*ok3\.safetensors and --onnx .*m\.onnx name two models; give one of them$/,
  },
  {
    kind: 'cli',
    id: 'lowbit ptq with --checkpoint and --onnx together',
    issue: '--checkpoint and --onnx together silently ignore one',
    args: (dir) => ['ptq', '--checkpoint', join(dir, 'a.safetensors'), '--onnx', join(dir, 'm.onnx')],
    exitCode: 2,
    message: /^lowbit ptq: --checkpoint .* and --onnx .* name two models; give one of them$/,
  },
  {
    kind: 'cli',
    id: "lowbit run --dataset contradicting the model's recorded data set",
    issue: "lowbit run folded Fashion-MNIST's normalization into any model and classified its test set",
    args: (dir) => {
      const config: ModelConfig = { name: 'resnet20', inChannels: 1, numClasses: 10, inputSize: [8, 8] };
      const quant: QuantConfig = { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 }, firstLast: { bits: 8 } };
      manualSeed(2);
      const m = createModel(config);
      quantizeModel(m, quant);
      saveCheckpoint(join(dir, 'q.safetensors'), m, { ...config, quant }, { metadata: datasetMetadata({ dataset: 'mnist', mean: [0.1307], std: [0.3081] }) });
      return ['run', '--model', join(dir, 'q.safetensors'), '--dataset', 'fashion-mnist'];
    },
    exitCode: 1,
    message: /^lowbit run: --dataset fashion-mnist contradicts .*q\.safetensors, which was trained on mnist: drop --dataset/,
  },
  {
    kind: 'cli',
    id: 'a mistyped flag gets a suggestion',
    issue: 'typo suggestions for flags',
    args: () => ['ptq', '--wbit', '4'],
    exitCode: 2,
    message: /^lowbit ptq: Unknown option '--wbit' \(did you mean --wbits\?\)\. See 'lowbit ptq --help'\.$/,
  },
  {
    kind: 'behaviour',
    id: 'a model that records no data set: the assumed default is said once, not recorded silently',
    issue: 'ptq --onnx of a file without metadata records fashion-mnist silently',
    check: (dir) => {
      mkdirSync(join(dir, 'data', 'fashion-mnist'), { recursive: true });
      writeIdxSplit(join(dir, 'data', 'fashion-mnist'), 't10k', 16, 28, 28, { gzip: false, seed: 1 });
      const bin = join(import.meta.dirname, '..', '..', 'bin', 'lowbit.js');
      const r = spawnSync(process.execPath, [bin, 'eval', '--checkpoint', checkpoint(dir, 'plain.safetensors'), '--json'], { env: { ...process.env, LOWBIT_THREADS: '1', LOWBIT_DATA: join(dir, 'data') }, encoding: 'utf8' });
      if (r.status !== 0) return `exit ${r.status}: ${r.stderr}`;
      const said = r.stderr.split('\n').filter((l) => /plain\.safetensors records no data set; assuming fashion-mnist \(pass --dataset or --data/.test(l));
      return said.length === 1 ? null : `said ${said.length} times: ${r.stderr}`;
    },
  },
  {
    kind: 'cli',
    id: 'a mistyped command gets a suggestion',
    issue: 'a mistyped command gets no suggestion',
    args: () => ['exprot', '--checkpoint', 'x.safetensors'],
    exitCode: 2,
    message: /^lowbit exprot: unknown command 'exprot' \(did you mean 'export'\?\)\. Commands: .*export/,
  },
  {
    kind: 'cli',
    id: '--json makes errors JSON too',
    issue: '--json errors as JSON',
    args: () => ['eval', '--json', '--checkpoint', '/nonexistent/m.safetensors'],
    exitCode: 1,
    message: /^\{"error":\{"command":"eval","message":"checkpoint \/nonexistent\/m\.safetensors does not exist: check the path.*","exitCode":1\}\}$/,
  },
  {
    kind: 'cli',
    id: 'lowbit train --out \'\'',
    issue: "train --out '' writes into the current directory",
    args: () => ['train', '--out', ''],
    exitCode: 2,
    message: /^lowbit train: --out is empty: give the run directory to write, e.g\. --out runs\/my-run$/,
  },
  {
    kind: 'cli',
    id: 'lowbit eval --dataset contradicting the checkpoint\'s recorded data set',
    issue: 'eval/ptq on an MNIST model silently use Fashion-MNIST',
    args: (dir) => ['eval', '--checkpoint', checkpoint(dir, 'mnist.safetensors', () => {}, datasetMetadata({ dataset: 'mnist', mean: [0.1307], std: [0.3081] })), '--dataset', 'fashion-mnist'],
    exitCode: 2,
    message: /^lowbit eval: --dataset fashion-mnist contradicts .*mnist\.safetensors, which was trained on mnist: drop --dataset \(the recorded data set is the default\)$/,
  },
  {
    kind: 'cli',
    id: 'lowbit doctor without the native build',
    issue: 'a missing native build: doctor itself dies',
    args: () => ['doctor'],
    env: { LOWBIT_NATIVE_ADDON: '/nonexistent/lowbit_native.node' },
    exitCode: 1,
    message: /^lowbit doctor: lowbit's native addon is not built \(\/nonexistent\/lowbit_native\.node is missing\)\. Run 'bash scripts\/setup\.sh'/,
  },
  {
    kind: 'cli',
    id: 'any command without the native build: one line, no stack',
    issue: 'a missing native build gives a stack trace',
    args: () => ['train', '--help'],
    env: { LOWBIT_NATIVE_ADDON: '/nonexistent/lowbit_native.node' },
    exitCode: 1,
    message: /^lowbit train: lowbit's native addon is not built/,
  },
  {
    kind: 'library',
    id: 'an IDX images file whose labels file cannot be found',
    issue: 'own data: IDX files',
    run: (dir) => {
      writeFileSync(join(dir, 'digits.idx'), idxBytes(2051, [1, 28, 28], new Uint8Array(784)));
      return loadData({ path: join(dir, 'digits.idx'), mean: [0.1], std: [0.3] }, 'train');
    },
    message: /digits\.idx: its labels file was not found; give it with --labels FILE$/,
  },
  {
    kind: 'cli',
    id: '--data and --dataset together',
    issue: 'own data',
    args: (dir) => ['eval', '--checkpoint', checkpoint(dir, 'ok4.safetensors'), '--data', dir, '--dataset', 'mnist'],
    exitCode: 2,
    message: /^lowbit eval: --data and --dataset both name the data; give one/,
  },
  {
    kind: 'cli',
    id: '--mean without --data',
    issue: 'own data: --mean/--std',
    args: (dir) => ['eval', '--checkpoint', checkpoint(dir, 'ok5.safetensors'), '--mean', '0.5'],
    exitCode: 2,
    message: /^lowbit eval: --mean applies to --data \(your own files\); the built-in data sets have their own normalization and size$/,
  },
  {
    kind: 'cli',
    id: '--input-size that is not HxW',
    issue: 'own data: input size',
    args: (dir) => ['eval', '--checkpoint', checkpoint(dir, 'ok6.safetensors'), '--data', dir, '--mean', '0.5', '--std', '0.2', '--input-size', '28by28'],
    exitCode: 2,
    message: /^lowbit eval: --input-size 28by28: expected HxW \(e\.g\. 28x28\) or one number for square images$/,
  },
];
