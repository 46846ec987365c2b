/**
 * PNG decoding with node:zlib, no dependency (PNG spec, W3C 2nd ed.: IHDR §11.2.2, filters §9, Adam7
 * interlace §8). Every colour type (grey, RGB, palette, grey+alpha, RGBA) and bit depth (1-16) is read;
 * the result is 8-bit grey (1 channel) or RGB (3 channels): alpha is dropped, 16-bit samples keep their
 * high byte, palette entries are looked up.
 */
import { inflateSync } from 'node:zlib';
import { LowbitError } from '../errors.ts';

export interface DecodedImage {
  width: number;
  height: number;
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  /** height * width * channels bytes, row-major, channels interleaved (HWC). */
  pixels: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** Samples per pixel of each colour type. */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export function decodePng(bytes: Uint8Array, source: string): DecodedImage {
  if (!isPng(bytes)) throw new LowbitError(`${source}: not a PNG file (no PNG signature)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header: { width: number; height: number; depth: number; colorType: number; interlace: number } | null = null;
  let palette: Uint8Array | null = null;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const start = offset + 8;
    if (start + length + 4 > bytes.length) throw new LowbitError(`${source}: truncated PNG (chunk ${type} runs past the end of the file)`);
    const data = bytes.subarray(start, start + length);
    if (type === 'IHDR') {
      if (length !== 13) throw new LowbitError(`${source}: corrupt PNG header`);
      const d = new DataView(data.buffer, data.byteOffset, 13);
      header = { width: d.getUint32(0), height: d.getUint32(4), depth: data[8], colorType: data[9], interlace: data[12] };
    } else if (type === 'PLTE') {
      palette = data;
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    offset = start + length + 4; // data + CRC
  }
  if (header === null) throw new LowbitError(`${source}: corrupt PNG (no IHDR chunk)`);
  if (!ended || idat.length === 0) throw new LowbitError(`${source}: truncated PNG (no image data or no IEND chunk); replace the file with a complete copy`);
  const { width, height, depth, colorType, interlace } = header;
  if (!(colorType in SAMPLES) || !DEPTHS[colorType].includes(depth)) throw new LowbitError(`${source}: invalid PNG colour type ${colorType} with bit depth ${depth}`);
  if (width === 0 || height === 0) throw new LowbitError(`${source}: the PNG image is empty (${width}x${height})`);
  if (colorType === 3 && palette === null) throw new LowbitError(`${source}: palette PNG without a PLTE chunk`);
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (err) {
    throw new LowbitError(`${source}: corrupt PNG image data (${(err as Error).message})`, { cause: err });
  }
  const samples = SAMPLES[colorType];
  const bitsPerPixel = samples * depth;
  // Samples as 8-bit values, full image, samples interleaved.
  const full = new Uint8Array(width * height * samples);
  const passes = interlace === 1
    ? [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]]
    : [[0, 0, 1, 1]];
  let pos = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw <= 0 || ph <= 0) continue;
    const stride = Math.ceil((pw * bitsPerPixel) / 8);
    const bpp = Math.max(1, bitsPerPixel >> 3);
    let prev = new Uint8Array(stride);
    for (let r = 0; r < ph; r++) {
      if (pos + 1 + stride > raw.length) throw new LowbitError(`${source}: truncated PNG image data`);
      const filter = raw[pos];
      const line = raw.slice(pos + 1, pos + 1 + stride);
      pos += 1 + stride;
      unfilter(filter, line, prev, bpp, source);
      for (let c = 0; c < pw; c++) {
        const dst = ((y0 + r * dy) * width + (x0 + c * dx)) * samples;
        for (let s = 0; s < samples; s++) full[dst + s] = sampleAt(line, c * samples + s, depth);
      }
      prev = line;
    }
  }
  return toGreyOrRgb(full, width, height, colorType, depth, palette, source);
}

/** PNG filters (§9.2): undo filter type f on `line` given the previous (unfiltered) line. */
function unfilter(f: number, line: Uint8Array, prev: Uint8Array, bpp: number, source: string): void {
  const n = line.length;
  switch (f) {
    case 0:
      return;
    case 1:
      for (let i = bpp; i < n; i++) line[i] = (line[i] + line[i - bpp]) & 0xff;
      return;
    case 2:
      for (let i = 0; i < n; i++) line[i] = (line[i] + prev[i]) & 0xff;
      return;
    case 3:
      for (let i = 0; i < n; i++) line[i] = (line[i] + (((i >= bpp ? line[i - bpp] : 0) + prev[i]) >> 1)) & 0xff;
      return;
    case 4:
      for (let i = 0; i < n; i++) {
        const a = i >= bpp ? line[i - bpp] : 0;
        const b = prev[i];
        const c = i >= bpp ? prev[i - bpp] : 0;
        const p = a + b - c;
        const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
        line[i] = (line[i] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
      }
      return;
    default:
      throw new LowbitError(`${source}: corrupt PNG (unknown filter type ${f})`);
  }
}

/** Sample k of a line at bit depth d, as its raw value (d < 8) or its high byte (d = 16). */
function sampleAt(line: Uint8Array, k: number, d: number): number {
  if (d === 8) return line[k];
  if (d === 16) return line[2 * k];
  const bit = k * d;
  return (line[bit >> 3] >> (8 - d - (bit & 7))) & ((1 << d) - 1);
}

function toGreyOrRgb(full: Uint8Array, width: number, height: number, colorType: number, depth: number, palette: Uint8Array | null, source: string): DecodedImage {
  const n = width * height;
  if (colorType === 0 || colorType === 4) {
    const step = colorType === 4 ? 2 : 1;
    // Grey below 8 bits is scaled to 0..255 (a 1-bit 1 is white).
    const scale = depth < 8 ? 255 / ((1 << depth) - 1) : 1;
    const pixels = new Uint8Array(n);
    for (let i = 0; i < n; i++) pixels[i] = Math.round(full[i * step] * scale);
    return { width, height, channels: 1, pixels };
  }
  const pixels = new Uint8Array(n * 3);
  if (colorType === 3) {
    for (let i = 0; i < n; i++) {
      const e = full[i];
      if (3 * e + 2 >= palette!.length) throw new LowbitError(`${source}: palette index ${e} beyond the PLTE chunk's ${palette!.length / 3} entries`);
      pixels.set(palette!.subarray(3 * e, 3 * e + 3), 3 * i);
    }
  } else {
    const step = colorType === 6 ? 4 : 3;
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) pixels[3 * i + c] = full[i * step + c];
  }
  return { width, height, channels: 3, pixels };
}
