/**
 * The only importer of the native addon (crates/napi). Everything else goes through the typed
 * wrappers in ./index.ts.
 *
 * Under `bun build --compile` the addon must be `require`d by a literal path: that is how Bun
 * finds and embeds it into the single executable. The compiled binary does not let Bun load
 * it, though (Bun writes a copy to $TMPDIR and keeps it there for good, one per build, and
 * cannot map it from a noexec or read-only TMPDIR): it loads the embedded bytes from a memfd
 * (loadEmbedded). Under Node and Deno the addon is loaded from disk: `RUNTS_NATIVE` if set,
 * else the file built at the package root (this file is at src/native/ in a checkout and at
 * build/src/native/ once compiled), else the napi-rs platform package `runts-linux-x64-gnu`.
 * (Bun running the sources, `bun src/main.ts`, takes the file at the package root through the
 * literal require; Bun running the installed library, where that file is not, the platform
 * package's.)
 */
import { createRequire } from 'node:module';
import type * as Binding from './binding.js';
import { tmpDir } from '../paths.ts';
import { locateEmbedded } from './embedded.ts';

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
  embeddedFiles: { name: string; size: number }[];
}

/** The C functions the loader calls, through bun:ffi (the addon is what would give us system calls). */
interface Libc {
  memfd_create(name: Uint8Array, flags: number): number;
  open(path: Uint8Array, flags: number): number;
  pread(fd: number, buf: Uint8Array, count: number, offset: number): number;
  sendfile(out: number, input: number, offset: BigInt64Array, count: number): number;
  close(fd: number): number;
  __errno_location(): number;
}

/** What is used of bun:ffi (no Bun types in this project). */
interface BunFfi {
  FFIType: Record<'ptr' | 'u32' | 'i32' | 'i64' | 'i64_fast' | 'u64', number>;
  read: { i32(ptr: number): number };
  dlopen(lib: string, symbols: Record<string, { args: number[]; returns: number }>): { symbols: Libc; close(): void };
}

const MFD_CLOEXEC = 0x1;
/** Linux 6.3: an executable memfd, which a host with vm.memfd_noexec=1 requires to be asked for. */
const MFD_EXEC = 0x10;
const O_CLOEXEC = 0o2000000;
const O_TMPFILE = 0o20200000;
const O_RDWR = 0o2;
const EINVAL = 22;
const EINTR = 4;

const cstr = (s: string) => Buffer.from(`${s}\0`);

/**
 * The addon embedded in the compiled binary, loaded from a memfd (glibc's dlopen of
 * /proc/self/fd/N): no file anywhere, whatever TMPDIR is. Its bytes are copied in by the
 * kernel (sendfile from /proc/self/exe, at the offset ./embedded.ts finds), else through a
 * Buffer. Where memfds may not be executable (vm.memfd_noexec=2) the same is done with an
 * unnamed file in $TMPDIR (O_TMPFILE), which disappears with the process; that runts cannot
 * start containers there either is `runts check`'s to say, so check must still load.
 *
 * Measured against Bun's own load of its copy (`kill`, N=200 interleaved, docs/benchmarks.md
 * "The addon from a memfd"): the same time within 0.1-0.2 ms (the kernel's copy costs about
 * what Bun spent hashing its copy on every load) and 4.4 MB more peak RSS, bun:ffi's module
 * (+0.4 ms, +3.5 MB on an empty binary) and its compiled calls being most of both.
 *
 * The descriptor is closed once the library is loaded: the process loads it once (`addon`
 * below), so glibc's cache of /proc/self/fd/N names cannot hand out this library for another
 * (Bun's own memfd loading had that bug with two addons: oven-sh/bun#26080).
 */
