import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runtimeInfo } from '../../src/runtime/index.ts';

const native = fileURLToPath(new URL('../../src/runtime/native.ts', import.meta.url));

/** runtimeInfo() in a fresh process with LOWBIT_RUNTIME_ISA set (the choice is made at load). */
function infoWith(isa: string): { status: number | null; stdout: string; stderr: string } {
  const code = `import { runtimeInfo } from ${JSON.stringify(native)}; try { console.log(JSON.stringify(runtimeInfo())); } catch (e) { console.error(e.message); process.exit(3); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, LOWBIT_RUNTIME_ISA: isa }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('runtime dispatch', () => {
  it('picks the best instruction set the CPU reports', () => {
    const info = runtimeInfo();
    const order = ['portable', 'avx2', 'avxvnni', 'avx512vnni'];
    if (process.env.LOWBIT_RUNTIME_ISA === undefined) assert.equal(info.isa, info.available[info.available.length - 1]);
    assert.deepEqual([...info.available].sort((a, b) => order.indexOf(a) - order.indexOf(b)), info.available);
  });

  it('LOWBIT_RUNTIME_ISA=portable forces the portable path (what a CPU without VNNI runs)', () => {
    const r = infoWith('portable');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).isa, 'portable');
  });

  it('an unknown LOWBIT_RUNTIME_ISA is one clear error naming the choices', () => {
    const r = infoWith('sse9');
    assert.equal(r.status, 3);
    assert.match(r.stderr, /LOWBIT_RUNTIME_ISA=sse9 is not an instruction set of the runtime; choose portable, avx2, avxvnni or avx512vnni/);
  });
});
