/** Re-export of an imported ONNX graph: its steps write themselves (modules through their emitters). */
import { OnnxGraphModule } from '../import/onnx-graph-module.ts';
import type { EmitContext, EmitterEntry } from './emit-context.ts';

function emitGraphModule(m: OnnxGraphModule, x: string, ctx: EmitContext): string {
  const values = new Map<string, string>([[m.input.name, x]]);
  for (const s of m.steps) values.set(s.output, s.emit(ctx, s.inputs.map((n) => values.get(n)!)));
  return values.get(m.outputName)!;
}

export const GRAPH_MODULE_EMITTERS: EmitterEntry[] = [[OnnxGraphModule, emitGraphModule]];
