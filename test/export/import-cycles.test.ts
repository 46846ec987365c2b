/**
 * src/export has no import cycles between its files (type-only imports excluded: they vanish at run
 * time). A cycle makes module initialization order matter; fold-constants.ts <-> read-model.ts was one.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'export');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative imports and re-exports of `source` that exist at run time. */
function runtimeImports(source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(/^(?:import|export)\s+(type\s+)?([^;]*?)\s+from\s+'(\.[^']+)'/gms)) {
    if (m[1]) continue;
    const names = m[2].trim();
    // `import { type A, type B } from` is type-only too.
    if (names.startsWith('{') && names.slice(1, -1).split(',').every((n) => n.trim() === '' || n.trim().startsWith('type '))) continue;
    out.push(m[3]);
  }
  return out;
}

/** Every cycle found by depth-first search, as file lists relative to `root`. */
function findCycles(graph: Map<string, string[]>, root: string): string[][] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (f: string): void => {
    state.set(f, 'open');
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (state.get(g) === 'open') cycles.push(stack.slice(stack.indexOf(g)).map((p) => relative(root, p)));
      else if (!state.has(g)) visit(g);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

describe('src/export import graph', () => {
  it('the cycle finder sees type-only imports as absent and reports a two-file cycle', () => {
    assert.deepEqual(runtimeImports("import type { A } from './a.ts';\nimport { type B, type C } from './b.ts';\nimport { D, type E } from './d.ts';"), ['./d.ts']);
    const g = new Map([['/r/a.ts', ['/r/b.ts']], ['/r/b.ts', ['/r/a.ts']], ['/r/c.ts', ['/r/a.ts']]]);
    assert.deepEqual(findCycles(g, '/r'), [['a.ts', 'b.ts']]);
  });

  it('has no cycles', () => {
    const graph = new Map<string, string[]>();
    for (const f of tsFiles(ROOT)) {
      const deps = runtimeImports(readFileSync(f, 'utf8')).map((p) => normalize(join(dirname(f), p)));
      graph.set(f, deps.filter((d) => d.startsWith(ROOT)));
    }
    assert.ok(graph.size > 10, `read ${graph.size} files under ${ROOT}`);
    assert.deepEqual(findCycles(graph, ROOT), []);
  });
});
