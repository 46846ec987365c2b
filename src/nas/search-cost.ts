/**
 * The search's cost model and its FLOPs/params losses.
 *
 * Expected cost (TAS sec. 3.3, NCE's L_flop and L_param): with p_l = softmax(alpha_l) over the
 * candidate widths w_l of layer l, every conv term costs coefficient * E[C_in] * E[C_out] (cost.ts),
 * E[C] = sum_k p_k w_k. An option-B shortcut of a stride-1 block exists in the derived network only
 * when its input and output widths differ, so its expected cost is
 *   E[C_in C_out 1{C_in != C_out}] = E[C_in] E[C_out] - sum_{i,j: w_i = v_j} p_i q_j w_i v_j
 * (and likewise for its BN parameters), still differentiable in both logit vectors.
 *
 * Loss (TAS search_main_v2; NCE adds the params term): with the cost of the current argmax network
 * `current`, the budget need = ratio * reference and the tolerance tol = tolerance * reference,
 *   L = -log(E[cost] / reference)  if current < need - tol   (too small: push the widths up)
 *   L = +log(E[cost] / reference)  if current > need          (too big: push them down)
 *   L = 0                          otherwise.
 * TAS takes the log of E[FLOPs] in MFLOPs; dividing by the reference only shifts the loss by a constant
 * and leaves its gradient as it is. The reference is the ORIGINAL network's cost (NCE), not the
 * supernet's maximum (TAS).
 */
import { F, fromArray, noGrad, scalar, scope, type Tensor } from '../tensor/index.ts';
import { layerCost } from './cost.ts';
import type { CostTerm, Supernet } from './supernet-base.ts';

export interface Cost {
  macs: number;
  params: number;
}

/** Cost of the network with these widths (one per searchable conv): what complexity() of the derived model gives. */
export function costAtWidths(terms: readonly CostTerm[], widths: readonly number[]): Cost {
  let macs = 0;
  let params = 0;
  for (const t of terms) {
    const cIn = 'layer' in t.input ? widths[t.input.layer] : t.input.fixed;
    const cOut = 'layer' in t.output ? widths[t.output.layer] : t.output.fixed;
    if (t.when === 'differ' && cIn === cOut) continue;
    const c = layerCost(t.coefficients, cIn, cOut);
    macs += c.macs;
    params += c.params;
  }
  return { macs, params };
}

export interface WidthDistribution {
  /** Probabilities over the candidates, [K]; a tensor so the cost is differentiable in the logits. */
  probs: Tensor;
  widths: number[];
}

/** Expected MACs and params under independent per-layer width distributions, as differentiable scalars. */
export function expectedCost(terms: readonly CostTerm[], dists: readonly WidthDistribution[]): { macs: Tensor; params: Tensor } {
  const mean = dists.map((d) => d.probs.dot(fromArray(Float32Array.from(d.widths)).to(d.probs.dtype)));
  let macs: Tensor = scalar(0);
  let params: Tensor = scalar(0);
  for (const t of terms) {
    const eIn: Tensor | number = 'layer' in t.input ? mean[t.input.layer] : t.input.fixed;
    const eOut: Tensor | number = 'layer' in t.output ? mean[t.output.layer] : t.output.fixed;
    let pair = typeof eIn === 'number' ? (eOut as Tensor).mul(eIn) : eIn.mul(eOut);
    let outs = typeof eOut === 'number' ? scalar(eOut) : eOut;
    if (t.when === 'differ' && 'layer' in t.input && 'layer' in t.output) {
      // Subtract the expectation over the equal-width pairs, where the derived network has no shortcut.
      const a = dists[t.input.layer];
      const b = dists[t.output.layer];
      const same = (f: (w: number) => number) =>
        fromArray(Float32Array.from(a.widths.flatMap((wi) => b.widths.map((vj) => (wi === vj ? f(vj) : 0)))), [a.widths.length, b.widths.length]).to(a.probs.dtype);
      const pq = a.probs.unsqueeze(1).mul(b.probs.unsqueeze(0));
      pair = pair.sub(pq.mul(same((v) => v * v)).sum());
      outs = outs.sub(pq.mul(same((v) => v)).sum());
    }
    const c = t.coefficients;
    macs = macs.add(pair.mul(c.macsPerChannelPair));
    params = params.add(pair.mul(c.paramsPerChannelPair)).add(outs.mul(c.paramsPerOutChannel));
  }
  return { macs, params };
}

/** The network's width distributions from its logits (plain softmax, no Gumbel noise, as TAS). */
export function widthDistributions(net: Supernet): WidthDistribution[] {
  return net.layers.map((l) => ({ probs: F.softmax(l.widthLogits, 0), widths: l.candidates() }));
}

export interface BudgetSpec {
  /** Target cost as a fraction of the original network's (default 1.0). */
  ratio: number;
  /** Dead band below the target, as a fraction of the original (TAS: 0.05). */
  tolerance: number;
}

export type BudgetSide = 'under' | 'within' | 'over';

/** Which branch of TAS's rule applies for the argmax network's cost `current`. */
export function budgetSide(current: number, reference: number, budget: BudgetSpec): BudgetSide {
  const need = budget.ratio * reference;
  if (current < need - budget.tolerance * reference) return 'under';
  if (current > need) return 'over';
  return 'within';
}

/** TAS's FLOP loss (above), for MACs or params; null in the dead band. */
export function budgetLoss(expected: Tensor, current: number, reference: number, budget: BudgetSpec): { loss: Tensor | null; side: BudgetSide } {
  const side = budgetSide(current, reference, budget);
  if (side === 'within') return { loss: null, side };
  const logRatio = expected.div(reference).log();
  return { loss: side === 'over' ? logRatio : logRatio.neg(), side };
}

/** Expected cost as plain numbers (for progress lines). */
export function expectedCostValues(net: Supernet): Cost {
  return scope(() =>
    noGrad(() => {
      const e = expectedCost(net.costTerms, widthDistributions(net));
      return { macs: e.macs.item(), params: e.params.item() };
    }),
  );
}
