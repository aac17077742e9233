/**
 * The writing side of the state store (src/state/store.ts has the layout, the records and
 * their readers): claiming a container's directory and writing its records atomically, through
 * the Files the caller gives (the addon's in `create` and `update`).
 */
import { AlreadyExistsError, FsError } from '../errors.ts';
import type { Files } from './files.ts';
import { STATE_FILE, inDir, stateDir } from './store.ts';
import type { ContainerState } from './store.ts';

/**
 * Claims `<root>/<id>` for a new container. mkdir is atomic: of concurrent creators of one id
 * exactly one succeeds, the others get runc's "container with id exists" error.
 */
export function claim(files: Files, root: string, id: string): string {
  files.mkdir(root, 0o711, true);
  const dir = stateDir(root, id);
  try {
    files.mkdir(dir, 0o711);
  } catch (e) {
    if (e instanceof FsError && e.errnoName === 'EEXIST') throw new AlreadyExistsError(id);
    throw e;
  }
  return dir;
}

/**
 * Writes `value` as JSON to `<dir>/<name>` atomically: a reader, and whoever looks after a
 * runts killed at any instant, finds the previous record or this one, never a part (rename(2)
 * replaces the name in one step, and only within one file system: hence a temporary file in
 * the same directory). The temporary name carries our pid, so concurrent writers (two
 * `update`s) do not share one; a leftover one, from a writer killed before its rename, starts
 * with a dot and goes with the directory.
 *
 * Not fsynced (nor is runc's state.json: libcontainer's saveState is a write and a rename).
 * A kill cannot tear a renamed file; only a power loss can (ext4's delayed allocation may
 * leave the new name with no data), and then the processes and cgroups the record describes
 * are gone too, and the readers below take an empty or cut record for what it is. fsync
 * would cost each create about 0.5 ms on ext4 (two records, measured here), nothing on tmpfs
 * where /run usually is, and an unbounded wait for a journal commit under I/O load.
 */
export function writeRecord(files: Files, dir: string, name: string, value: unknown): void {
  files.replace(inDir(dir, name), inDir(dir, `.${name}.${process.pid}`), JSON.stringify(value), 0o600);
}

export function writeState(files: Files, root: string, state: ContainerState): void {
  writeRecord(files, stateDir(root, state.id), STATE_FILE, state);
}

/**
 * runc prints `created` in Go's RFC3339Nano: nanoseconds with trailing zeros trimmed (and no
 * fraction at all when it is zero). JavaScript clocks give milliseconds; hrtime fills the rest.
 */
export function nowRfc3339Nano(): string {
  // "2026-12-04T22:07:12.345Z". No BigInt and no regular expression (their first use costs a
  // process 0.5 and 1.1 MB: src/lists.ts): hrtime's nanoseconds within the second, and
  // the trailing zeros trimmed by hand.
  const iso = new Date().toISOString();
  const ns = String(process.hrtime()[1] % 1_000_000);
  let frac = `${iso.slice(20, 23)}${'000000'.slice(ns.length)}${ns}`;
  let end = frac.length;
  while (end > 0 && frac[end - 1] === '0') end--;
  frac = frac.slice(0, end);
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
