/** `--pid-file`, written as runc writes it: the pid without a newline, atomically. */
import { renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export function writePidFile(path: string, pid: number): void {
  const target = resolve(path);
  const tmp = join(dirname(target), `.${basename(target)}`);
  writeFileSync(tmp, String(pid), { mode: 0o666 });
  renameSync(tmp, target);
}
