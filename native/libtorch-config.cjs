// Prints the include dirs, library dirs or link flags for the libtorch that lowbit builds against.
// Default: Debian's libtorch-dev (headers in /usr/include). LIBTORCH_DIR=<dir with include/ and lib/>
// selects another one, e.g. the torch/ directory of a pip install.
const path = require('node:path');
const fs = require('node:fs');
const what = process.argv[2];
const root = process.env.LIBTORCH_DIR;
if (root && !fs.existsSync(path.join(root, 'include', 'ATen', 'ATen.h'))) {
  console.error(`LIBTORCH_DIR=${root} has no include/ATen/ATen.h: point it at a libtorch directory with include/ and lib/`);
  process.exit(1);
}
const inc = root ? path.join(root, 'include') : '/usr/include';
const lib = root ? path.join(root, 'lib') : '/usr/lib/x86_64-linux-gnu';
if (what === 'include') {
  console.log([inc, path.join(inc, 'torch', 'csrc', 'api', 'include')].join(' '));
} else if (what === 'defines') {
  // A pip-installed torch may be built with the pre-C++11 std::string ABI; its cmake config says which.
  let abi = '1';
  const cfg = path.join(root || '', 'share', 'cmake', 'Torch', 'TorchConfig.cmake');
  if (root && fs.existsSync(cfg)) {
    const m = /_GLIBCXX_USE_CXX11_ABI=([01])/.exec(fs.readFileSync(cfg, 'utf8'));
    if (m) abi = m[1];
  }
  console.log(`_GLIBCXX_USE_CXX11_ABI=${abi}`);
} else if (what === 'libs') {
  const flags = [`-L${lib}`, '-ltorch', '-ltorch_cpu', '-lc10'];
  if (root) flags.push(`-Wl,-rpath,${lib}`);
  console.log(flags.join(' '));
}
