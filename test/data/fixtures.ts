// Small IDX and CIFAR-10 files written byte by byte, following the format descriptions rather than
// lowbit's reader, so that the reader is checked against the format and not against itself.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** IDX bytes: big-endian uint32 magic, big-endian uint32 sizes, then the data. */
export function idxBytes(magic: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

/** Deterministic pseudo-random bytes (a small LCG), so fixtures are not all zeros or ramps. */
export function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

export interface IdxSplit {
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** Writes <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte (with .gz when gzip) into dir. */
export function writeIdxSplit(dir: string, prefix: 'train' | 't10k', count: number, rows: number, cols: number, opts: { gzip: boolean; seed: number }): IdxSplit {
  mkdirSync(dir, { recursive: true });
  const pixels = pseudoRandomBytes(count * rows * cols, opts.seed);
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7 + opts.seed) % 10);
  const ext = opts.gzip ? '.gz' : '';
  const pack = (b: Buffer) => (opts.gzip ? gzipSync(b) : b);
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${ext}`), pack(idxBytes(2051, [count, rows, cols], pixels)));
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), pack(idxBytes(2049, [count], labels)));
  return { pixels, labels };
}

/** A CIFAR-10 binary batch: per record one label byte, then 3072 bytes (R plane, G plane, B plane). */
export function cifarBytes(labels: number[], seed: number): { bytes: Buffer; pixels: Uint8Array[] } {
  const pixels = labels.map((_, r) => pseudoRandomBytes(3072, seed + 17 * r));
  const bytes = Buffer.concat(labels.map((l, r) => Buffer.concat([Buffer.from([l]), Buffer.from(pixels[r])])));
  return { bytes, pixels };
}

export function makeTempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-data-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
