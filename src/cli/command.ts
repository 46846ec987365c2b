import { parseArgs } from 'node:util';
import { UsageError } from '../errors.ts';
import { bitsProblem, FLOAT_BITS, MAX_BITS, MIN_BITS } from '../quant/index.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  description: string;
  /** Shown in help; also the value when the flag is absent. */
  default?: string | boolean;
  /** Allowed values of a string option. */
  choices?: readonly string[];
  /** Placeholder in help, e.g. N, PATH. */
  metavar?: string;
}

export type ParsedOptions = Record<string, string | boolean | undefined>;

export interface Command {
  name: string;
  summary: string;
  usage: string;
  examples: string[];
  options: Record<string, OptionSpec>;
  /** Positional arguments described in usage; the command checks them. */
  positionals?: boolean;
  run(options: ParsedOptions, positionals: string[]): Promise<void> | void;
}

/** Flags every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
  json: { type: 'boolean', description: 'print the result as JSON on stdout (progress stays on stderr)' },
  threads: { type: 'string', metavar: 'N', description: 'compute threads (default: all cores, or LOWBIT_THREADS)' },
};

export function helpText(cmd: Command): string {
  const opts = { ...cmd.options, ...COMMON_OPTIONS };
  const rows = Object.entries(opts).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.metavar ?? 'VALUE'}` : ''}`;
    const extra = [o.choices ? `one of: ${o.choices.join(', ')}` : '', o.default !== undefined && o.default !== false ? `default: ${o.default}` : '']
      .filter(Boolean)
      .join('; ');
    return [flag, `${o.description}${extra ? ` (${extra})` : ''}`];
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return [
    `lowbit ${cmd.name}: ${cmd.summary}`,
    '',
    `Usage: ${cmd.usage}`,
    '',
    'Options:',
    ...rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`),
    '',
    'Examples:',
    ...cmd.examples.map((e) => `  ${e}`),
    '',
  ].join('\n');
}

export function parseCommandArgs(cmd: Command, argv: string[]): { options: ParsedOptions; positionals: string[] } {
  const specs = { ...cmd.options, ...COMMON_OPTIONS };
  const parseOptions: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, o] of Object.entries(specs)) parseOptions[name] = { type: o.type, ...(o.short ? { short: o.short } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: parseOptions, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.replace(/\. To specify.*$/, '');
    const unknown = /^Unknown option '--([^'=]+)'/.exec(message)?.[1];
    const guess = unknown === undefined ? undefined : closestName(unknown, Object.keys(specs));
    throw new UsageError(`${message}${guess ? ` (did you mean --${guess}?)` : ''}. See 'lowbit ${cmd.name} --help'.`);
  }
  const options: ParsedOptions = {};
  EXPLICIT.set(options, new Set(Object.keys(parsed.values)));
  for (const [name, o] of Object.entries(specs)) {
    const v = (parsed.values as ParsedOptions)[name] ?? o.default;
    if (o.choices && typeof v === 'string' && !o.choices.includes(v)) {
      throw new UsageError(`--${name} ${v}: expected one of ${o.choices.join(', ')}`);
    }
    options[name] = v;
  }
  if (!cmd.positionals && parsed.positionals.length > 0) {
    throw new UsageError(`unexpected argument '${parsed.positionals[0]}'. See 'lowbit ${cmd.name} --help'.`);
  }
  return { options, positionals: parsed.positionals };
}

const EXPLICIT = new WeakMap<ParsedOptions, ReadonlySet<string>>();

/** The flags given on the command line (the others hold their defaults). */
export function explicitFlags(o: ParsedOptions): ReadonlySet<string> {
  return EXPLICIT.get(o) ?? new Set(Object.keys(o).filter((k) => o[k] !== undefined));
}

/** Marks `o` (a copy of parsed options) as having the explicit flags `flags`. */
export function withExplicitFlags(o: ParsedOptions, flags: ReadonlySet<string>): ParsedOptions {
  EXPLICIT.set(o, flags);
  return o;
}

/** The known name nearest to a mistyped one (edit distance <= 2, or a prefix), for "did you mean". */
export function closestName(name: string, known: string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0];
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = d[j];
        d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return d[b.length];
  };
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const d = k.startsWith(name) || name.startsWith(k) ? Math.min(1, distance(name, k)) : distance(name, k);
    if (d <= Math.max(1, Math.min(2, Math.floor(k.length / 3))) && (best === undefined || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

/** Typed accessors that turn a bad flag value into a usage error naming the flag. */
export function intOption(o: ParsedOptions, name: string, min = 0): number {
  const raw = o[name];
  const v = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(v) || v < min) throw new UsageError(`--${name} ${raw ?? ''}: expected an integer >= ${min}`);
  return v;
}
export function numberOption(o: ParsedOptions, name: string, min = -Infinity): number {
  const raw = o[name];
  const v = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(v) || v < min) throw new UsageError(`--${name} ${raw ?? ''}: expected a number >= ${min}`);
  return v;
}
export function stringOption(o: ParsedOptions, name: string): string {
  const v = o[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required. See --help.`);
  return v;
}
export function optionalInt(o: ParsedOptions, name: string, min = 0): number | undefined {
  return o[name] === undefined ? undefined : intOption(o, name, min);
}

/**
 * A bit-width flag (--wbits, --abits, --first-last-bits), checked against the integer grids lowbit
 * supports (src/quant/int-grid.ts); allowFloat also accepts FLOAT_BITS (32), "keep floating point".
 */
export function bitsOption(o: ParsedOptions, name: string, opts: { allowFloat?: boolean } = {}): number {
  const raw = o[name];
  const bits = Number(raw);
  if (typeof raw === 'string' && raw.trim() !== '' && bitsProblem(bits, opts) === null) return bits;
  throw new UsageError(`--${name} ${raw ?? ''}: choose ${MIN_BITS} to ${MAX_BITS} bits${opts.allowFloat ? ` (or ${FLOAT_BITS} to keep floating point)` : ''}`);
}
