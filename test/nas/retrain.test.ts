import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createModel } from '../../src/models/index.ts';
import { distillationLoss } from '../../src/nas/index.ts';
import { Generator, noGrad, randn, scope, tensor } from '../../src/tensor/index.ts';

test('distillation loss is (1 - a) CE + a T^2 KL(teacher || student) at temperature T', () => {
  const cfg = { name: 'mlp', inChannels: 1, numClasses: 3, inputSize: [2, 2] as [number, number], widths: [5] };
  const student = createModel(cfg, { generator: new Generator(1) });
  const teacher = createModel(cfg, { generator: new Generator(2) });
  const a = 0.9;
  const t = 4;
  scope(() => {
    const x = randn([2, 1, 2, 2], { generator: new Generator(3) });
    const y = tensor([2, 0], { dtype: 'int64' });
    const { loss, logits } = distillationLoss({ teacher, alpha: a, temperature: t })(student, x, y);
    const zs = logits.toArray();
    const zt = noGrad(() => teacher.call(x)).toArray();
    const softmax = (z: number[]) => {
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      const s = e.reduce((p, q) => p + q, 0);
      return e.map((v) => v / s);
    };
    let ce = 0;
    let kl = 0;
    for (let n = 0; n < 2; n++) {
      const s = zs.slice(3 * n, 3 * n + 3);
      const tt = zt.slice(3 * n, 3 * n + 3);
      ce -= Math.log(softmax(s)[[2, 0][n]]);
      const ps = softmax(s.map((v) => v / t));
      const pt = softmax(tt.map((v) => v / t));
      kl += pt.reduce((acc, p, i) => acc + p * Math.log(p / ps[i]), 0);
    }
    const want = (1 - a) * (ce / 2) + a * t * t * (kl / 2);
    assert.ok(Math.abs(loss.item() - want) < 1e-5, `${loss.item()} vs ${want}`);
    assert.equal(teacher.training, false);
  });
});
