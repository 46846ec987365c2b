/** Quantizer modules from the plain specs of a QuantConfig. */
import { DorefaActQuantizer, DorefaWeightQuantizer } from './dorefa.ts';
import { FixedGridQuantizer } from './fixed-grid.ts';
import { intGrid, referenceGrid } from './int-grid.ts';
import { LsqQuantizer } from './lsq.ts';
import { PactQuantizer } from './pact.ts';
import { validateActSpec, validateWeightSpec, type ActQuantSpec, type WeightQuantSpec } from './quant-config.ts';
import type { Quantizer } from './quantizer.ts';
import { SawbQuantizer } from './sawb.ts';
import { UniformQuantizer } from './uniform-quantizer.ts';

/** A weight quantizer; `channels` (the layer's output channels) sizes per-channel scales. */
export function createWeightQuantizer(spec: WeightQuantSpec, channels: number): Quantizer {
  const s = validateWeightSpec(spec);
  const perChannel = s.perChannel === true ? { channels } : {};
  switch (s.kind) {
    case 'uniform':
      return new UniformQuantizer({ bits: s.bits, signed: true, ...perChannel, range: s.range, percentile: s.percentile, mseGrid: s.mseGrid });
    case 'lsq':
      return new LsqQuantizer({ bits: s.bits, role: 'weight', ...perChannel });
    case 'sawb':
      return new SawbQuantizer({ bits: s.bits });
    case 'dorefa':
      return new DorefaWeightQuantizer({ bits: s.bits });
    case 'fixed': {
      // The codes of GPFQ's alphabet conventions (src/ptq/alphabet.ts): b-bit two's complement, or the reference's 2^b + 1 levels.
      const { qMin, qMax } = s.grid === 'reference' ? referenceGrid(s.bits) : intGrid({ bits: s.bits, signed: true });
      return new FixedGridQuantizer({ bits: s.bits, qMin, qMax, ...perChannel });
    }
  }
}

/** An activation quantizer (unsigned grid, for the non-negative output of a ReLU). */
export function createActQuantizer(spec: ActQuantSpec): Quantizer {
  const s = validateActSpec(spec);
  switch (s.kind) {
    case 'uniform':
      return new UniformQuantizer({
        bits: s.bits,
        signed: false,
        running: true,
        range: s.range,
        percentile: s.percentile,
        mseGrid: s.mseGrid,
        momentum: s.momentum,
      });
    case 'pact':
      return new PactQuantizer({ bits: s.bits, alphaInit: s.alphaInit });
    case 'lsq':
      return new LsqQuantizer({ bits: s.bits, role: 'activation' });
    case 'dorefa':
      return new DorefaActQuantizer({ bits: s.bits });
  }
}
