// safetensors encode/decode: files read back by an independent reader written here (header JSON and
// bytes parsed by hand) and, when python3 with numpy is installed, by numpy/torch.frombuffer; files
// written by hand (here and in Python) decoded by lowbit; and corrupted files rejected with a
// LowbitError, never another exception.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LowbitError } from '../../src/errors.ts';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../../src/nn/index.ts';
import { Generator, fromArray, randn, tensor, zeros, type Tensor } from '../../src/tensor/index.ts';

// ------------------------------------------------------------------------------ independent reader
const SIZE: Record<string, number> = { F64: 8, F32: 4, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

interface Entry {
  dtype: string;
  shape: number[];
  values: number[];
}

function readByHand(file: Uint8Array): { entries: Map<string, Entry>; metadata: unknown; headerLength: number } {
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLength = Number(dv.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength)));
  const base = 8 + headerLength;
  const entries = new Map<string, Entry>();
  for (const [name, e] of Object.entries<{ dtype: string; shape: number[]; data_offsets: [number, number] }>(header)) {
    if (name === '__metadata__') continue;
    const [b, end] = e.data_offsets;
    const size = SIZE[e.dtype];
    const values: number[] = [];
    for (let off = base + b; off < base + end; off += size) {
      switch (e.dtype) {
        case 'F64':
          values.push(dv.getFloat64(off, true));
          break;
        case 'F32':
          values.push(dv.getFloat32(off, true));
          break;
        case 'I64':
          values.push(Number(dv.getBigInt64(off, true)));
          break;
        case 'I32':
          values.push(dv.getInt32(off, true));
          break;
        case 'I16':
          values.push(dv.getInt16(off, true));
          break;
        case 'I8':
          values.push(dv.getInt8(off));
          break;
        default:
          values.push(dv.getUint8(off));
      }
    }
    entries.set(name, { dtype: e.dtype, shape: e.shape, values });
  }
  return { entries, metadata: header.__metadata__, headerLength };
}

/** An independent writer: header JSON with the given entries, then the concatenated payloads. */
function writeByHand(header: Record<string, unknown>, data: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

const concat = (chunks: Uint8Array[]): Buffer => Buffer.concat(chunks);

function sampleTensors(): Map<string, Tensor> {
  return new Map<string, Tensor>([
    ['layer1.0.conv1.weight', randn([4, 3, 3, 3], { generator: new Generator(1) })],
    ['fc.bias', fromArray(new Float64Array([1.5, -2.25, 1e-300]))],
    ['bn.num_batches_tracked', fromArray(new BigInt64Array([123456789012n]), [])],
    ['codes', fromArray(new Int8Array([-128, -1, 0, 7, 127, 3]), [2, 3])],
    ['i32', fromArray(new Int32Array([-2147483648, 5, 2147483647]))],
    ['i16', fromArray(new Int16Array([-32768, 1, 32767, -5]), [2, 2])],
    ['u8', fromArray(new Uint8Array([0, 255, 17]))],
    ['mask', tensor([true, false, true])],
    ['empty', zeros([0, 5])],
  ]);
}

test('encoded files read back by a hand-written reader: header, alignment, dtypes, values', () => {
  const tensors = sampleTensors();
  const file = concat(encodeSafetensors(tensors, { model: 'resnet20', widths: '[16,16]' }));
  const { entries, metadata, headerLength } = readByHand(file);
  // The data section starts 8-byte aligned, as the reference writer pads it.
  assert.equal((8 + headerLength) % 8, 0);
  assert.deepEqual(metadata, { model: 'resnet20', widths: '[16,16]' });
  const expectDtype: Record<string, string> = {
    'layer1.0.conv1.weight': 'F32',
    'fc.bias': 'F64',
    'bn.num_batches_tracked': 'I64',
    codes: 'I8',
    i32: 'I32',
    i16: 'I16',
    u8: 'U8',
    mask: 'BOOL',
    empty: 'F32',
  };
  assert.deepEqual([...entries.keys()].sort(), [...tensors.keys()].sort());
  for (const [name, t] of tensors) {
    const e = entries.get(name)!;
    assert.equal(e.dtype, expectDtype[name], name);
    assert.deepEqual(e.shape, t.shape, name);
    assert.deepEqual(e.values, t.toArray(), name);
  }
  // Every data byte belongs to exactly one tensor: offsets tile [0, data length).
  const spans = [...Object.entries<{ data_offsets?: [number, number] }>(JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength))))]
    .filter(([k]) => k !== '__metadata__')
    .map(([, e]) => e.data_offsets!)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let pos = 0;
  for (const [b, e] of spans) {
    assert.equal(b, pos);
    pos = e;
  }
  assert.equal(pos, file.length - 8 - headerLength);
});

