import type { ParsedOptions } from './command.ts';

/** Human progress and notes go to stderr, so stdout stays clean for --json. */
export function info(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** The command's result: JSON with --json, a readable line otherwise. */
export function output(o: ParsedOptions, result: unknown, human: string): void {
  if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else process.stdout.write(`${human}\n`);
}
