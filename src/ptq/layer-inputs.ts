/**
 * The inputs of one layer for every calibration batch, in a network being quantized layer by layer.
 *
 * The plain way runs the network from the images up to the layer for every layer and batch: O(L^2)
 * layer passes for L layers, which dominated GPFQ on ResNet-20 (66 of 89 s). When the model is a chain
 * of stages (forwardChain: Sequential children, ResNet's stem / blocks / head), this keeps each batch's
 * input to the current stage instead, and runs only the stage holding the layer; moving on to a later
 * stage runs the stages in between once. The quantized network's stage inputs are advanced only past
 * stages whose layers are all quantized (layers come in forward order), so they are the inputs the
 * quantized network would compute. Memory: one activation tensor per calibration image and network.
 */
import { LowbitError } from '../errors.ts';
import { forwardChain, type Module } from '../nn/index.ts';
import { adopt, keep, scope, type Tensor } from '../tensor/index.ts';

/** Thrown by captureInput's hook to abandon the rest of the forward pass; never escapes captureInput. */
class StopForward extends Error {}

/** Input of `target` for a batch: runs `model` until target is called, then stops. */
export function captureInput(model: Module, target: Module, input: Tensor): Tensor {
  let captured: Tensor | null = null;
  // A forward pre-hook sees the target's input; nothing after it needs computing, so the hook abandons
  // the forward with an exception. Every module's scope on the way out frees what it made: the
  // captured input is kept through the unwinding and then handed to the caller's scope (unless it is
  // the caller's own input).
  const handle = target.registerForwardPreHook((_m, x) => {
    captured = x === input ? x : keep(x);
    throw new StopForward();
  });
  try {
    model.call(input);
  } catch (err) {
    if (!(err instanceof StopForward)) throw err;
  } finally {
    handle.remove();
  }
  if (captured === null) throw new LowbitError('PTQ: the layer was not reached by the forward pass');
  const x: Tensor = captured;
  return x === input ? x : adopt(x);
}

/** Gives a layer's input batch by batch (each call from inside the caller's scope). */
export interface LayerInputs {
  /** Input of `layer` (a module of this network) for calibration batch b. */
  input(layer: Module, b: number): Tensor;
  dispose(): void;
}

/** Runs the whole network from the images for every call (any model). */
class RerunInputs implements LayerInputs {
  constructor(
    private readonly model: Module,
    private readonly batches: readonly Tensor[],
  ) {}
  input(layer: Module, b: number): Tensor {
    return captureInput(this.model, layer, this.batches[b]);
  }
  dispose(): void {}
}

/** Keeps each batch's input to the current stage of a chain model. */
class StageInputs implements LayerInputs {
  private stage = 0;
  private readonly inputs: Tensor[];

  constructor(
    private readonly stages: readonly Module[],
    batches: readonly Tensor[],
  ) {
    this.inputs = [...batches]; // stage 0's inputs are the images (owned by the caller)
  }

  input(layer: Module, b: number): Tensor {
    const s = this.stages.findIndex((st) => st === layer || st.modules().includes(layer));
    if (s < 0) throw new LowbitError('PTQ: the layer is not in any stage of the model');
    if (s < this.stage) throw new LowbitError('PTQ: layers must be visited in forward order');
    this.advanceTo(s);
    return captureInput(this.stages[s], layer, this.inputs[b]);
  }

  private advanceTo(s: number): void {
    if (s === this.stage) return;
    this.inputs.forEach((x, b) => {
      const next = keep(scope(() => this.stages.slice(this.stage, s).reduce((y, st) => st.call(y), x)));
      if (this.stage > 0) x.dispose();
      this.inputs[b] = next;
    });
    this.stage = s;
  }

  dispose(): void {
    if (this.stage > 0) for (const x of this.inputs) x.dispose();
    this.inputs.length = 0;
  }
}

/** Stage-cached inputs when the model is a chain, else whole-network reruns. `batches` stay the caller's. */
export function layerInputs(model: Module, batches: readonly Tensor[]): LayerInputs {
  const stages = forwardChain(model);
  return stages ? new StageInputs(stages, batches) : new RerunInputs(model, batches);
}
