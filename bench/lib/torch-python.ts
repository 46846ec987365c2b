/** Finding a Python that can import PyTorch (Debian's python3-torch) for a benchmark's PyTorch side. */
import { spawnSync } from 'node:child_process';

function torchImports(python: string): boolean {
  return spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/**
 * A python3 that can import torch. `python3` on PATH may be a pyenv or venv interpreter that does not
 * see Debian's dist-packages, so /usr/bin/python3 is tried too; when neither has torch, Debian's
 * python3-torch is installed with apt-get. Returns null (and says why) when that fails.
 */
export function findTorchPython(): { python: string | null; note: string } {
  const candidates = [...new Set([process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p))];
  const found = () => candidates.find(torchImports) ?? null;
  let python = found();
  if (python) return { python, note: '' };
  console.log(`PyTorch is not importable by ${candidates.join(' or ')}: installing Debian's python3-torch (apt-get install -y python3-torch)...`);
  let apt = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: 'inherit' });
  if (apt.status !== 0) {
    console.log('apt-get install failed; running apt-get update and trying once more...');
    spawnSync('apt-get', ['update'], { stdio: 'inherit' });
    apt = spawnSync('apt-get', ['install', '-y', 'python3-torch'], { stdio: 'inherit' });
  }
  python = found();
  if (python) return { python, note: 'installed python3-torch with apt-get' };
  const why = apt.error ? apt.error.message : `apt-get exited with status ${apt.status}`;
  return { python: null, note: `PyTorch column skipped: python3-torch could not be installed (${why}; run as root or install it by hand)` };
}
