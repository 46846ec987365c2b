/**
 * The full-precision auxiliary module of Zhuang et al., "Training Quantized Neural Networks with a
 * Full-precision Auxiliary Module" (CVPR 2020); docs/auxiliary-module.md explains the method.
 *
 * A side network that reads the low-precision (LP) ResNet at its taps and never writes to it:
 *   h_0 = A_stem(o_stem)                       o_stem: the stem's output
 *   h_b = ReLU(D_b(h_{b-1}) + A_b(o_b))        o_b: block b's sum (main branch + shortcut), before its ReLU
 *   logits_aux = FC_aux(GAP(h_B))
 * A = BN(Conv1x1(C -> C)) (the paper's adaptors, no ReLU inside); D_b = BN(Conv1x1(C_in -> C_out, stride))
 * where block b changes the resolution or the width (the released code's "downsample booster"), else
 * the identity. Trained with L = CE(logits_LP) + beta * CE(logits_aux) (the released code: beta = 1), the
 * aux loss reaches every LP weight through o_b, a full-precision tensor that skips the block's output
 * activation quantizer and every later quantized block. At inference the module is dropped: the LP
 * network never reads h, so its outputs are the same with or without the module.
 *
 * Taps are taken with per-module hooks (no copy of the blocks' forward): a forward hook on the stem, and a
 * forward pre-hook on each block's output activation, whose input is the block's sum.
 */
import { LowbitError } from '../errors.ts';
import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Identity, Linear, Module, Sequential, init, type RemovableHandle } from '../nn/index.ts';
import { residualTapPoints, type ResidualTapPoints } from '../models/index.ts';
import { adopt, keep, type Generator, type Tensor } from '../tensor/index.ts';

/** BN(Conv1x1(inC -> outC, stride)): an adaptor (inC = outC, stride 1) or a downsample. */
function conv1x1Bn(inC: number, outC: number, stride: number, generator?: Generator): Sequential {
  const conv = new Conv2d(inC, outC, 1, { stride, bias: false, generator });
  init.kaimingNormal_(conv.weight, { mode: 'fanOut', nonlinearity: 'relu', generator });
  return new Sequential(conv, new BatchNorm2d(outC));
}

export interface AuxiliaryModuleOptions {
  numClasses: number;
  generator?: Generator;
}

/**
 * The side network's parameters: stem adaptor, one adaptor and one (possibly identity) downsample per
 * block, and its own classifier. Built from the tap points' channel counts and strides, so it fits any
 * ResNet the zoo builds (BasicBlock or Bottleneck, any widths).
 */
export class AuxiliaryModule extends Module {
  readonly stemAdaptor: Sequential;
  readonly adaptors: Sequential;
  readonly downsamples: Sequential;
  readonly pool: AdaptiveAvgPool2d;
  readonly flatten: Flatten;
  readonly head: Linear;

  constructor(points: ResidualTapPoints, opts: AuxiliaryModuleOptions) {
    super();
    const g = opts.generator;
    if (points.blocks.length === 0) throw new LowbitError('AuxiliaryModule: the model has no residual block to tap');
    this.stemAdaptor = this.registerModule('stemAdaptor', conv1x1Bn(points.stemChannels, points.stemChannels, 1, g));
    this.adaptors = this.registerModule('adaptors', new Sequential(...points.blocks.map((b) => conv1x1Bn(b.outChannels, b.outChannels, 1, g))));
    let channels = points.stemChannels;
    const downsamples: Module[] = [];
    for (const b of points.blocks) {
      downsamples.push(b.stride !== 1 || b.inChannels !== b.outChannels || channels !== b.inChannels ? conv1x1Bn(channels, b.outChannels, b.stride, g) : new Identity());
      channels = b.outChannels;
    }
    this.downsamples = this.registerModule('downsamples', new Sequential(...downsamples));
    this.pool = this.registerModule('pool', new AdaptiveAvgPool2d(1));
    this.flatten = this.registerModule('flatten', new Flatten());
    this.head = this.registerModule('head', new Linear(channels, opts.numClasses, { generator: g }));
  }

  /** The side network runs on taps, not on an input image: see logitsFrom(). */
  forward(): Tensor {
    throw new LowbitError('AuxiliaryModule has no image input: call logitsFrom(stemTap, blockTaps)');
  }

  /** Aux logits from the stem tap and the blocks' sums, in forward order. */
  logitsFrom(stemTap: Tensor, blockTaps: Tensor[]): Tensor {
    const adaptors = this.adaptors.children();
    const downsamples = this.downsamples.children();
    if (blockTaps.length !== adaptors.length) {
      throw new LowbitError(`AuxiliaryModule: got ${blockTaps.length} block taps for ${adaptors.length} blocks; was the forward pass recorded?`);
    }
    let h = this.stemAdaptor.call(stemTap);
    blockTaps.forEach((o, b) => {
      h = downsamples[b].call(h).add(adaptors[b].call(o)).relu();
    });
    return this.head.call(this.flatten.call(this.pool.call(h)));
  }
}

/**
 * An auxiliary module attached to an LP ResNet by hooks. While `record` runs a forward pass, the hooks
 * keep the stem output and each block's sum; nothing is recorded otherwise (evaluation, export), so an
 * attached module costs nothing outside training steps. detach() removes every hook.
 */
export class AuxiliaryAttachment {
  private readonly handles: RemovableHandle[] = [];
  private recording = false;
  private stemTap: Tensor | null = null;
  private blockTaps: Tensor[] = [];

  constructor(
    readonly model: Module,
    readonly module: AuxiliaryModule,
    points: ResidualTapPoints,
  ) {
    // Hooks run inside the tapped module's scope: the taps are kept past it and handed to the caller's scope in record().
    this.handles.push(
      points.stem.registerForwardHook((_m, _input, output) => {
        if (this.recording) this.stemTap = keep(output);
      }),
    );
    for (const b of points.blocks) {
      this.handles.push(
        b.sumTap.registerForwardPreHook((_m, input) => {
          if (this.recording) this.blockTaps.push(keep(input));
        }),
      );
    }
  }

  /** Runs the LP forward once and returns its logits with the aux logits computed from its taps. */
  forward(images: Tensor): { logits: Tensor; auxLogits: Tensor } {
    this.recording = true;
    let logits: Tensor;
    try {
      logits = this.model.call(images);
    } finally {
      this.recording = false;
    }
    const stem = this.stemTap;
    const taps = this.blockTaps;
    this.stemTap = null;
    this.blockTaps = [];
    if (stem === null) throw new LowbitError('AuxiliaryAttachment: the stem tap was not reached by the forward pass');
    // The taps now belong to the caller's scope (a training step), which frees them with the step.
    const stemTap = stem === images ? stem : adopt(stem);
    const blockTaps = taps.map((t) => adopt(t));
    return { logits, auxLogits: this.module.logitsFrom(stemTap, blockTaps) };
  }

  /** Removes the hooks; the model is then exactly as it was before attach. */
  detach(): void {
    for (const h of this.handles) h.remove();
    this.handles.length = 0;
  }
}

/** Builds an auxiliary module for `model` (a zoo ResNet) and attaches it. */
export function attachAuxiliaryModule(model: Module, opts: AuxiliaryModuleOptions): AuxiliaryAttachment {
  const points = residualTapPoints(model);
  return new AuxiliaryAttachment(model, new AuxiliaryModule(points, opts), points);
}
