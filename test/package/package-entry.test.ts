// issue 20: `import { ... } from 'lowbit'` works from a plain Node project (no tsx), with types: the
// package is built (npm run build: dist/ JS + .d.ts), packed with npm pack, unpacked into a temp
// project's node_modules, and used there by node and by tsc. No network: the package's dependencies
// are this checkout's node_modules, and the native addon is this checkout's build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');

test('the packed package imports from a plain Node project and type-checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-pkg-'));
  try {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'pipe' });
    const packed = JSON.parse(execFileSync('npm', ['pack', '--pack-destination', dir, '--ignore-scripts', '--json'], { cwd: ROOT, encoding: 'utf8' })) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    for (const f of ['dist/index.js', 'dist/index.d.ts', 'bin/lowbit.js', 'package.json']) assert.ok(files.includes(f), `${f} is in the package`);
    const project = join(dir, 'proj');
    const pkg = join(project, 'node_modules', 'lowbit');
    mkdirSync(pkg, { recursive: true });
    execFileSync('tar', ['xzf', join(dir, packed[0].filename), '-C', pkg, '--strip-components=1']);
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    writeFileSync(join(project, 'package.json'), '{"type":"module"}\n');
    writeFileSync(
      join(project, 'index.mjs'),
      [
        "import { createModel, manualSeed, randn, scope, LowbitError, loadData, quantizeModel } from 'lowbit';",
        'manualSeed(0);',
        "const m = createModel({ name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28], widths: [8] });",
        'const shape = scope(() => m.call(randn([2, 1, 28, 28])).shape);',
        'console.log(JSON.stringify({ shape, api: [LowbitError, loadData, quantizeModel].map((f) => typeof f) }));',
      ].join('\n'),
    );
    const env = { ...process.env, LOWBIT_THREADS: '1', LOWBIT_NATIVE_ADDON: join(ROOT, 'native', 'build', 'Release', 'lowbit_native.node') };
    const run = spawnSync(process.execPath, ['index.mjs'], { cwd: project, env, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { shape: [2, 10], api: ['function', 'function', 'function'] });
    // Types: the package's `types` / exports.types resolve under NodeNext, and a wrong config is caught.
    writeFileSync(join(project, 'ok.ts'), "import { createModel, type ModelConfig } from 'lowbit';\nconst c: ModelConfig = { name: 'mlp', inChannels: 1, numClasses: 10, inputSize: [28, 28] };\ncreateModel(c);\n");
    writeFileSync(join(project, 'bad.ts'), "import type { ModelConfig } from 'lowbit';\nexport const c: ModelConfig = { name: 'mlp', inChannels: '1', numClasses: 10, inputSize: [28, 28] };\n");
    const tsc = (file: string) => spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--strict', '--noEmit', '--skipLibCheck', file], { cwd: project, encoding: 'utf8' });
    const ok = tsc('ok.ts');
    assert.equal(ok.status, 0, ok.stdout);
    const bad = tsc('bad.ts');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stdout, /bad\.ts\(2,\d+\): error TS2322/, 'the wrong inChannels type is caught');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
