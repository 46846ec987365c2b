// The PNG decoder against images encoded here, pixel by pixel: every colour type, bit depths 1-16,
// all five filter types (each row filtered with its own predictor, written out independently of the
// decoder's), Adam7 interlacing, and truncated / corrupt files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { chunk, encodePng } from './png-encode.ts';
import { decodePng } from '../../src/data/index.ts';
import { LowbitError } from '../../src/errors.ts';

const W = 7;
const H = 6;
const grey8 = (x: number, y: number) => (x * 37 + y * 53) & 0xff;
const rgb = (x: number, y: number) => [grey8(x, y), (x * 11 + 5) & 0xff, (y * 29 + 200) & 0xff];

test('8-bit grey, RGB, grey+alpha and RGBA, every filter type: the exact pixels (alpha dropped)', () => {
  const g = decodePng(encodePng(W, H, 0, 8, (x, y) => [grey8(x, y)]), 'g.png');
  assert.deepEqual([g.width, g.height, g.channels], [W, H, 1]);
  assert.deepEqual(Array.from(g.pixels), Array.from({ length: W * H }, (_, i) => grey8(i % W, Math.floor(i / W))));
  const expectRgb = Array.from({ length: W * H }, (_, i) => rgb(i % W, Math.floor(i / W))).flat();
  assert.deepEqual(Array.from(decodePng(encodePng(W, H, 2, 8, rgb), 'c.png').pixels), expectRgb);
  assert.deepEqual(Array.from(decodePng(encodePng(W, H, 6, 8, (x, y) => [...rgb(x, y), 77]), 'a.png').pixels), expectRgb);
  const ga = decodePng(encodePng(W, H, 4, 8, (x, y) => [grey8(x, y), 9]), 'ga.png');
  assert.equal(ga.channels, 1);
  assert.equal(ga.pixels[3], grey8(3, 0));
});

test('16-bit samples keep their high byte; 1/2/4-bit grey is scaled to 0..255; palette entries are looked up', () => {
  const g16 = decodePng(encodePng(W, H, 0, 16, (x, y) => [grey8(x, y) * 256 + 13]), 'g16.png');
  assert.equal(g16.pixels[10], grey8(3, 1));
  for (const d of [1, 2, 4]) {
    const max = (1 << d) - 1;
    const img = decodePng(encodePng(W, H, 0, d, (x, y) => [(x + y) % (max + 1)]), `g${d}.png`);
    assert.deepEqual(Array.from(img.pixels.subarray(0, W)), Array.from({ length: W }, (_, x) => Math.round(((x % (max + 1)) * 255) / max)), `depth ${d}`);
  }
  const pal = [10, 20, 30, 200, 100, 50, 0, 255, 0];
  const p = decodePng(encodePng(W, H, 3, 2, (x) => [x % 3], pal), 'p.png');
  assert.equal(p.channels, 3);
  assert.deepEqual(Array.from(p.pixels.subarray(0, 9)), pal);
});

test('Adam7 interlaced: the same pixels as the plain image', () => {
  // Interlaced encoder: each pass's pixels as a sub-image with filter 0.
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  const w = 11;
  const h = 9;
  const parts: number[] = [];
  for (const [x0, y0, dx, dy] of passes) {
    for (let y = y0; y < h; y += dy) {
      if (x0 >= w) continue;
      parts.push(0);
      for (let x = x0; x < w; x += dx) parts.push(grey8(x, y));
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[12] = 1;
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Uint8Array.from(parts))), chunk('IEND', new Uint8Array(0))]);
  assert.deepEqual(Array.from(decodePng(png, 'i.png').pixels), Array.from({ length: w * h }, (_, i) => grey8(i % w, Math.floor(i / w))));
});

test('truncated, corrupt and non-PNG files: a LowbitError naming the file', () => {
  const good = encodePng(W, H, 0, 8, (x, y) => [grey8(x, y)]);
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 40), /t\.png: truncated PNG/],
    [Buffer.from('GIF89a........'), /t\.png: not a PNG file/],
    [Buffer.concat([good.subarray(0, 33), chunk('IDAT', Uint8Array.from([1, 2, 3])), chunk('IEND', new Uint8Array(0))]), /t\.png: corrupt PNG image data/],
  ];
  for (const [bytes, re] of cases) assert.throws(() => decodePng(bytes, 't.png'), (e: unknown) => e instanceof LowbitError && re.test(e.message));
});

