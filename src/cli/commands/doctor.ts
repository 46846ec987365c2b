import { existsSync } from 'node:fs';
import { candidateDirs } from '../../data/index.ts';
import { blasInUse, buildInfo, getNumThreads, randn, scope } from '../../tensor/index.ts';
import type { Command } from '../command.ts';
import { output } from '../output.ts';

/** Measures a float32 matmul so a slow BLAS shows up as a number, not a guess. */
function matmulGflops(n = 1024): number {
  return scope(() => {
    const a = randn([n, n]);
    const b = randn([n, n]);
    a.matmul(b);
    const t0 = performance.now();
    const reps = 5;
    for (let i = 0; i < reps; i++) a.matmul(b).dispose();
    const s = (performance.now() - t0) / 1000;
    return (2 * n ** 3 * reps) / s / 1e9;
  });
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check the installation: libtorch, BLAS, threads, data sets',
  usage: 'lowbit doctor [--json]',
  examples: ['lowbit doctor', 'lowbit doctor --json'],
  options: {},
  run(o) {
    const info = buildInfo();
    const blas = blasInUse();
    const gflops = matmulGflops();
    const fashion = candidateDirs('fashion-mnist').find((d) => existsSync(d));
    const report = {
      torchVersion: info.torchVersion,
      mkldnn: info.mkldnn,
      blas,
      matmulGflops: Number(gflops.toFixed(1)),
      threads: getNumThreads(),
      fashionMnist: fashion ?? null,
      node: process.version,
    };
    const warnings: string[] = [];
    if (!/openblas|mkl/i.test(blas)) warnings.push('BLAS is not OpenBLAS/MKL: Linear layers and GPFQ will be slow. Fix: apt-get install libopenblas0-openmp');
    if (!fashion) warnings.push('Fashion-MNIST not found. Fix: apt-get install dataset-fashion-mnist, or set LOWBIT_DATA');
    const human = [
      `libtorch    ${report.torchVersion} (oneDNN ${report.mkldnn ? 'on' : 'off'})`,
      `BLAS        ${blas}`,
      `matmul      ${report.matmulGflops} GFLOP/s (float32 1024^3)`,
      `threads     ${report.threads}`,
      `data        fashion-mnist: ${fashion ?? 'missing'}`,
      ...warnings.map((w) => `warning     ${w}`),
    ].join('\n');
    output(o, { ...report, warnings }, human);
  },
};
