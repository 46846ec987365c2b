/**
 * The quantization config: plain, serializable data saying which quantizer and bit width every layer
 * gets. Validated here at the edge (quantizeModel calls validateQuantConfig), trusted inside.
 *
 *   { weight: { kind: 'sawb', bits: 2 },
 *     act: { kind: 'pact', bits: 2 },
 *     firstLast: { bits: 8 },                         // default; 'float' leaves them unquantized
 *     overrides: { 'layers.0.conv1': { weight: { bits: 4 } } } }
 *
 * A layer's activation spec quantizes that layer's input (see quantize-model.ts).
 */
import { LowbitError } from '../errors.ts';
import { checkBits } from './int-grid.ts';
import { RANGE_METHODS, type RangeMethod } from './range-estimators.ts';
import { SAWB_BITS } from './sawb.ts';

/** 'fixed': a frozen grid from post-training quantization (its steps come from the state dict). */
export type WeightQuantKind = 'uniform' | 'lsq' | 'sawb' | 'dorefa' | 'fixed';
export type ActQuantKind = 'uniform' | 'pact' | 'lsq' | 'dorefa';
export const WEIGHT_QUANT_KINDS: readonly WeightQuantKind[] = ['uniform', 'lsq', 'sawb', 'dorefa', 'fixed'];
/** The weight quantizers that set their own grid (what fake-quant training chooses from). */
export const TRAINABLE_WEIGHT_QUANT_KINDS: readonly WeightQuantKind[] = ['uniform', 'lsq', 'sawb', 'dorefa'];
export const ACT_QUANT_KINDS: readonly ActQuantKind[] = ['uniform', 'pact', 'lsq', 'dorefa'];

export interface WeightQuantSpec {
  kind: WeightQuantKind;
  bits: number;
  /** uniform, lsq, fixed: one scale per output channel. Default false. */
  perChannel?: boolean;
  /**
   * fixed: the integer code range. 'signed' (default): b-bit two's complement; 'reference': GPFQ's
   * 2^b + 1 levels [-2^(b-1), 2^(b-1)] (see src/ptq/alphabet.ts).
   */
  grid?: 'signed' | 'reference';
  /** uniform: how the clip range is chosen. Default 'minmax'. */
  range?: RangeMethod;
  /** uniform with range 'percentile': the quantile of |w|, in (0, 1]. */
  percentile?: number;
  /** uniform with range 'mse': number of candidate ranges. */
  mseGrid?: number;
}

export interface ActQuantSpec {
  kind: ActQuantKind;
  bits: number;
  /** uniform: how the clip range of each batch is chosen. Default 'minmax'. */
  range?: RangeMethod;
  percentile?: number;
  mseGrid?: number;
  /** uniform: weight of a new batch in the running range. Default 0.1. */
  momentum?: number;
  /** pact: initial clip level alpha. Default 1.0. */
  alphaInit?: number;
}

export interface FirstLastSpec {
  /** Bit width of the first and the last layer (weights, and the last layer's input). */
  bits: number;
  /** Changes to the body's weight spec for these two layers (e.g. another kind). */
  weight?: Partial<WeightQuantSpec>;
  /** Changes to the body's activation spec for these two layers. */
  act?: Partial<ActQuantSpec>;
  /**
   * Quantize the first layer's input, i.e. the network input, too. Default false: it is the data
   * (8-bit pixels, signed after normalization), which an unsigned activation grid would clip.
   */
  quantizeInput?: boolean;
}

export interface LayerOverride {
  /** Leave this layer in floating point. */
  float?: boolean;
  weight?: Partial<WeightQuantSpec>;
  /** Changes to the activation spec of this layer's input; null: leave its input unquantized. */
  act?: Partial<ActQuantSpec> | null;
}

export interface QuantConfig {
  weight: WeightQuantSpec;
  /** Activation quantization of every quantized layer's input; null: weights only. */
  act: ActQuantSpec | null;
  /** Default { bits: 8 }. 'float' keeps the first and last layer in floating point (DoReFa's convention). */
  firstLast?: FirstLastSpec | 'float';
  /** By layer name as in namedModules() ('layers.0.conv1', 'fc'). */
  overrides?: Record<string, LayerOverride>;
}

export const DEFAULT_FIRST_LAST: FirstLastSpec = { bits: 8 };

/** What one layer gets; null weight means the layer stays in floating point. */
export interface LayerQuantSpec {
  weight: WeightQuantSpec;
  act: ActQuantSpec | null;
}

export type LayerRole = 'first' | 'body' | 'last';

