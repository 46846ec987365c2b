/**
 * The runtime's face for browsers: only modules without Node APIs (no addon, no fs), so a bundler can
 * pack it for a page. A page fetches the .wasm (native/build/wasm/lowbit_runtime.wasm) and a plan file
 * (lowbit run --save), then runs it:
 *
 *   const rt = await WasmRuntime.instantiate(await (await fetch('lowbit_runtime.wasm')).arrayBuffer());
 *   const { plan } = rt.loadPlan(new Uint8Array(await (await fetch('w2a2.lbit')).arrayBuffer()));
 *   const logits = plan.run(pixels, n);   // n images of uint8 pixels (NHWC) -> [n, classes] floats
 *
 * bench/browser runs this in headless Chromium.
 */
export { WasmRuntime, WasmPlan } from './wasm.ts';
export { decodePlan, PLAN_MAGIC, type PlanMeta } from './plan-format.ts';
