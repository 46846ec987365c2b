import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { saveOnnx } from '../../src/export/index.ts';
import { createModel } from '../../src/models/index.ts';
import { argmaxRows, loadIntModel } from '../../src/runtime/index.ts';
import type { QuantConfig } from '../../src/quant/index.ts';
import { saveCheckpoint } from '../../src/train/index.ts';
import { fakeQuantResNet, fixtureConfig, quantConfig, randomPixels } from './resnet-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'lowbit-runtime-onnx-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SIZE = 12;
const N = 24;

/** The fixture saved as a checkpoint and exported as `lowbit export` does; both loaded into plans. */
async function bothPaths(bits: number, seed: number, config: QuantConfig) {
  const model = fakeQuantResNet(bits, SIZE, seed, config);
  const ckpt = join(dir, `w${bits}-${seed}.safetensors`);
  saveCheckpoint(ckpt, model, { ...fixtureConfig(SIZE), quant: config });
  const onnx = join(dir, `w${bits}-${seed}.onnx`);
  saveOnnx(onnx, model, { inputShape: [1, SIZE, SIZE] });
  return { fromCheckpoint: await loadIntModel(ckpt), fromOnnx: await loadIntModel(onnx) };
}

/** Same logits to float32 rounding, same classes, and the same codes at every quantization point but ties. */
async function checkSame(bits: number, seed: number, config: QuantConfig) {
  const { fromCheckpoint: a, fromOnnx: b } = await bothPaths(bits, seed, config);
  assert.equal(b.classes, 10);
  assert.equal(b.imageBytes, SIZE * SIZE);
  assert.deepEqual(b.plan.steps.map((s) => s.where), a.plan.steps.map((s) => s.where));
  const pixels = randomPixels(N, SIZE, seed + 1);
  const la = a.plan.run(pixels, N);
  const lb = b.plan.run(pixels, N);
  assert.deepEqual(Array.from(argmaxRows(lb, 10)), Array.from(argmaxRows(la, 10)));
  let maxDiff = 0;
  for (let i = 0; i < la.length; i++) maxDiff = Math.max(maxDiff, Math.abs(la[i] - lb[i]));
  assert.ok(maxDiff < 1e-3, `logits differ by ${maxDiff}`);
  // Codes: the ONNX file holds the same integers; only float32 roundings of folded scales (the stem's
  // BatchNorm, the epsilon attribute) differ, which can move a value that sits on a rounding tie.
  let total = 0;
  let differ = 0;
  for (const [name] of a.plan.names) {
    if (!name.endsWith('.in')) continue;
    const ca = a.plan.read(name);
    const cb = b.plan.read(name);
    assert.equal(cb.length, ca.length, name);
    for (let i = 0; i < ca.length; i++) {
      total++;
      if (ca[i] !== cb[i]) {
        differ++;
        assert.equal(Math.abs(ca[i] - cb[i]), 1, `${name}[${i}]: codes ${ca[i]} vs ${cb[i]}`);
      }
    }
  }
  assert.ok(total > 10000);
  assert.ok(differ <= total * 1e-4, `${differ} of ${total} codes differ`);
}

describe('loadIntModel of lowbit export ONNX', () => {
  it('W2A2 (SAWB: zero-free odd grid stored as level indices + offset): the checkpoint plan\'s codes and classes', async () => {
    await checkSame(2, 31, quantConfig(2));
  });

  it('W4A4 (SAWB)', async () => {
    await checkSame(4, 32, quantConfig(4));
  });

  it('W4A4 with per-channel uniform weights (signed codes, no offset)', async () => {
    await checkSame(4, 33, { weight: { kind: 'uniform', bits: 4, perChannel: true }, act: { kind: 'pact', bits: 4 }, firstLast: { bits: 8 } });
  });

  it('refuses a float ONNX with a message that says which file it reads', async () => {
    const path = join(dir, 'float.onnx');
    saveOnnx(path, createModel(fixtureConfig(8)), { inputShape: [1, 8, 8] });
    await assert.rejects(loadIntModel(path), (e: Error) => e instanceof LowbitError && /lowbit export --checkpoint/.test(e.message));
  });
});
