/**
 * The only importer of the native addon (crates/napi). Everything else goes through the typed
 * wrappers in ./index.ts.
 *
 * Under `bun build --compile` the addon must be `require`d by a literal path: that is how Bun
 * finds and embeds it into the single executable. Under Node and Deno it is loaded from disk:
 * `RUNTS_NATIVE` if set, else the file built at the package root (this file is at
 * src/native/ in a checkout and at build/src/native/ once compiled), else the napi-rs platform
 * package `runts-linux-x64-gnu`. (Bun running the sources, `bun src/main.ts`, takes the file at
 * the package root through the same literal require; Bun running the installed library, where
 * that file is not, the platform package's.)
 */
import { createRequire } from 'node:module';
import type * as Binding from './binding.js';

declare const Bun: unknown;
declare const require: (id: string) => unknown;

export type Addon = typeof Binding;

function loadFromDisk(): Addon {
  const req = createRequire(import.meta.url);
  const candidates = [
    process.env.RUNTS_NATIVE,
    '../../runts.linux-x64-gnu.node',
    '../../../runts.linux-x64-gnu.node',
    'runts-linux-x64-gnu',
  ];
  const errors: string[] = [];
  for (const c of candidates) {
    if (!c) continue;
    try {
      return req(c) as Addon;
    } catch (e) {
      errors.push(`${c}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`cannot load the runts native addon (run \`npm run build:native\`): ${errors.join('; ')}`);
}

interface BunRuntime {
  embeddedFiles: { name: string }[];
}

/** What is used of bun:ffi (no Bun types in this project). */
interface BunFfi {
  FFIType: { ptr: number; u32: number; i32: number };
  ptr(b: Uint8Array): number;
  dlopen(lib: string, symbols: Record<string, { args: number[]; returns: number }>): {
    symbols: { memfd_create(name: number, flags: number): number };
    close(): void;
  };
}

/**
 * The addon embedded in the compiled binary. Bun writes it to $BUN_TMPDIR or $TMPDIR (else
 * /tmp) and maps it from there; on a host where that directory is noexec or read-only (CIS
 * hardening) that fails, and the same bytes are loaded from a memfd instead (memfd_create
 * through bun:ffi, since the addon is what would give us system calls). Not the first choice:
 * the copy costs ~1 ms more per call (measured: 1.7 against 0.9 ms for Bun's own load), and
 * the verbs engines call most load the addon.
 */
function loadEmbedded(): Addon {
  try {
    return require('../../runts.linux-x64-gnu.node') as Addon;
  } catch (e) {
    const file = (Bun as BunRuntime).embeddedFiles.find((f) => f.name.startsWith('runts.') && f.name.endsWith('.node'));
    // Not compiled (`bun run` of the library, installed from npm): the platform package's.
    if (!file) return loadFromDisk();
    const { dlopen, FFIType, ptr } = require('bun:ffi') as BunFfi;
    const { closeSync, readFileSync, writeSync } = require('node:fs') as typeof import('node:fs');
    const libc = dlopen('libc.so.6', { memfd_create: { args: [FFIType.ptr, FFIType.u32], returns: FFIType.i32 } });
    const MFD_CLOEXEC = 1;
    const fd = libc.symbols.memfd_create(ptr(Buffer.from('runts-addon\0')), MFD_CLOEXEC);
    libc.close();
    if (fd < 0) throw e;
    try {
      // Bun's embedded files are under /$bunfs/root/ (its standalone graph, read in memory).
      const bytes = readFileSync(`/$bunfs/root/${file.name}`);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      const mod = { exports: {} as Addon };
      process.dlopen(mod, `/proc/self/fd/${fd}`);
      return mod.exports;
    } finally {
      closeSync(fd);
    }
  }
}

// The compiled binary always uses the addon embedded in it: an environment variable must not
// be able to make a root runtime load another shared object (dist/runts is also built without
// .env and bunfig.toml autoloading, for the same reason).
export const addon: Addon = typeof Bun !== 'undefined' ? loadEmbedded() : loadFromDisk();
