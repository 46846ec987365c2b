/**
 * TAS's two-candidate Gumbel sampling (Dong & Yang 2019 sec. 3.1; SoftSelect.select2withP):
 *
 *   g ~ Gumbel(0, 1) per candidate,  z = (log_softmax(alpha) + g) / tau,  q = softmax(z)
 *   two distinct indices drawn from q without replacement           (not differentiable)
 *   weights = softmax(z[selected])                                    (carries the gradient to alpha)
 *
 * TAS draws the pair with torch.multinomial(q, 2, replacement=False). Here the same distribution is
 * drawn as the two largest of log q + g' with fresh Gumbel noise g' (sampling without replacement by
 * Gumbel-top-k, Kool et al. 2019), in float64 on the log scale, so a very peaked q at small tau cannot
 * underflow into an invalid distribution (TAS resamples in that case).
 */
import { LowbitError } from '../errors.ts';
import { F, fromArray, rand, type Generator, type Tensor } from '../tensor/index.ts';

export interface TwoCandidates {
  /** The two sampled candidate indices, in the order drawn. */
  indices: [number, number];
  /** softmax of the perturbed, tempered logits over the pair: shape [2], differentiable in alpha. */
  weights: Tensor;
}

const gumbel = (u: number) => -Math.log(-Math.log(Math.min(Math.max(u, 1e-12), 1 - 1e-12)));

export function sampleTwo(logits: Tensor, tau: number, generator: Generator): TwoCandidates {
  if (!(tau > 0)) throw new LowbitError(`Gumbel temperature must be > 0, got ${tau}`);
  const k = logits.shape[0];
  if (logits.ndim !== 1 || k < 2) throw new LowbitError(`sampleTwo: need a 1-D logit vector of at least 2 candidates, got [${logits.shape.join(', ')}]`);
  const u = rand([2 * k], { generator, dtype: 'float64' }).toArray();
  const g = u.slice(0, k).map(gumbel);
  const a = logits.toArray();
  const lse = (v: number[]) => {
    const m = Math.max(...v);
    return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
  };
  const logp = a.map((x) => x - lse(a));
  const z = logp.map((x, i) => (x + g[i]) / tau);
  const lseZ = lse(z);
  const keys = z.map((x, i) => x - lseZ + gumbel(u[k + i]));
  const order = keys.map((_, i) => i).sort((i, j) => keys[j] - keys[i]);
  const indices: [number, number] = [order[0], order[1]];
  const noise = fromArray(Float64Array.from(g)).to(logits.dtype);
  const zt = F.logSoftmax(logits, 0).add(noise).div(tau);
  const weights = F.softmax(zt.indexSelect(0, fromArray(BigInt64Array.from(indices.map(BigInt)))), 0);
  return { indices, weights };
}

/** TAS's temperature schedule: cosine from tauMax at epoch 0 down to tauMin at the last epoch. */
export function gumbelTemperature(epoch: number, epochs: number, tauMax: number, tauMin: number): number {
  if (epochs <= 1) return tauMax;
  return tauMin + ((tauMax - tauMin) * (1 + Math.cos((Math.PI * epoch) / (epochs - 1)))) / 2;
}
