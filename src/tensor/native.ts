import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { LowbitError } from '../errors.ts';

/** An opaque reference to one at::Tensor owned by the addon. */
export type NativeHandle = { readonly __nativeTensor: unique symbol };
/** An opaque reference to an at::Generator. */
export type NativeGenerator = { readonly __nativeGenerator: unique symbol };

// The addon's functions are loosely typed on purpose: the typed surface is the Tensor class.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeAddon = Record<string, (...args: any[]) => any>;

const here = dirname(fileURLToPath(import.meta.url));
// LOWBIT_NATIVE_ADDON: another build of the addon (a CUDA one, or a missing path to test the messages).
const addonPath = process.env.LOWBIT_NATIVE_ADDON || join(here, '..', '..', 'native', 'build', 'Release', 'lowbit_native.node');

function load(): NativeAddon {
  if (!existsSync(addonPath)) {
    throw new LowbitError(
      `lowbit's native addon is not built (${addonPath} is missing). Run 'bash scripts/setup.sh' to install ` +
        `libtorch, then 'npm install' (or 'npm run build:native').`,
    );
  }
  const require = createRequire(import.meta.url);
  try {
    return require(addonPath) as NativeAddon;
  } catch (err) {
    throw new LowbitError(
      `lowbit's native addon failed to load from ${addonPath}: ${(err as Error).message}. ` +
        `If libtorch moved or LIBTORCH_DIR changed, rebuild with 'npm run build:native'.`,
      { cause: err },
    );
  }
}

export const native: NativeAddon = load();