test('decode(encode(x)) round-trips names, dtypes, shapes, values and metadata', () => {
  const tensors = sampleTensors();
  const back = decodeSafetensors(concat(encodeSafetensors(tensors, { note: 'héllo ✓' })));
  assert.deepEqual(back.metadata, { note: 'héllo ✓' });
  assert.deepEqual([...back.tensors.keys()], [...tensors.keys()]);
  for (const [name, t] of tensors) {
    const u = back.tensors.get(name)!;
    assert.equal(u.dtype, t.dtype, name);
    assert.deepEqual(u.shape, t.shape, name);
    assert.ok(u.equal(t), name);
  }
  // No metadata: no __metadata__ key at all.
  const plain = concat(encodeSafetensors(new Map([['a', zeros([2])]])));
  assert.equal(readByHand(plain).metadata, undefined);
  assert.deepEqual(decodeSafetensors(plain).metadata, {});
});

test('a non-contiguous tensor is written in row-major order', () => {
  const t = fromArray(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]).transpose(0, 1);
  const { entries } = readByHand(concat(encodeSafetensors(new Map([['t', t]]))));
  assert.deepEqual(entries.get('t')!.shape, [3, 2]);
  assert.deepEqual(entries.get('t')!.values, [1, 4, 2, 5, 3, 6]);
});

test('a hand-written file (unsorted offsets, unaligned header) decodes', () => {
  const data = Buffer.alloc(4 * 4 + 8 * 2);
  [1.5, -2, 3.25, 0].forEach((v, i) => data.writeFloatLE(v, 16 + 4 * i));
  data.writeBigInt64LE(-7n, 0);
  data.writeBigInt64LE(9007199254740993n, 8);
  const file = writeByHand(
    {
      __metadata__: { format: 'pt' },
      w: { dtype: 'F32', shape: [2, 2], data_offsets: [16, 32] },
      n: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
    },
    data,
  );
  const { tensors, metadata } = decodeSafetensors(file);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual(tensors.get('w')!.shape, [2, 2]);
  assert.deepEqual(tensors.get('w')!.toArray(), [1.5, -2, 3.25, 0]);
  assert.equal(tensors.get('n')!.dtype, 'int64');
  assert.deepEqual([...(tensors.get('n')!.toTypedArray() as BigInt64Array)], [-7n, 9007199254740993n]);
});