const WEIGHT_FIELDS: Record<WeightQuantKind, readonly string[]> = {
  uniform: ['perChannel', 'range', 'percentile', 'mseGrid'],
  lsq: ['perChannel'],
  sawb: [],
  dorefa: [],
  fixed: ['perChannel', 'grid'],
};
const ACT_FIELDS: Record<ActQuantKind, readonly string[]> = {
  uniform: ['range', 'percentile', 'mseGrid', 'momentum'],
  pact: ['alphaInit'],
  lsq: [],
  dorefa: [],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkCommon(spec: unknown, kinds: readonly string[], fields: Record<string, readonly string[]>, where: string): Record<string, unknown> {
  if (!isObject(spec)) throw new LowbitError(`${where}: expected an object like { kind: '${kinds[0]}', bits: 4 }, got ${JSON.stringify(spec)}`);
  const kind = spec.kind;
  if (typeof kind !== 'string' || !kinds.includes(kind)) {
    throw new LowbitError(`${where}.kind: '${String(kind)}' is not a quantizer for this role; choose one of ${kinds.join(', ')}`);
  }
  const bits = spec.bits;
  if (typeof bits !== 'number') throw new LowbitError(`${where}.bits: must be a number of bits, got ${JSON.stringify(bits)}`);
  checkBits(bits, `${where}.bits`);
  const allowed = fields[kind];
  for (const key of Object.keys(spec)) {
    if (key === 'kind' || key === 'bits' || spec[key] === undefined) continue;
    if (!allowed.includes(key)) {
      throw new LowbitError(
        `${where}.${key}: does not apply to kind '${kind}' (it takes ${allowed.length ? allowed.join(', ') : 'only kind and bits'})`,
      );
    }
  }
  if (spec.range !== undefined && !RANGE_METHODS.includes(spec.range as RangeMethod)) {
    throw new LowbitError(`${where}.range: '${String(spec.range)}' is not one of ${RANGE_METHODS.join(', ')}`);
  }
  if (spec.percentile !== undefined && !(typeof spec.percentile === 'number' && spec.percentile > 0 && spec.percentile <= 1)) {
    throw new LowbitError(`${where}.percentile: must be a number in (0, 1], got ${JSON.stringify(spec.percentile)}`);
  }
  if (spec.mseGrid !== undefined && !(typeof spec.mseGrid === 'number' && Number.isInteger(spec.mseGrid) && spec.mseGrid >= 1)) {
    throw new LowbitError(`${where}.mseGrid: must be a positive integer, got ${JSON.stringify(spec.mseGrid)}`);
  }
  return spec;
}

export function validateWeightSpec(spec: unknown, where = 'weight'): WeightQuantSpec {
  const s = checkCommon(spec, WEIGHT_QUANT_KINDS, WEIGHT_FIELDS, where);
  if (s.kind === 'sawb' && !SAWB_BITS.includes(s.bits as number)) {
    throw new LowbitError(`${where}.bits: SAWB coefficients exist for ${SAWB_BITS.join(', ')} bits only, got ${String(s.bits)}`);
  }
  if (s.perChannel !== undefined && typeof s.perChannel !== 'boolean') throw new LowbitError(`${where}.perChannel: must be true or false`);
  if (s.grid !== undefined && s.grid !== 'signed' && s.grid !== 'reference') throw new LowbitError(`${where}.grid: must be 'signed' or 'reference', got ${JSON.stringify(s.grid)}`);
  return s as unknown as WeightQuantSpec;
}

export function validateActSpec(spec: unknown, where = 'act'): ActQuantSpec {
  const s = checkCommon(spec, ACT_QUANT_KINDS, ACT_FIELDS, where);
  if (s.momentum !== undefined && !(typeof s.momentum === 'number' && s.momentum > 0 && s.momentum <= 1)) {
    throw new LowbitError(`${where}.momentum: must be a number in (0, 1], got ${JSON.stringify(s.momentum)}`);
  }
  if (s.alphaInit !== undefined && !(typeof s.alphaInit === 'number' && s.alphaInit > 0 && Number.isFinite(s.alphaInit))) {
    throw new LowbitError(`${where}.alphaInit: must be a positive number, got ${JSON.stringify(s.alphaInit)}`);
  }
  return s as unknown as ActQuantSpec;
}

/**
 * Checks the config's shape and every spec that can be checked before knowing the model; the
 * per-layer specs (after firstLast and overrides are merged in) are checked again by layerQuantSpec.
 */
export function validateQuantConfig(config: unknown): QuantConfig {
  if (!isObject(config)) throw new LowbitError(`quant config: expected an object { weight, act, firstLast?, overrides? }, got ${JSON.stringify(config)}`);
  for (const key of Object.keys(config)) {
    if (!['weight', 'act', 'firstLast', 'overrides'].includes(key)) {
      throw new LowbitError(`quant config: unknown key '${key}' (expected weight, act, firstLast, overrides)`);
    }
  }
  validateWeightSpec(config.weight, 'weight');
  if (config.act === undefined) throw new LowbitError("quant config: 'act' is required (an activation spec, or null for weight-only quantization)");
  if (config.act !== null) validateActSpec(config.act, 'act');
  const fl = config.firstLast;
  if (fl !== undefined && fl !== 'float') {
    if (!isObject(fl)) throw new LowbitError(`firstLast: expected { bits: 8 } or 'float', got ${JSON.stringify(fl)}`);
    for (const key of Object.keys(fl)) {
      if (!['bits', 'weight', 'act', 'quantizeInput'].includes(key)) throw new LowbitError(`firstLast: unknown key '${key}' (expected bits, weight, act, quantizeInput)`);
    }
    if (fl.weight !== undefined && !isObject(fl.weight)) throw new LowbitError('firstLast.weight: expected an object (changes to the weight spec)');
    if (fl.act !== undefined && !isObject(fl.act)) throw new LowbitError('firstLast.act: expected an object (changes to the activation spec)');
    if (fl.quantizeInput !== undefined && typeof fl.quantizeInput !== 'boolean') throw new LowbitError('firstLast.quantizeInput: must be true or false');
    const cfg = config as unknown as QuantConfig;
    validateWeightSpec(mergeSpec(cfg.weight, { bits: fl.bits as number, ...(fl.weight as object) }), 'firstLast.weight');
    if (cfg.act !== null) validateActSpec(mergeSpec(cfg.act, { bits: fl.bits as number, ...(fl.act as object) }), 'firstLast.act');
  }
  if (config.overrides !== undefined) {
    if (!isObject(config.overrides)) throw new LowbitError('overrides: expected an object keyed by layer name');
    for (const [name, o] of Object.entries(config.overrides)) {
      if (!isObject(o)) throw new LowbitError(`overrides['${name}']: expected { float?, weight?, act? }`);
      for (const key of Object.keys(o)) {
        if (!['float', 'weight', 'act'].includes(key)) throw new LowbitError(`overrides['${name}']: unknown key '${key}' (expected float, weight, act)`);
      }
      if (o.float !== undefined && typeof o.float !== 'boolean') throw new LowbitError(`overrides['${name}'].float: must be true or false`);
    }
  }
  return config as unknown as QuantConfig;
}

/**
 * base with changes applied. Changing the kind starts from the base's bits only, so options of the
 * old kind do not leak into the new one.
 */
export function mergeSpec<S extends { kind: string; bits: number }>(base: S, changes: Partial<S> | undefined): S {
  if (changes === undefined) return { ...base };
  if (changes.kind !== undefined && changes.kind !== base.kind) return { bits: base.bits, ...changes } as S;
  return { ...base, ...changes };
}

/** The spec of one layer from its role and name; null when it stays in floating point. */
export function layerQuantSpec(config: QuantConfig, name: string, role: LayerRole): LayerQuantSpec | null {
  const fl = config.firstLast ?? DEFAULT_FIRST_LAST;
  let spec: LayerQuantSpec | null;
  if (role === 'body') {
    spec = { weight: { ...config.weight }, act: config.act ? { ...config.act } : null };
  } else if (fl === 'float') {
    spec = null;
  } else {
    const weight = mergeSpec(config.weight, { bits: fl.bits, ...fl.weight });
    const quantizeAct = config.act !== null && (role === 'last' || fl.quantizeInput === true);
    const act = quantizeAct ? mergeSpec(config.act!, { bits: fl.bits, ...fl.act }) : null;
    spec = { weight, act };
  }
  const o = config.overrides?.[name];
  if (o !== undefined) {
    if (o.float === true) return null;
    const base = spec ?? { weight: { ...config.weight }, act: null };
    let act: ActQuantSpec | null = base.act;
    if (o.act === null) act = null;
    else if (o.act !== undefined) act = base.act ? mergeSpec(base.act, o.act) : (o.act as ActQuantSpec);
    spec = { weight: mergeSpec(base.weight, o.weight), act };
  }
  if (spec === null) return null;
  const where = o !== undefined ? `overrides['${name}']` : role === 'body' ? '' : 'firstLast';
  return {
    weight: validateWeightSpec(spec.weight, where ? `${where}.weight` : 'weight'),
    act: spec.act === null ? null : validateActSpec(spec.act, where ? `${where}.act` : 'act'),
  };
}
