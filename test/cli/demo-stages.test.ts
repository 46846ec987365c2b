import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../src/errors.ts';
import { helpText } from '../../src/cli/command.ts';
import { demoCommand } from '../../src/cli/commands/demo.ts';
import { DEMO_STAGES, parseStages, readStageRecord, runStages, weightBytes, type DemoStage, type StageRunner } from '../../src/cli/commands/demo-stages.ts';

const tmp = mkdtempSync(join(tmpdir(), 'lowbit-demo-stages-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('--stages keeps the demo order and rejects unknown names', () => {
  assert.deepEqual(parseStages('export,ptq'), ['ptq', 'export']);
  assert.deepEqual(parseStages('ptq, qat ,nce,export'), ['ptq', 'qat', 'nce', 'export']);
  assert.throws(() => parseStages('ptq,gptq'), (e: unknown) => e instanceof UsageError && /unknown stage 'gptq'.*ptq, qat, nce, export/.test(e.message));
  assert.throws(() => parseStages(''), UsageError);
});

test('lowbit demo --help lists every stage', () => {
  const help = helpText(demoCommand);
  for (const s of DEMO_STAGES) assert.match(help, new RegExp(`^  ${s}\\s+\\S`, 'm'), `stage ${s} in the help`);
  assert.match(help, /--stages LIST/);
});

/** Runners that write one run directory each and count their runs. */
function fakeRunners(out: string, keys: Partial<Record<DemoStage, unknown>>, calls: DemoStage[]): Record<DemoStage, () => StageRunner> {
  const make = (stage: DemoStage) => (): StageRunner => ({
    key: () => keys[stage] ?? 1,
    dirs: () => [`${stage}-run`],
    run() {
      calls.push(stage);
      mkdirSync(join(out, `${stage}-run`), { recursive: true });
      writeFileSync(join(out, `${stage}-run`, 'result.json'), JSON.stringify({ calls: calls.length }));
      return { stage, n: calls.length };
    },
  });
  return { ptq: make('ptq'), qat: make('qat'), nce: make('nce'), export: make('export') };
}

test('a rerun reuses finished stages, runs the missing ones, and reruns a stage whose key changed', async () => {
  const out = join(tmp, 'reuse');
  const calls: DemoStage[] = [];
  const first = await runStages(out, ['ptq', 'qat'], fakeRunners(out, {}, calls));
  assert.deepEqual(calls, ['ptq', 'qat']);
  assert.deepEqual(first.map((o) => o.reused), [false, false]);
  assert.deepEqual(readStageRecord(out, 'ptq')?.runs, ['ptq-run']);

  const lines: string[] = [];
  const second = await runStages(out, ['ptq', 'qat', 'export'], fakeRunners(out, {}, calls), (l) => lines.push(l));
  assert.deepEqual(calls, ['ptq', 'qat', 'export'], 'only export ran');
  assert.deepEqual(second.map((o) => [o.stage, o.reused]), [['ptq', true], ['qat', true], ['export', false]]);
  assert.ok(lines.some((l) => /stage ptq already done/.test(l)));
  assert.equal(second[0].record.summary.n, 1, 'the reused record is the first run');

  // A new budget for qat: its old run directory goes, the stage runs again.
  writeFileSync(join(out, 'qat-run', 'stale.txt'), 'x');
  await runStages(out, ['ptq', 'qat'], fakeRunners(out, { qat: { epochs: 2 } }, calls));
  assert.deepEqual(calls, ['ptq', 'qat', 'export', 'qat']);
  assert.ok(!existsSync(join(out, 'qat-run', 'stale.txt')), 'the stale run directory was removed first');
  assert.deepEqual(readStageRecord(out, 'qat')?.key, { epochs: 2 });

  // A record whose run directory was deleted by hand is not trusted.
  rmSync(join(out, 'ptq-run'), { recursive: true });
  await runStages(out, ['ptq'], fakeRunners(out, {}, calls));
  assert.equal(calls.at(-1), 'ptq');
});

test('a stage that fails leaves no record, so the next run starts it again', async () => {
  const out = join(tmp, 'fail');
  const runners = fakeRunners(out, {}, []);
  runners.nce = () => ({ key: () => 1, dirs: () => ['nce-run'], run: () => { throw new Error('killed'); } });
  await assert.rejects(runStages(out, ['ptq', 'nce'], runners), /killed/);
  assert.ok(readStageRecord(out, 'ptq'));
  assert.equal(readStageRecord(out, 'nce'), null);
  assert.ok(JSON.parse(readFileSync(join(out, 'stages', 'ptq.json'), 'utf8')).seconds >= 0);
});

test('weight bytes: codes at their bits against float32', () => {
  assert.deepEqual(weightBytes([{ numel: 16, bits: 2 }, { numel: 8, bits: 8 }]), { bytes: 4 + 8, floatBytes: 96 });
});
