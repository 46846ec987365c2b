/**
 * A model's forward pass as a chain of stages, when it is one: running the stages one after the other
 * on the input gives forward(input). Layer-by-layer algorithms (PTQ) use it to keep each stage's input
 * for a calibration set and run only the stage that holds the current layer, instead of the whole
 * network up to it for every layer (O(L) stage passes rather than O(L^2) layer passes).
 *
 * Sequential is a chain of its children; a model whose forward() composes its children in a fixed order
 * says so by implementing `forwardChain()` (ResNet does). Nested chains are flattened, so a residual
 * block inside a Sequential becomes a stage of its own.
 */
import { Sequential } from './layers/misc.ts';
import type { Module } from './module.ts';

/** Implemented by models whose forward() is exactly the composition of the returned modules, in order. */
export interface HasForwardChain {
  forwardChain(): Module[];
}

function hasForwardChain(m: Module): m is Module & HasForwardChain {
  return typeof (m as Partial<HasForwardChain>).forwardChain === 'function';
}

/** The finest chain of stages whose composition is model.forward, or null when the model is not a chain. */
export function forwardChain(model: Module): Module[] | null {
  let stages: Module[];
  if (model instanceof Sequential) stages = model.children();
  else if (hasForwardChain(model)) stages = model.forwardChain();
  else return null;
  return stages.flatMap((s) => forwardChain(s) ?? [s]);
}