function loadEmbedded(): Addon {
  const file = (Bun as BunRuntime).embeddedFiles.find((f) => f.name.startsWith('runts.') && f.name.endsWith('.node'));
  if (!file) {
    // Not compiled: Bun running the sources (the file at the package root) or the library
    // installed from npm (the platform package's).
    try {
      return require('../../runts.linux-x64-gnu.node') as Addon;
    } catch {
      return loadFromDisk();
    }
  }
  const ffi = require('bun:ffi') as BunFfi;
  const { ptr, u32, i32, i64_fast, u64 } = ffi.FFIType;
  const lib = ffi.dlopen('libc.so.6', {
    memfd_create: { args: [ptr, u32], returns: i32 },
    open: { args: [ptr, i32], returns: i32 },
    pread: { args: [i32, ptr, u64, i64_fast], returns: i64_fast },
    sendfile: { args: [i32, i32, ptr, u64], returns: i64_fast },
    close: { args: [i32], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  });
  const c = lib.symbols;
  const errno = () => ffi.read.i32(c.__errno_location());
  const failures: string[] = [];
  try {
    for (const make of [memfd, tmpfile]) {
      const fd = make(c, errno, failures);
      if (fd < 0) continue;
      try {
        fill(c, errno, fd, file);
        const mod = { exports: {} as Addon };
        process.dlopen(mod, `/proc/self/fd/${fd}`);
        return mod.exports;
      } catch (e) {
        failures.push(`${make.name}: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        c.close(fd);
      }
    }
  } finally {
    lib.close();
  }
  throw new Error(`cannot load the runts native addon embedded in ${process.execPath}: ${failures.join('; ')}`);
}

function memfd(c: Libc, errno: () => number, failures: string[]): number {
  const name = cstr('runts-addon');
  let fd = c.memfd_create(name, MFD_CLOEXEC | MFD_EXEC);
  // Before Linux 6.3 the flag is unknown, and every memfd may be mapped executable.
  if (fd < 0 && errno() === EINVAL) fd = c.memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) failures.push(`memfd_create: ${errnoName(errno())} (vm.memfd_noexec is ${sysctl('vm/memfd_noexec')})`);
  return fd;
}

function tmpfile(c: Libc, errno: () => number, failures: string[]): number {
  const dir = tmpDir();
  const fd = c.open(cstr(dir), O_TMPFILE | O_RDWR | O_CLOEXEC);
  if (fd < 0) failures.push(`open ${dir} with O_TMPFILE: ${errnoName(errno())}`);
  return fd;
}

/** The embedded file's bytes into `fd`: by the kernel where they are found in the executable. */
function fill(c: Libc, errno: () => number, fd: number, file: { name: string; size: number }): void {
  const exe = c.open(cstr('/proc/self/exe'), O_CLOEXEC);
  if (exe >= 0) {
    try {
      const read = (length: number, position: number) => {
        const buf = Buffer.alloc(length);
        const n = c.pread(exe, buf, length, position);
        return n >= 0 ? buf.subarray(0, n) : Buffer.alloc(0);
      };
      const at = locateEmbedded(read, file.size);
      if (at !== undefined) {
        const offset = new BigInt64Array([BigInt(at)]);
        let left = file.size;
        while (left > 0) {
          const n = c.sendfile(fd, exe, offset, left);
          if (n < 0 && errno() === EINTR) continue;
          if (n <= 0) break;
          left -= n;
        }
        if (left === 0) return;
      }
    } finally {
      c.close(exe);
    }
  }
  // Through a Buffer: Bun's embedded files are under /$bunfs/root/ (its graph, in memory).
  const { ftruncateSync, readFileSync, writeSync } = require('node:fs') as typeof import('node:fs');
  const bytes = readFileSync(`/$bunfs/root/${file.name}`);
  ftruncateSync(fd, 0);
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off, off);
}

function errnoName(n: number): string {
  const { errno } = (require('node:os') as typeof import('node:os')).constants;
  return Object.keys(errno).find((k) => (errno as Record<string, number>)[k] === n) ?? `errno ${n}`;
}

function sysctl(name: string): string {
  try {
    return (require('node:fs') as typeof import('node:fs')).readFileSync(`/proc/sys/${name}`, 'utf8').trim();
  } catch {
    return 'absent';
  }
}

// The compiled binary always uses the addon embedded in it: an environment variable must not
// be able to make a root runtime load another shared object (dist/runts is also built without
// .env and bunfig.toml autoloading, for the same reason).
export const addon: Addon = typeof Bun !== 'undefined' ? loadEmbedded() : loadFromDisk();
