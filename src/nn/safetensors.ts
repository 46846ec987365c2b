/**
 * The safetensors format (https://github.com/huggingface/safetensors), so PyTorch and other tools read
 * what lowbit writes: an 8-byte little-endian header length, a JSON header mapping each name to
 * {dtype, shape, data_offsets}, optional "__metadata__" (string values), then the raw little-endian data.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { LowbitError } from '../errors.ts';
import { fromArray, type DType, type Tensor } from '../tensor/index.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { withFsErrors } from '../util/fs-errors.ts';

const TO_ST: Partial<Record<DType, string>> = {
  float32: 'F32',
  float64: 'F64',
  float16: 'F16',
  bfloat16: 'BF16',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};
const FROM_ST: Record<string, { dtype: DType; bytes: number }> = {
  F32: { dtype: 'float32', bytes: 4 },
  F64: { dtype: 'float64', bytes: 8 },
  I64: { dtype: 'int64', bytes: 8 },
  I32: { dtype: 'int32', bytes: 4 },
  I16: { dtype: 'int16', bytes: 2 },
  I8: { dtype: 'int8', bytes: 1 },
  U8: { dtype: 'uint8', bytes: 1 },
  BOOL: { dtype: 'bool', bytes: 1 },
};

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array[] {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const dt = TO_ST[t.dtype];
    if (dt === undefined) throw new LowbitError(`safetensors: cannot store '${name}' of dtype ${t.dtype}`);
    const bytes = t.toBytes();
    header[name] = { dtype: dt, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  return [len, headerBytes, ...chunks];
}

export function decodeSafetensors(buf: Uint8Array, source = 'buffer'): SafetensorsFile {
  const fail = (why: string): never => {
    throw new LowbitError(`${source}: not a valid safetensors file (${why}). Re-save it, or check the path.`);
  };
  if (buf.length < 8) fail(`only ${buf.length} bytes`);
  const view = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const n = Number(view.readBigUInt64LE(0));
  if (n <= 1 || 8 + n > buf.length) fail(`header length ${n} does not fit in ${buf.length} bytes`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(view.subarray(8, 8 + n).toString('utf8'));
  } catch {
    return fail('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const metadata = (header.__metadata__ as Record<string, string> | undefined) ?? {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) {
    fail('__metadata__ is not an object of strings');
  }
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const info = FROM_ST[e?.dtype];
    if (info === undefined) fail(`tensor '${name}' has unsupported dtype ${e?.dtype}`);
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor '${name}' has a bad shape`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2) fail(`tensor '${name}' has no [begin, end] data_offsets`);
    const [begin, end] = offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (!(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && end <= dataLen && end - begin === count * info.bytes)) {
      fail(`tensor '${name}' has data_offsets [${begin}, ${end}] inconsistent with shape [${e.shape}] and ${dataLen} data bytes`);
    }
    entries.push({ name, dtype: info.dtype, shape: e.shape, begin, end });
  }
  // As the reference reader: the tensors tile the data section exactly. A wrong header length or a
  // damaged offset would otherwise shift every tensor's bytes silently.
  let covered = 0;
  for (const e of [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end)) {
    if (e.begin !== covered) fail(`tensor '${e.name}' starts at byte ${e.begin} of the data, expected ${covered} (gap or overlap)`);
    covered = e.end;
  }
  if (covered !== dataLen) fail(`the tensors cover ${covered} of ${dataLen} data bytes`);
  const tensors = new Map<string, Tensor>();
  try {
    for (const e of entries) {
      // Copy so the typed array is aligned for its element size.
      const bytes = new Uint8Array(buf.subarray(dataStart + e.begin, dataStart + e.end));
      tensors.set(e.name, fromArray(typedView(bytes, e.dtype), e.shape, { dtype: e.dtype }));
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata };
}

function typedView(bytes: Uint8Array, dtype: DType) {
  const b = bytes.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(b);
    case 'float64':
      return new Float64Array(b);
    case 'int64':
      return new BigInt64Array(b);
    case 'int32':
      return new Int32Array(b);
    case 'int16':
      return new Int16Array(b);
    case 'int8':
      return new Int8Array(b);
    default:
      return new Uint8Array(b);
  }
}

export function saveSafetensors(path: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** A safetensors file's __metadata__ alone, read from its header (no tensor bytes are read). */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  if (!existsSync(path)) throw new LowbitError(`${path}: no such file. Check the path.`);
  const fail = (why: string): never => {
    throw new LowbitError(`${path}: not a valid safetensors file (${why}). Re-save it, or check the path.`);
  };
  return withFsErrors('read', path, () => {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const len = Buffer.alloc(8);
      if (size < 8 || readSync(fd, len, 0, 8, 0) !== 8) fail(`only ${size} bytes`);
      const n = Number(len.readBigUInt64LE(0));
      if (n <= 1 || 8 + n > size) fail(`header length ${n} does not fit in ${size} bytes`);
      const header = Buffer.alloc(n);
      readSync(fd, header, 0, n, 8);
      let parsed: unknown;
      try {
        parsed = JSON.parse(header.toString('utf8'));
      } catch {
        fail('header is not JSON');
      }
      const metadata = (parsed as { __metadata__?: unknown } | null)?.__metadata__ ?? {};
      if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata) || !Object.values(metadata).every((v) => typeof v === 'string')) {
        fail('__metadata__ is not an object of strings');
      }
      return metadata as Record<string, string>;
    } finally {
      closeSync(fd);
    }
  });
}

export function loadSafetensors(path: string): SafetensorsFile {
  if (!existsSync(path)) throw new LowbitError(`${path}: no such file. Check the path.`);
  return decodeSafetensors(withFsErrors('read', path, () => readFileSync(path)), path);
}
