/**
 * A directory of runs for report tests, shaped like runs/demo: a float model (a real, tiny MLP
 * checkpoint and fake epoch metrics), PTQ runs with real codes from quantizeNetwork at 2 and 4 bits
 * (fake accuracies), a QAT run and an NCE run with searched widths.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel, type ModelConfig } from '../../src/models/index.ts';
import { saveSafetensors } from '../../src/nn/index.ts';
import { quantizeNetwork, type PtqConfig } from '../../src/ptq/index.ts';
import { Generator, randn, type Tensor } from '../../src/tensor/index.ts';
import { saveCheckpoint } from '../../src/train/index.ts';

/** A layer name the report must escape wherever it shows it. */
export const HOSTILE_LAYER = '<script>alert("x")</script>&';

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}

function epochs(n: number, start: number): string {
  const lines = [];
  for (let e = 1; e <= n; e++) {
    lines.push(
      JSON.stringify({ event: 'epoch', epoch: e, trainLoss: 1.5 / e + 0.1, trainAccuracy: start + 0.04 * e, testLoss: 1.4 / e + 0.2, testAccuracy: start + 0.035 * e, lr: 0.1 / e, seconds: 1 }),
    );
  }
  return lines.join('\n') + '\n';
}

export interface RunFixture {
  /** The parent directory holding every run (like runs/demo). */
  dir: string;
  /** dir's parent: a temporary directory to delete. */
  tmp: string;
  cleanup(): void;
}

export function makeRunFixture(): RunFixture {
  const tmp = mkdtempSync(join(tmpdir(), 'lowbit-report-test-'));
  const dir = join(tmp, 'demo');
  const floatDir = join(dir, 'float-mlp');
  mkdirSync(floatDir, { recursive: true });
  const modelConfig: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [6, 6], widths: [16, 12] };
  const model = createModel(modelConfig, { generator: new Generator(1) });
  const copies: Tensor[] = [];
  try {
    const checkpoint = join(floatDir, 'model.safetensors');
    saveCheckpoint(checkpoint, model, modelConfig);
    writeJson(join(floatDir, 'config.json'), { command: '/x/bin/lowbit.js train --model mlp --epochs 5', model: modelConfig, environment: { commit: '0123456789abcdef' }, createdAt: '2026-01-01T00:00:00.000Z' });
    // A torn last line, as a run killed mid-write leaves: the report skips it.
    writeFileSync(join(floatDir, 'metrics.jsonl'), epochs(5, 0.6) + '{"event":"epo');
    writeJson(join(floatDir, 'result.json'), { command: 'train', testAccuracy: 0.775, epochs: 5 });

    const calibration = randn([64, 1, 6, 6], { generator: new Generator(2) });
    copies.push(calibration);
    const accuracy: Record<string, number> = { 'rtn-2': 0.42, 'gpfq-2': 0.7, 'rtn-4': 0.74, 'gpfq-4': 0.77 };
    for (const bits of [2, 4]) {
      for (const method of ['rtn', 'gpfq'] as const) {
        const runDir = join(dir, `ptq-${method}-w${bits}`);
        mkdirSync(runDir, { recursive: true });
        const quantized = createModel(modelConfig);
        quantized.loadStateDict(model.stateDict());
        const config: PtqConfig = { method, bits, firstLastBits: 8, solver: 'fast', convention: 'signed', granularity: 'layer' };
        const reports = quantizeNetwork(model, quantized, calibration, config);
        const codes = new Map<string, Tensor>();
        for (const r of reports) {
          codes.set(`${r.name}.weight_codes`, r.codes);
          codes.set(`${r.name}.weight_scale`, r.scales);
        }
        saveSafetensors(join(runDir, 'codes.safetensors'), codes);
        for (const t of codes.values()) t.dispose();
        quantized.dispose();
        // Recorded relative to the directory the run started from (tmp), as lowbit ptq records it.
        writeJson(join(runDir, 'config.json'), { command: `/x/bin/lowbit.js ptq --method ${method} --wbits ${bits}`, checkpoint: join('demo', 'float-mlp', 'model.safetensors'), ptq: config });
        writeJson(join(runDir, 'result.json'), {
          method,
          wbits: bits,
          floatAccuracy: 0.775,
          quantizedAccuracy: accuracy[`${method}-${bits}`],
          drop: 0.775 - accuracy[`${method}-${bits}`],
          seconds: 0.1,
          layers: reports.map(({ name, kind, bits: b, shape, relativeError, seconds }) => ({ name, kind, bits: b, shape, relativeError, seconds })),
        });
      }
    }

    const qatDir = join(dir, 'qat-w4a4');
    mkdirSync(qatDir);
    writeJson(join(qatDir, 'config.json'), { command: '/x/bin/lowbit.js qat --wbits 4 --abits 4', options: { wbits: '4', abits: '4' } });
    writeFileSync(join(qatDir, 'metrics.jsonl'), epochs(4, 0.5));

    const nceDir = join(dir, 'nce-search');
    mkdirSync(nceDir);
    writeJson(join(nceDir, 'config.json'), { command: '/x/bin/lowbit.js nce --flops 0.5' });
    writeFileSync(join(nceDir, 'metrics.jsonl'), epochs(3, 0.55));
    writeJson(join(nceDir, 'result.json'), {
      command: 'nce',
      widths: [
        { layer: '1', base: 16, searched: 10 },
        { layer: '3', base: 12, searched: 12 },
        { layer: HOSTILE_LAYER, base: 8, searched: 3 },
      ],
    });
  } finally {
    model.dispose();
    for (const t of copies) t.dispose();
  }
  return { dir, tmp, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}
