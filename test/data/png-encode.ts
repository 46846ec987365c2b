/** A PNG encoder for tests, independent of src/data/png.ts: row y uses filter y % 5. */
import { deflateSync } from 'node:zlib';

export function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

export function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Packs sample values (already at `depth` bits) of one row. */
function packRow(samples: number[], depth: number): Uint8Array {
  if (depth === 8) return Uint8Array.from(samples);
  if (depth === 16) return Uint8Array.from(samples.flatMap((v) => [v >> 8, v & 0xff]));
  const out = new Uint8Array(Math.ceil((samples.length * depth) / 8));
  samples.forEach((v, i) => (out[(i * depth) >> 3] |= v << (8 - depth - ((i * depth) & 7))));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Filters a packed row with filter f against the previous packed row. */
function filterRow(f: number, row: Uint8Array, prev: Uint8Array, bpp: number): Uint8Array {
  const out = new Uint8Array(row.length + 1);
  out[0] = f;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp] : 0;
    const b = prev[i] ?? 0;
    const c = i >= bpp ? (prev[i - bpp] ?? 0) : 0;
    const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f];
    out[i + 1] = (row[i] - pred) & 0xff;
  }
  return out;
}

/** A PNG of rows[y][x] = sample array, colour type ct, bit depth d; row y uses filter y % 5. */
export function encodePng(w: number, h: number, ct: number, d: number, px: (x: number, y: number) => number[], palette?: number[]): Buffer {
  const samples = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[ct]!;
  const bpp = Math.max(1, (samples * d) >> 3);
  const rows: Uint8Array[] = [];
  let prev = new Uint8Array(0);
  for (let y = 0; y < h; y++) {
    const row = packRow(Array.from({ length: w }, (_, x) => px(x, y)).flat(), d);
    rows.push(filterRow(y % 5, row, prev, bpp));
    prev = row;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = d;
  ihdr[9] = ct;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...(palette ? [chunk('PLTE', Uint8Array.from(palette))] : []),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

