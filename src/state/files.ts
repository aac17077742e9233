/**
 * How the state store reaches its files: whole-file reads, an existence check, removal. Two
 * implementations, the same behaviour: node:fs (src/state/node-files.ts), for `state` and
 * `list`, and the addon's (src/native/files.ts), for the verbs that load the addon anyway.
 * Under Bun, loading node:fs costs an engine call about 1.4 ms, as much as the addon itself
 * (docs/benchmarks.md): `start`, `kill` and `delete` should not pay for both.
 */
export interface Files {
  /** The file's text; undefined when it does not exist. Any other failure throws, naming the path. */
  read(path: string): string | undefined;
  /** Whether the path exists (symbolic links followed). */
  exists(path: string): boolean;
  /** Removes a file, or with `tree` a directory and all it holds; an absent one is fine. */
  remove(path: string, tree?: boolean): void;
}

let viaAddon: Files | undefined;

/** Called by src/native/index.ts as the addon loads: from then on the store reads through it. */
export function useAddonFiles(files: Files): void {
  viaAddon = files;
}

/**
 * The Files a reader of the store should use: the addon's once the process has loaded it (the
 * verbs that need it, or `--log`, which engines pass on every call, opened through it), else
 * node:fs. Both give the same results (test/unit/state.test.ts).
 */
export async function storeFiles(): Promise<Files> {
  return viaAddon ?? (await import('./node-files.ts')).nodeFiles;
}
