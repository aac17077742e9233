/**
 * Where the compiled runts finds its addon: the file embedded in the executable, and root's
 * copy of it in ADDON_CACHE (made and pruned by ./addon.ts). Apart from ./addon.ts, whose
 * import loads the addon, so that a caller can ask what loading it would cost first.
 */
import { ADDON_CACHE } from '../paths.ts';
import { find } from '../lists.ts';

declare const Bun: { embeddedFiles: { name: string; size: number }[] } | undefined;

export interface EmbeddedFile {
  name: string;
  size: number;
}

/** The addon embedded in this executable; undefined unless this is the compiled runts. */
export function embeddedAddon(): EmbeddedFile | undefined {
  if (typeof Bun === 'undefined') return undefined;
  return find(Bun.embeddedFiles, (f) => f.name.startsWith('runts.') && f.name.endsWith('.node'));
}

/** Root's copy of `file` in ADDON_CACHE (one per build: its size and Bun's content hash name it). */
export function cachedCopy(file: EmbeddedFile): string | undefined {
  return process.geteuid?.() === 0 ? `${ADDON_CACHE}/${file.size}-${file.name}` : undefined;
}

/**
 * Whether loading the addon costs less than loading node:fs: the compiled runts run by root
 * maps its cached copy (`state` through either, harness N=100: 7.41 against 8.12 ms,
 * docs/benchmarks.md "Session 11"). Otherwise it is copied into a memfd on every call, ~1 ms
 * more than node:fs; under Node and Deno node:fs is there already.
 */
export function addonIsCheap(): boolean {
  const file = embeddedAddon();
  return file !== undefined && cachedCopy(file) !== undefined;
}
