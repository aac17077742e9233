/** `--pid-file`, written as runc writes it: the pid without a newline, atomically. */
import { absolute, baseName, dirName, joinPath } from '../paths.ts';
import type { Files } from '../state/files.ts';

export function writePidFile(files: Files, path: string, pid: number): void {
  const target = absolute(path);
  files.replace(target, joinPath(dirName(target), `.${baseName(target)}`), String(pid), 0o666);
}
