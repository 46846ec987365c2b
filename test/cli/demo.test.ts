/**
 * `lowbit demo --quick` end to end on two stages (ptq, then export in a second invocation): the stage
 * records, reuse on a rerun, and the report's sections. Tiny budgets (64 calibration and 256 test
 * images); needs the committed float ResNet-20 and the system Fashion-MNIST.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoCommand } from '../../src/cli/commands/demo.ts';
import { readStageRecord } from '../../src/cli/commands/demo-stages.ts';

const FLOAT = join(import.meta.dirname, '..', '..', 'results', 'float', 'resnet20.safetensors');
const available = existsSync(FLOAT) && existsSync('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
const out = mkdtempSync(join(tmpdir(), 'lowbit-demo-'));
after(() => rmSync(out, { recursive: true, force: true }));

const demo = (stages: string) => demoCommand.run({ stages, out, seed: '0', quick: true, json: true }, []);

test('demo --quick: ptq, a reuse of it, then export; the report grows with the stages', { skip: !available && 'needs results/float/resnet20.safetensors and /usr/share/datasets/fashion-mnist', timeout: 600_000 }, async () => {
  await demo('ptq');
  const ptq = readStageRecord(out, 'ptq');
  assert.deepEqual(ptq?.runs, ['ptq-rtn-w2', 'ptq-gpfq-w2']);
  let md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(md, /\*\*This is a `--quick` run\*\*/);
  assert.match(md, /one step per output channel/);
  assert.doesNotMatch(md, /## Export to ONNX|## Quantization-aware training/);

  await demo('ptq,export');
  assert.equal(readStageRecord(out, 'ptq')?.finishedAt, ptq!.finishedAt, 'ptq reused, not run again');
  const summary = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
  assert.deepEqual(summary.lastInvocation.stages, [{ stage: 'ptq', reused: true }, { stage: 'export', reused: false }]);
  const ex = readStageRecord(out, 'export')!;
  assert.match(String((ex.summary.chosen as { dir: string }).dir), /^ptq-(gpfq|rtn)-w2$/);
  assert.ok(existsSync(join(out, 'export', 'best-2bit.onnx')) && existsSync(join(out, 'export', 'float.onnx')));
  const files = ex.summary.files as { role: string; onnxBytes: number; ortAccuracy: number; lowbitAccuracy: number }[];
  const [float, low] = [files.find((f) => f.role === 'float')!, files.find((f) => f.role === 'quantized')!];
  assert.ok(low.onnxBytes * 8 < float.onnxBytes, `2-bit file ${low.onnxBytes} B vs float ${float.onnxBytes} B`);
  assert.ok(Math.abs(low.ortAccuracy - low.lowbitAccuracy) <= 2 / 256, 'onnxruntime agrees with lowbit');
  md = readFileSync(join(out, 'report.md'), 'utf8');
  assert.match(md, /## Export to ONNX/);
  assert.match(md, /\| float baseline \(/);
});
