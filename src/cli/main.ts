import { readFileSync } from 'node:fs';
import { LowbitError, UsageError } from '../errors.ts';
// Only modules that load without the native addon are imported statically: the error path and
// `doctor` must work when it is missing.
import type { Command } from './command.ts';
import { cleanupRunDirs } from './created-dirs.ts';
import { explainTorchError } from './error-context.ts';

function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function mainHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    'lowbit: 2-4 bit neural networks (GPFQ, auxiliary-module QAT, NCE) on libtorch',
    '',
    'Usage: lowbit <command> [options]     lowbit <command> --help     lowbit --version',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Exit codes: 0 ok, 1 failure, 2 usage error.',
    '',
  ].join('\n');
}

/**
 * `lowbit doctor` when the commands cannot even load (the native addon is missing or broken): it says
 * so, with the fix, instead of dying with the others.
 */
function doctorWithoutNative(err: Error, json: boolean): number {
  const report = { native: 'missing', error: err.message, node: process.version, fix: "bash scripts/setup.sh (libtorch, OpenBLAS), then npm install (or npm run build:native)" };
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write([`native      missing`, `node        ${process.version}`, `fix         ${report.fix}`, ''].join('\n'));
  process.stderr.write(json ? JSON.stringify({ error: { command: 'doctor', message: err.message, exitCode: 1 } }) + '\n' : `lowbit doctor: ${err.message}\n`);
  return 1;
}

function report(name: string, err: unknown, json: boolean): number {
  let code = 1;
  let message: string;
  if (err instanceof UsageError) {
    code = 2;
    message = err.message;
  } else if (err instanceof LowbitError) {
    message = err.message;
  } else {
    const raw = (err as Error)?.message ?? String(err);
    const explained = explainTorchError(raw);
    message = explained ?? `unexpected error: ${(err as Error)?.stack ?? err}`;
  }
  if (json) process.stderr.write(JSON.stringify({ error: { command: name, message, exitCode: code } }) + '\n');
  else process.stderr.write(`lowbit${name ? ` ${name}` : ''}: ${message}\n`);
  return code;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const json = argv.includes('--json');
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(json ? JSON.stringify({ version: packageVersion() }) + '\n' : `lowbit ${packageVersion()}\n`);
    return 0;
  }
  let commands: Command[];
  let cli: typeof import('./command.ts');
  try {
    ({ COMMANDS: commands } = await import('./commands/index.ts'));
    cli = await import('./command.ts');
  } catch (err) {
    if (name === 'doctor' && err instanceof LowbitError) return doctorWithoutNative(err, json);
    return report(name ?? '', err, json);
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp(commands));
    return name === undefined ? 2 : 0;
  }
  const cmd = commands.find((c) => c.name === name);
  try {
    if (!cmd) {
      const guess = cli.closestName(name, commands.map((c) => c.name));
      throw new UsageError(`unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}. Commands: ${commands.map((c) => c.name).join(', ')}. See 'lowbit --help'.`);
    }
    const { options, positionals } = cli.parseCommandArgs(cmd, rest);
    if (options.help) {
      process.stdout.write(cli.helpText(cmd));
      return 0;
    }
    if (options.threads !== undefined) {
      const { setNumThreads } = await import('../tensor/index.ts');
      setNumThreads(cli.intOption(options, 'threads', 1));
    }
    await cmd.run(options, positionals);
    return 0;
  } catch (err) {
    cleanupRunDirs();
    return report(name, err, json);
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('src/cli/main.ts')) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
