// Compiles src/ to dist/ (ES modules + .d.ts) for `import { ... } from 'lowbit'` in plain Node.
// The sources import each other with .ts extensions (run directly by tsx); TypeScript 5.6 cannot
// rewrite those on emit (5.7's rewriteRelativeImportExtensions), so the sources are copied with
// relative '.ts' specifiers changed to '.js', then compiled by tsc as they are.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const staging = join(root, '.build', 'src');
const out = join(root, 'dist');
rmSync(join(root, '.build'), { recursive: true, force: true });
rmSync(out, { recursive: true, force: true });
cpSync(join(root, 'src'), staging, { recursive: true });

const SPECIFIER = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.ts(['"])/g;
function rewrite(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) rewrite(p);
    else if (p.endsWith('.ts')) writeFileSync(p, readFileSync(p, 'utf8').replace(SPECIFIER, '$1$2.js$3'));
  }
}
rewrite(staging);

const tsconfig = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noImplicitOverride: true,
    esModuleInterop: true,
    skipLibCheck: true,
    declaration: true,
    sourceMap: false,
    types: ['node'],
    rootDir: 'src',
    outDir: '../dist',
  },
  include: ['src'],
};
mkdirSync(join(root, '.build'), { recursive: true });
writeFileSync(join(root, '.build', 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, '.build', 'tsconfig.json')], { stdio: 'inherit' });
rmSync(join(root, '.build'), { recursive: true, force: true });
console.log(`built ${out}`);
