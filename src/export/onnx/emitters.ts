/**
 * Which emitter writes a module. A module is exported by the emitter registered for its exact class
 * (the layers of src/nn and src/quant, the residual block, imported ONNX graphs, and any entries the
 * caller passes); failing that, by its forward chain (src/nn/forward-chain.ts): a model whose forward()
 * is a chain of exportable modules (a Sequential, ResNet's stem / blocks / head) exports with no
 * emitter of its own. Anything else is refused by class and name rather than exported wrong: walking
 * modules cannot see a forward() that computes between its children.
 */
import { LowbitError } from '../../errors.ts';
import { forwardChain, type Module } from '../../nn/index.ts';
import type { EmitContext, Emitter, EmitterEntry, ModuleClass } from './emit-context.ts';
import { GRAPH_MODULE_EMITTERS } from './emit-graph-module.ts';
import { emitChain, LAYER_EMITTERS } from './emit-layers.ts';
import { RESIDUAL_EMITTERS } from './emit-residual.ts';

/** lowbit's own emitters: layers, the residual block, imported graphs. */
export const BUILTIN_EMITTERS: readonly EmitterEntry[] = [...LAYER_EMITTERS, ...RESIDUAL_EMITTERS, ...GRAPH_MODULE_EMITTERS];

/** The emitter table of one export: the built-ins, overridden or extended by `extra`. */
export function emitterTable(extra: readonly EmitterEntry[] = []): Map<ModuleClass, Emitter> {
  return new Map<ModuleClass, Emitter>([...BUILTIN_EMITTERS, ...extra]);
}

/** Writes `m` through its class's emitter, or as its forward chain; `where` is its dotted name. */
export function emitModule(m: Module, input: string, ctx: EmitContext, table: Map<ModuleClass, Emitter>, where: string): string {
  const emitter = table.get(m.constructor as ModuleClass);
  if (emitter !== undefined) return emitter(m, input, ctx);
  const chain = forwardChain(m);
  if (chain !== null) return emitChain(chain, input, ctx);
  const name = m.constructor.name;
  throw new LowbitError(
    `ONNX export: no ONNX emitter for ${name} at '${where || '(model)'}'. ` +
      `Exportable modules: ${[...table.keys()].map((c) => c.name).join(', ')}, and any module whose forward() is a chain of them ` +
      `(implement forwardChain()). For other modules pass an emitter: exportOnnx(model, { emitters: [[${name}, emit${name}]] })`,
  );
}
