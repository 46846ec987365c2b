// Writes an experiment's record: the command's --json result, the exact command line, and the run
// directory's environment (machine, versions, commit) and options, atomically.
// Usage: node experiments/record-result.mjs RESULT_JSON RUN_DIR OUT_FILE "COMMAND LINE"
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const [resultFile, runDir, outFile, command] = process.argv.slice(2);
if (!command) {
  console.error('usage: node experiments/record-result.mjs RESULT_JSON RUN_DIR OUT_FILE "COMMAND LINE"');
  process.exit(2);
}
const result = JSON.parse(readFileSync(resultFile, 'utf8'));
const config = JSON.parse(readFileSync(`${runDir}/config.json`, 'utf8'));
const record = { command, result, environment: config.environment, options: config.options };
writeFileSync(`${outFile}.tmp`, JSON.stringify(record, null, 2) + '\n');
renameSync(`${outFile}.tmp`, outFile);
