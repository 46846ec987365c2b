// layerRoles: first/body/last by registration order, which in every zoo model picks the same first and
// last layer as the forward order; a model that registers its classifier first gets roles by
// registration; a quantizable layer's descendants are not layers of their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { complexity, createModel, MODEL_NAMES, type ModelConfig } from '../../src/models/index.ts';
import { Conv2d, Flatten, Linear, Module, Sequential } from '../../src/nn/index.ts';
import { layerRoles, roleBits } from '../../src/quant/index.ts';
import type { Tensor } from '../../src/tensor/index.ts';

/** Registers the classifier before the convs; runs the convs first. */
class ClassifierFirst extends Module {
  readonly fc: Linear;
  readonly body: Sequential;
  constructor() {
    super();
    this.fc = this.registerModule('fc', new Linear(4 * 4 * 4, 3));
    this.body = this.registerModule('body', new Sequential(new Conv2d(1, 4, 3, { padding: 1 }), new Conv2d(4, 4, 3, { padding: 1 }), new Flatten()));
  }
  forward(x: Tensor): Tensor {
    return this.fc.call(this.body.call(x));
  }
}

describe('layerRoles', () => {
  it('zoo models: the first and last registered layers are the first and last the forward pass runs', () => {
    for (const name of MODEL_NAMES.filter((n) => n !== 'resnet56' && n !== 'resnet18')) {
      const cfg: ModelConfig = { name, inChannels: 1, numClasses: 10, inputSize: [28, 28] };
      const model = createModel(cfg);
      const roles = layerRoles(model);
      const forward = complexity(model, [1, 28, 28]).layers.map((l) => l.name);
      assert.deepEqual(roles.map((r) => r.name).sort(), [...forward].sort(), name);
      assert.deepEqual([roles[0].name, roles.at(-1)!.name], [forward[0], forward.at(-1)], name);
      assert.deepEqual(
        roles.map((r) => r.role),
        roles.map((_, i) => (i === 0 ? 'first' : i === roles.length - 1 ? 'last' : 'body')),
      );
      model.dispose();
    }
    const r20 = layerRoles(createModel({ name: 'resnet20', inChannels: 3, numClasses: 10, inputSize: [32, 32] }));
    assert.equal(r20.length, 22);
    assert.deepEqual([r20[0].name, r20[0].role, r20[21].name, r20[21].role, r20[10].role], ['stem.0', 'first', 'fc', 'last', 'body']);
  });

  it('roles follow registration, not the forward pass; a quantizable layer is not searched inside', () => {
    const m = new ClassifierFirst();
    assert.deepEqual(
      layerRoles(m).map((r) => [r.name, r.role]),
      [
        ['fc', 'first'],
        ['body.0', 'body'],
        ['body.1', 'last'],
      ],
    );
    // Treating the whole body as one layer hides its convs.
    assert.deepEqual(
      layerRoles(m, (x) => x instanceof Linear || x instanceof Sequential).map((r) => r.name),
      ['fc', 'body'],
    );
    assert.deepEqual(layerRoles(new Sequential(new Linear(2, 2))).map((r) => r.role), ['first']);
    assert.deepEqual([roleBits('first', 2, 8), roleBits('body', 2, 8), roleBits('last', 2, 32)], [8, 2, 32]);
  });
});
