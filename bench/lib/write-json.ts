/** Results files: pretty JSON, written atomically so a reader never sees half a file. */
import { writeFileAtomic } from '../../src/util/atomic-write.ts';

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
