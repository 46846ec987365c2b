// The quantization converter registry: a Conv2d subclass without a converter is refused by name (the
// model left as it was); with one, quantizeModel builds what it says, the mixin's quantizers computing
// exactly what QuantConv2d does; a layer kind that is no Conv2d/Linear takes part once registered.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LowbitError } from '../../src/errors.ts';
import { Conv2d, type Conv2dOptions, Flatten, Linear, Module, ReLU, Sequential } from '../../src/nn/index.ts';
import {
  createLayerQuantizers,
  isQuantizableLayer,
  PactQuantizer,
  QuantConv2d,
  quantizeModel,
  registerQuantConverter,
  SawbQuantizer,
  WithLayerQuantizers,
  type LayerQuantSpec,
  type QuantConfig,
  type QuantConvertContext,
  type QuantLayerOptions,
} from '../../src/quant/index.ts';
import { Generator, noGrad, ones, randn, scope, type Tensor } from '../../src/tensor/index.ts';

/** A conv with a per-output-channel mask, as a channel search uses: what a plain QuantConv2d would drop. */
class MaskedConv extends Conv2d {
  readonly mask: Tensor;
  constructor(inC: number, outC: number, k: number, opts: Conv2dOptions = {}) {
    super(inC, outC, k, opts);
    this.mask = this.registerBuffer('mask', ones([1, outC, 1, 1]));
  }
  override forward(x: Tensor): Tensor {
    return super.forward(x).mul(this.mask);
  }
}

class QuantMaskedConv extends WithLayerQuantizers(MaskedConv) {
  constructor(inC: number, outC: number, k: number, opts: Conv2dOptions & QuantLayerOptions) {
    super(inC, outC, k, opts);
    this.attachQuantizers(opts);
  }
  override forward(x: Tensor): Tensor {
    return this.convolve(this.quantizeInput(x), this.quantizeWeight()).mul(this.mask);
  }
}

const CONFIG: QuantConfig = { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 } };

function net(g: Generator): Sequential {
  return new Sequential(
    new Conv2d(2, 4, 3, { padding: 1, generator: g }),
    new ReLU(),
    new MaskedConv(4, 4, 3, { padding: 1, bias: false, generator: g }),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 5 * 5, 3, { generator: g }),
  );
}

describe('quantization converters', () => {
  it('a Conv2d subclass without a converter is refused by name, and nothing is converted', () => {
    const m = net(new Generator(1));
    assert.ok(isQuantizableLayer(m.at(2)));
    assert.throws(
      () => quantizeModel(m, CONFIG),
      (e: unknown) => e instanceof LowbitError && /'2' is a MaskedConv, a subclass of Conv2d/.test(e.message) && /registerQuantConverter\(MaskedConv/.test(e.message),
    );
    assert.ok(m.modules().every((x) => !(x instanceof QuantConv2d)), 'no layer was converted');
  });

  it('a registered converter builds the layer; its quantizers compute what QuantConv2d computes, times the mask', () => {
    const seen: [string, LayerQuantSpec, QuantConvertContext][] = [];
    const handle = registerQuantConverter(MaskedConv, (conv, spec, ctx) => {
      seen.push([conv.constructor.name, spec, ctx]);
      const q = new QuantMaskedConv(conv.inChannels, conv.outChannels, conv.kernelSize[0], { padding: conv.padding, bias: false, ...createLayerQuantizers(spec, conv.outChannels) });
      noGrad(() => {
        q.weight.copy_(conv.weight);
        q.mask.copy_(conv.mask);
      });
      return q;
    });
    try {
      assert.throws(() => registerQuantConverter(MaskedConv, () => new ReLU()), /already has a quantization converter/);
      const g = new Generator(2);
      const m = net(g);
      const masked = m.at(2) as MaskedConv;
      noGrad(() => masked.mask.copy_(randn([1, 4, 1, 1], { generator: g }).gt(0).to('float32')));
      const reference = QuantConv2d.fromFloat(masked, new SawbQuantizer({ bits: 2 }), new PactQuantizer({ bits: 2 }));
      const plan = quantizeModel(m, CONFIG);
      assert.deepEqual(
        plan.map((l) => [l.name, l.type, l.role, l.weight?.bits]),
        [
          ['0', 'conv2d', 'first', 8],
          ['2', 'conv2d', 'body', 2],
          ['5', 'linear', 'last', 8],
        ],
      );
      assert.deepEqual(seen, [['MaskedConv', { weight: { kind: 'sawb', bits: 2 }, act: { kind: 'pact', bits: 2 } }, { name: '2', role: 'body' }]]);
      const q = m.at(2) as QuantMaskedConv;
      assert.ok(q instanceof QuantMaskedConv && q.weightQuantizer instanceof SawbQuantizer && q.inputQuantizer instanceof PactQuantizer);
      // SAWB learns nothing; PACT's alpha sits under the layer, as for QuantConv2d.
      assert.deepEqual([...q.stateDict().keys()], ['weight', 'mask', 'inputQuantizer.alpha']);
      assert.equal(q.describe().startsWith('QuantConv2d(4 -> 4'), true);
      scope(() => {
        const x = randn([2, 4, 5, 5], { generator: g }).relu();
        const expected = noGrad(() => reference.call(x).mul(masked.mask)).toFloat32Array();
        assert.deepEqual(Array.from(noGrad(() => q.call(x)).toFloat32Array()), Array.from(expected));
        const codes = q.quantizedWeight();
        assert.deepEqual([codes.bits, codes.codeStep], [2, 2]);
      });
    } finally {
      handle.remove();
    }
    assert.throws(() => quantizeModel(net(new Generator(3)), CONFIG), /no quantization converter/);
  });

  it('a layer kind that is no Conv2d or Linear is a layer once it has a converter, with a role of its own', () => {
    /** y = x * w per feature. */
    class Scale extends Module {
      weight: Tensor;
      constructor(n: number) {
        super();
        this.weight = this.registerParameter('weight', ones([n]));
      }
      forward(x: Tensor): Tensor {
        return x.mul(this.weight);
      }
    }
    class QuantScale extends WithLayerQuantizers(Scale) {
      constructor(n: number, opts: QuantLayerOptions) {
        super(n);
        this.attachQuantizers(opts);
      }
      override forward(x: Tensor): Tensor {
        return this.quantizeInput(x).mul(this.quantizeWeight());
      }
    }
    const m = new Sequential(new Linear(3, 3), new ReLU(), new Scale(3), new Linear(3, 2));
    assert.equal(isQuantizableLayer(m.at(2)), false);
    const handle = registerQuantConverter(Scale, (layer, spec) => new QuantScale(layer.weight.shape[0], createLayerQuantizers(spec, layer.weight.shape[0])));
    try {
      const plan = quantizeModel(m, { weight: { kind: 'uniform', bits: 4 }, act: null });
      assert.deepEqual(
        plan.map((l) => [l.name, l.type, l.role]),
        [
          ['0', 'linear', 'first'],
          ['2', 'Scale', 'body'],
          ['3', 'linear', 'last'],
        ],
      );
      assert.ok(m.at(2) instanceof QuantScale);
      assert.equal((m.at(2) as QuantScale).weightQuantizer.bits, 4);
    } finally {
      handle.remove();
    }
  });
});
