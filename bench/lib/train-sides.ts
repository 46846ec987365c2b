/** How to start the two sides' training children for a TrainCase (see step-protocol.ts). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SideSpec } from './throughput-rounds.ts';
import type { TrainCase } from './train-case.ts';

const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** lowbit in a node child; ATen threads through LOWBIT_THREADS, read when lowbit loads. */
export function lowbitSide(id: string, label: string, c: TrainCase, threads: number): SideSpec {
  return {
    id,
    label,
    command: process.execPath,
    args: ['--import', 'tsx', join(benchDir, 'lib', 'lowbit-train-child.ts'), JSON.stringify(c)],
    env: { ...process.env, LOWBIT_THREADS: String(threads) },
  };
}

/** PyTorch in a python child; threads through torch.set_num_threads; env from torchMalloc(). */
export function pytorchSide(id: string, label: string, c: TrainCase, threads: number, python: string, env: NodeJS.ProcessEnv): SideSpec {
  return {
    id,
    label,
    command: python,
    args: [join(benchDir, 'train_throughput_torch.py'), JSON.stringify(c), String(threads)],
    env,
  };
}