test('saveSafetensors / loadSafetensors go through a file, leaving no temporary behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-st-'));
  try {
    const path = join(dir, 'sub', 'model.safetensors');
    const tensors = sampleTensors();
    saveSafetensors(path, tensors, { k: 'v' });
    assert.deepEqual(readdirSync(join(dir, 'sub')), ['model.safetensors']);
    assert.deepEqual(readFileSync(path), concat(encodeSafetensors(tensors, { k: 'v' })));
    const back = loadSafetensors(path);
    assert.ok(back.tensors.get('layer1.0.conv1.weight')!.equal(tensors.get('layer1.0.conv1.weight')!));
    assert.throws(
      () => loadSafetensors(join(dir, 'missing.safetensors')),
      (e: unknown) => e instanceof LowbitError && e.message.includes('missing.safetensors'),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ----------------------------------------------------------------------------------- corruption
function assertRejected(buf: Uint8Array, what: string, mention?: string): void {
  assert.throws(
    () => decodeSafetensors(buf, 'ckpt.safetensors'),
    (e: unknown) => {
      assert.ok(e instanceof LowbitError, `${what}: threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
      assert.ok(e.message.includes('ckpt.safetensors'), `${what}: message names the source`);
      if (mention) assert.ok(e.message.includes(mention), `${what}: '${e.message}' should mention '${mention}'`);
      return true;
    },
    what,
  );
}

test('corrupted files are a LowbitError saying what is wrong', () => {
  const good = concat(encodeSafetensors(new Map([['w', randn([3, 4])]])));
  const header = (h: unknown, dataBytes = 48) => writeByHand(h as Record<string, unknown>, Buffer.alloc(dataBytes));
  assertRejected(new Uint8Array(0), 'empty file');
  assertRejected(good.subarray(0, 5), 'shorter than the length prefix');
  assertRejected(good.subarray(0, 20), 'truncated inside the header', 'header length');
  assertRejected(good.subarray(0, good.length - 4), 'truncated data', "'w'");
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(1n << 62n, 0);
  assertRejected(huge, 'header length beyond the file', 'header length');
  const zero = Buffer.from(good);
  zero.writeBigUInt64LE(0n, 0);
  assertRejected(zero, 'header length 0');
  const short = Buffer.from(good);
  short.writeBigUInt64LE(BigInt(Number(good.readBigUInt64LE(0)) - 3), 0);
  // Shorter by 3: the cut falls in the header's padding or its JSON; either way the data would shift.
  assertRejected(short, 'header length 3 bytes short');
  const cutJson = Buffer.from(good);
  cutJson.writeBigUInt64LE(BigInt(Number(good.readBigUInt64LE(0)) - 12), 0);
  assertRejected(cutJson, 'header length cutting the JSON', 'JSON');
  assertRejected(Buffer.concat([good, Buffer.alloc(4)]), 'trailing bytes after the data', 'cover 48 of 52');
  assertRejected(writeByHand({}, Buffer.alloc(0)).subarray(0, 8 + 1), 'one-byte header');
  const badJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a"')]);
  assertRejected(badJson, 'bad JSON', 'JSON');
  const arrayJson = Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('[]')]);
  assertRejected(arrayJson, 'JSON array header', 'object');
  const nullJson = Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('null')]);
  assertRejected(nullJson, 'JSON null header', 'object');
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [0, 64] } }), 'offsets past the data', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [8, 4] } }), 'end before begin', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [-4, 44] } }), 'negative offset', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [0, 40] } }), 'size disagrees with shape', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [0.5, 48.5] } }), 'fractional offsets', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4], data_offsets: 48 } }), 'offsets not an array', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4], data_offsets: [0] } }), 'one offset', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [3, 4] } }), 'no offsets', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: [-3, -4], data_offsets: [0, 48] } }), 'negative dims', "'w'");
  assertRejected(header({ w: { dtype: 'F32', shape: '3x4', data_offsets: [0, 48] } }), 'shape not an array', "'w'");
  assertRejected(header({ w: { dtype: 'Q4', shape: [3, 4], data_offsets: [0, 48] } }), 'unknown dtype', 'Q4');
  const two = (a: [number, number], b: [number, number]) => ({
    a: { dtype: 'F32', shape: [(a[1] - a[0]) / 4], data_offsets: a },
    b: { dtype: 'F32', shape: [(b[1] - b[0]) / 4], data_offsets: b },
  });
  assertRejected(header(two([0, 24], [16, 40]), 40), 'overlapping tensors', "'b'");
  assertRejected(header(two([0, 16], [24, 40]), 40), 'a gap between tensors', "'b'");
  assertRejected(header(two([0, 24], [0, 24]), 24), 'two tensors on the same bytes', 'overlap');
  assertRejected(header({ w: null }), 'null entry', "'w'");
  assertRejected(header({ w: 5 }), 'number entry', "'w'");
  assertRejected(header({ __metadata__: 5 }), 'metadata not an object', '__metadata__');
  assertRejected(header({ __metadata__: { epoch: 3 } }), 'metadata value not a string', '__metadata__');
});

test('random corruption never escapes as anything but a LowbitError', () => {
  const good = concat(encodeSafetensors(sampleTensors(), { model: 'x' }));
  const headerLength = Number(good.readBigUInt64LE(0));
  let state = 12345;
  const rand = (n: number) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state % n;
  };
  let rejected = 0;
  for (let trial = 0; trial < 400; trial++) {
    let buf: Buffer;
    if (trial % 4 === 0) {
      buf = good.subarray(0, rand(good.length));
    } else {
      buf = Buffer.from(good);
      // Mostly hit the header and the length prefix, where parsing decisions are made.
      for (let k = 0; k < 1 + rand(3); k++) buf[rand(8 + headerLength)] = rand(256);
    }
    try {
      const { tensors } = decodeSafetensors(buf);
      for (const t of tensors.values()) t.dispose();
    } catch (e) {
      assert.ok(e instanceof LowbitError, `trial ${trial}: ${(e as Error).name}: ${(e as Error).message}`);
      rejected++;
    }
  }
  assert.ok(rejected > 100, `only ${rejected} of 400 corruptions were rejected`);
});

test('float16 is written as F16 bytes; reading F16 back is refused with a clear error', () => {
  const half = fromArray(new Float32Array([1, -2, 0.5]), [3]).to('float16');
  const file = concat(encodeSafetensors(new Map([['h', half]])));
  const { headerLength } = readByHand(file);
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + headerLength)));
  assert.deepEqual(header.h, { dtype: 'F16', shape: [3], data_offsets: [0, 6] });
  // IEEE half bits: 1 = 0x3c00, -2 = 0xc000, 0.5 = 0x3800.
  const dv = new DataView(file.buffer, file.byteOffset + 8 + headerLength);
  assert.deepEqual([dv.getUint16(0, true), dv.getUint16(2, true), dv.getUint16(4, true)], [0x3c00, 0xc000, 0x3800]);
  assertRejected(Uint8Array.from(file), 'F16 read', 'F16');
});

// -------------------------------------------------------------------------------- python reference
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

const PY_READER = `
import json, struct, sys
import numpy as np
try:
    import torch
except Exception:
    torch = None
DT = {'F32': np.float32, 'F64': np.float64, 'I64': np.int64, 'I32': np.int32, 'I16': np.int16,
      'I8': np.int8, 'U8': np.uint8, 'BOOL': np.bool_}
TT = None if torch is None else {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64,
      'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
out = {'__metadata__': header.get('__metadata__'), 'torch': torch is not None}
for name, e in header.items():
    if name == '__metadata__':
        continue
    b, end = e['data_offsets']
    a = np.frombuffer(data[b:end], dtype=DT[e['dtype']]).reshape(e['shape'])
    if torch is not None and end > b:
        t = torch.frombuffer(bytearray(data[b:end]), dtype=TT[e['dtype']]).reshape(e['shape'])
        assert np.array_equal(t.numpy(), a), name
    out[name] = {'shape': list(a.shape), 'values': [v.item() if hasattr(v, 'item') else v for v in a.reshape(-1)]}
print(json.dumps(out))
`;

const PY_WRITER = `
import json, struct, sys
import numpy as np
w = np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5
n = np.array([5, -6], dtype=np.int64)
c = np.array([[1, -2], [3, -4]], dtype=np.int8)
blobs = [('c', 'I8', c), ('n', 'I64', n), ('w', 'F32', w)]
header, offset, payload = {'__metadata__': {'source': 'numpy'}}, 0, b''
for name, dt, a in blobs:
    b = a.astype(a.dtype.newbyteorder('<')).tobytes()
    header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
    offset += len(b)
    payload += b
h = json.dumps(header).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + payload)
`;

test('numpy (and torch.frombuffer when installed) read what lowbit writes', { skip: hasNumpy ? false : 'python3 with numpy not available' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-st-py-'));
  try {
    const path = join(dir, 'm.safetensors');
    const tensors = sampleTensors();
    saveSafetensors(path, tensors, { arch: 'lenet5' });
    const r = spawnSync('python3', ['-c', PY_READER, path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.__metadata__, { arch: 'lenet5' });
    for (const [name, t] of tensors) {
      assert.deepEqual(out[name].shape, t.shape, name);
      const expected = t.dtype === 'bool' ? t.toArray().map(Boolean) : t.toArray();
      assert.deepEqual(out[name].values, expected, name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lowbit reads a file numpy wrote', { skip: hasNumpy ? false : 'python3 with numpy not available' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lowbit-st-py-'));
  try {
    const path = join(dir, 'np.safetensors');
    const r = spawnSync('python3', ['-c', PY_WRITER, path], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { tensors, metadata } = loadSafetensors(path);
    assert.deepEqual(metadata, { source: 'numpy' });
    assert.deepEqual(tensors.get('w')!.shape, [3, 4]);
    assert.deepEqual(tensors.get('w')!.toArray(), Array.from({ length: 12 }, (_, i) => i / 8 - 0.5));
    assert.equal(tensors.get('n')!.dtype, 'int64');
    assert.deepEqual(tensors.get('n')!.toArray(), [5, -6]);
    assert.equal(tensors.get('c')!.dtype, 'int8');
    assert.deepEqual(tensors.get('c')!.toArray(), [1, -2, 3, -4]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
