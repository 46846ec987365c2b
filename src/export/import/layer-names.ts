/**
 * Module paths for the layers of an imported graph, so they read like the model they came from
 * (`features.0.0`, `layer1.0.conv1`, `fc`) rather than like its tensors (`_conv1_Conv_output_0`).
 *
 * PyTorch's exporter (torch.onnx.export, 1.13 and later) leaves two traces of the module path:
 * - the weight initializer's name, `features.0.0.weight`, when the weight was exported as is; with
 *   BatchNorm folded into the conv, the exporter renames it `onnx::Conv_538` and this trace is lost;
 * - the node's scope name, `/features/features.1/conv/conv.0/conv.0.0/Conv`: one component per module
 *   on the path, where the children of a Sequential (and of ModuleList / ModuleDict) are written with
 *   the container's name in front (`conv.0.0` is child `0` of `conv.0`, itself child `0` of `conv`).
 * Either gives the same path; the weight name is preferred because it is exact.
 */

/** The module path a weight initializer names (`features.0.0.weight` -> `features.0.0`), or null. */
export function pathFromWeightName(name: string | undefined): string | null {
  if (name === undefined || name.startsWith('onnx::')) return null;
  const m = /^([A-Za-z0-9_.]+)\.weight$/.exec(name);
  return m && validPath(m[1]) ? m[1] : null;
}

/**
 * The module path of a PyTorch scope name (`/features/features.1/conv/conv.0/conv.0.0/Conv` ->
 * `features.1.conv.0.0`), or null when the name is not one. A component that extends the previous one
 * by `.child` replaces it (a container's child); any other component is a child of the path so far.
 */
export function pathFromScopeName(nodeName: string): string | null {
  if (!nodeName.startsWith('/')) return null;
  const parts = nodeName.split('/').filter((p) => p !== '');
  parts.pop(); // the op itself ("Conv", "Gemm", "BatchNormalization_1")
  if (parts.length === 0) return null;
  let base = '';
  let last = '';
  for (const c of parts) {
    if (last !== '' && c.startsWith(`${last}.`)) {
      last = c;
    } else {
      base = base === '' ? last : last === '' ? base : `${base}.${last}`;
      last = c;
    }
  }
  const path = base === '' ? last : `${base}.${last}`;
  return validPath(path) ? path : null;
}

/** The path a layer node's module gets: its weight's name, its scope, else its node name made valid. */
export function layerPath(nodeName: string, weightName: string | undefined, fallback: string): string {
  const fromWeight = pathFromWeightName(weightName);
  if (fromWeight) return fromWeight;
  const fromScope = pathFromScopeName(nodeName);
  if (fromScope) return fromScope;
  const plain = (nodeName || fallback)
    .split('.')
    .map((p) => p.replace(/[^A-Za-z0-9_]/g, '_').replace(/^_+|_+$/g, ''))
    .filter((p) => p !== '')
    .join('.');
  return plain || fallback;
}

function validPath(path: string): boolean {
  return path.split('.').every((p) => /^[A-Za-z0-9_]+$/.test(p));
}
