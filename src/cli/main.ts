import { LowbitError, UsageError } from '../errors.ts';
import { helpText, parseCommandArgs, intOption, type Command } from './command.ts';
import { trainCommand } from './commands/train.ts';
import { evalCommand } from './commands/eval.ts';
import { doctorCommand } from './commands/doctor.ts';
import { ptqCommand } from './commands/ptq.ts';
import { exportCommand } from './commands/export.ts';
import { demoCommand } from './commands/demo.ts';
import { reportCommand } from './commands/report.ts';
import { qatCommand } from './commands/qat.ts';
import { nceCommand } from './commands/nce.ts';
import { runCommand } from './commands/run.ts';

const COMMANDS: Command[] = [demoCommand, trainCommand, evalCommand, ptqCommand, qatCommand, nceCommand, runCommand, exportCommand, reportCommand, doctorCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    'lowbit: 2-4 bit neural networks (GPFQ, auxiliary-module QAT, NCE) on libtorch',
    '',
    'Usage: lowbit <command> [options]     lowbit <command> --help',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Exit codes: 0 ok, 1 failure, 2 usage error.',
    '',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (!cmd) throw new UsageError(`unknown command '${name}'. Commands: ${COMMANDS.map((c) => c.name).join(', ')}. See 'lowbit --help'.`);
    const { options, positionals } = parseCommandArgs(cmd, rest);
    if (options.help) {
      process.stdout.write(helpText(cmd));
      return 0;
    }
    if (options.threads !== undefined) {
      const { setNumThreads } = await import('../tensor/index.ts');
      setNumThreads(intOption(options, 'threads', 1));
    }
    await cmd.run(options, positionals);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`lowbit ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof LowbitError) {
      process.stderr.write(`lowbit ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`lowbit ${name}: unexpected error: ${(err as Error).stack ?? err}\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('src/cli/main.ts')) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
