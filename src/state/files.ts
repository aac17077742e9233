/**
 * How the runtime reaches the files it reads and writes itself (the state store, config.json,
 * the rootfs check, the pid file): two implementations, the same behaviour and the same
 * FsErrors — node:fs (./node-files.ts, for `state`, `list` and the library without the addon)
 * and the addon's (src/native/index.ts, for every verb that loads the addon anyway). Under
 * Bun, loading node:fs costs each call about as much as the addon itself
 * (docs/benchmarks.md): an engine's `start`, `kill`, `delete`, `create` and `run` should not
 * pay for both.
 */
import { addonIsCheap } from '../native/cached.ts';
import { nodeFiles } from './node-files.ts';

export interface Files {
  /** The file's text; undefined when it does not exist. Any other failure throws an FsError. */
  read(path: string): string | undefined;
  /** Whether the path exists (symbolic links followed). */
  exists(path: string): boolean;
  /** Removes a file, or with `tree` a directory and all it holds; an absent one is fine. */
  remove(path: string, tree?: boolean): void;
  /** stat(2), links followed; an FsError ("ENOENT", ...) when that fails. */
  stat(path: string): { isDir: boolean; dev: number; ino: number };
  /** The path with every symbolic link resolved. */
  realpath(path: string): string;
  /** mkdir with `mode` (less the umask); with `parents`, mkdir -p (no error if it exists). */
  mkdir(path: string, mode: number, parents?: boolean): void;
  /**
   * `text` written to `tmp` (created with `mode`) and renamed onto `path`, so that a reader
   * finds the old file or the new one, never a part; `tmp` is removed if that fails.
   */
  replace(path: string, tmp: string, text: string, mode: number): void;
}

let viaAddon: Files | undefined;

/** Called by src/native/index.ts as the addon loads: from then on the store reads through it. */
export function useAddonFiles(files: Files): void {
  viaAddon = files;
}

/**
 * The Files a reader of the store should use: the addon's once the process has loaded it (the
 * verbs that need it, or `--log`, which engines pass on every call, opened through it), else
 * node:fs (loaded on first use). Both give the same results (test/unit/state.test.ts).
 */
export function storeFiles(): Files {
  return viaAddon ?? nodeFiles;
}

/**
 * storeFiles() for a reader that may not have loaded the addon (`state`, `list`): the addon's
 * where loading it costs less than node:fs (src/native/cached.ts), else node:fs.
 */
export async function readerFiles(): Promise<Files> {
  if (!viaAddon && addonIsCheap()) await import('../native/index.ts');
  return storeFiles();
}
