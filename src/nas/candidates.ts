/**
 * Width candidates of a searchable layer and their growth (NCE's channel expansion).
 *
 * TAS (Dong & Yang 2019; SoftSelect.get_width_choices) offers the ratios 0.3, 0.4, ..., 1.0 of the
 * layer's width, floored. NCE (Park et al. 2022) makes the largest candidate grow when the layer
 * prefers it; here the ratios apply to a per-layer current maximum M_l, which moves along a fixed
 * ladder of levels C_l = M^0 < M^1 < ... <= E * C_l (see docs/nce-implementation.md).
 */
import { LowbitError } from '../errors.ts';

/** TAS's width ratios. */
export const TAS_RATIOS: readonly number[] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/**
 * Candidate widths for a current maximum: floor(r * max) per ratio, at least 1, ascending. One entry per
 * ratio even when two floor to the same width (only below 10 channels), so every layer has the same
 * number of logits at every level; TAS removes such duplicates, which changes nothing for widths >= 10.
 */
export function candidateWidths(max: number, ratios: readonly number[] = TAS_RATIOS): number[] {
  // The small epsilon keeps 0.3 * 10 = 2.9999999999999996 at 3, as the ratio means.
  return ratios.map((r) => Math.max(1, Math.floor(r * max + 1e-9)));
}

/**
 * The ladder of maxima a layer of original width `original` can reach: original, then
 * M <- min(cap, max(M + 1, round(M * growth))) until the cap floor(E * original). With expansion off
 * (limit 1) the ladder is [original] and the search is TAS's.
 */
export function widthLevels(original: number, expansionLimit: number, growth: number): number[] {
  if (!(expansionLimit >= 1)) throw new LowbitError(`expansion limit must be >= 1, got ${expansionLimit}`);
  if (!(growth > 1)) throw new LowbitError(`expansion growth factor must be > 1, got ${growth}`);
  const cap = Math.floor(expansionLimit * original);
  const levels = [original];
  let m = original;
  while (m < cap) {
    m = Math.min(cap, Math.max(m + 1, Math.round(m * growth)));
    levels.push(m);
  }
  return levels;
}

/**
 * How the logits of a layer move when its candidate widths change from `oldWidths` to `newWidths`
 * (both ascending): new candidate k inherits the logit of the old candidate nearest in width (ties to
 * the smaller) minus log(n), n being how many new candidates inherit from that old one. So an old
 * candidate's probability mass is shared among its heirs rather than copied to each: just after an
 * expansion the layer's distribution over widths (and its expected cost) is about where it was, and the
 * new largest candidate must earn its own probability before the layer can expand again. Old candidates
 * without heirs (the narrowest, when the range moves up) give their mass back to the rest through the
 * softmax normalization.
 */
export function remapLogits(oldLogits: readonly number[], oldWidths: readonly number[], newWidths: readonly number[]): { logits: number[]; source: number[] } {
  const source = newWidths.map((w) => {
    let best = 0;
    for (let j = 1; j < oldWidths.length; j++) if (Math.abs(oldWidths[j] - w) < Math.abs(oldWidths[best] - w)) best = j;
    return best;
  });
  const heirs = new Map<number, number>();
  for (const j of source) heirs.set(j, (heirs.get(j) ?? 0) + 1);
  return { logits: source.map((j) => oldLogits[j] - Math.log(heirs.get(j)!)), source };
}
