/** Plan files on disk: savePlan / loadPlan (the format: plan-format.ts). */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { IntPlan } from './int-plan.ts';
import type { RuntimeIsa } from './native.ts';
import { decodePlan, encodePlan, isPlanFile, type PlanMeta } from './plan-format.ts';

export { isPlanFile, type PlanMeta };

/** Writes the plan (packed weights, epilogue numbers, buffer layout) atomically; returns its size in bytes. */
export function savePlan(plan: IntPlan, meta: PlanMeta, path: string): number {
  const bytes = encodePlan(plan, meta);
  writeFileAtomic(path, bytes);
  return bytes.length;
}

export function loadPlan(path: string, opts: { isa?: RuntimeIsa } = {}): { plan: IntPlan; meta: PlanMeta; fileBytes: number } {
  const bytes = new Uint8Array(readFileSync(path));
  const plan = new IntPlan(opts.isa);
  const meta = decodePlan(bytes, path, plan);
  return { plan, meta, fileBytes: bytes.length };
}
