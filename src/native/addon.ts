/**
 * The only importer of the native addon (crates/napi). Everything else goes through the typed
 * wrappers in ./index.ts.
 *
 * Under `bun build --compile` the addon must be `require`d by a literal path: that is how Bun
 * finds and embeds it into the single executable. The compiled binary does not let Bun load
 * it, though (Bun writes a copy to $TMPDIR and keeps it there for good, one per build, and
 * cannot map it from a noexec or read-only TMPDIR): loadEmbedded maps root's own copy in
 * ADDON_CACHE, or loads the embedded bytes from a memfd. Under Node and Deno the addon is loaded from disk: `RUNTS_NATIVE` if set,
 * else the file built at the package root (this file is at src/native/ in a checkout and at
 * build/src/native/ once compiled), else the napi-rs platform package `runts-linux-x64-gnu`.
 * (Bun running the sources, `bun src/main.ts`, takes the file at the package root through the
 * literal require; Bun running the installed library, where that file is not, the platform
 * package's.)
 */
import type * as Binding from './binding.js';
import { ADDON_CACHE, tmpDir } from '../paths.ts';
import { cachedCopy, embeddedAddon } from './cached.ts';
import { locateEmbedded } from './embedded.ts';
import { builtinModule } from '../builtins.ts';

declare const Bun: unknown;
declare const require: (id: string) => unknown;

export type Addon = typeof Binding;

function loadFromDisk(): Addon {
  // node:module through src/builtins.ts: imported at the top, it would cost every call of the
  // compiled runts, which maps its own copy, 0.1 ms.
  const req = builtinModule<typeof import('node:module')>('node:module').createRequire(import.meta.url);
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

/** The C functions the loader calls, through bun:ffi (the addon is what would give us system calls). */
interface Libc {
  memfd_create(name: Uint8Array, flags: number): number;
  open(path: Uint8Array, flags: number, mode: number): number;
  mkdir(path: Uint8Array, mode: number): number;
  statvfs(path: Uint8Array, buf: Uint8Array): number;
  fdatasync(fd: number): number;
  linkat(olddirfd: number, oldpath: Uint8Array, newdirfd: number, newpath: Uint8Array, flags: number): number;
  unlink(path: Uint8Array): number;
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
const EEXIST = 17;
const AT_FDCWD = -100;
const AT_SYMLINK_FOLLOW = 0x400;
const ST_RDONLY = 1;
const ST_NOEXEC = 8;

/** How many builds' copies the cache keeps (the newest): two runts in use side by side must not rewrite each other's on every call. */
const CACHE_KEEP = 3;

const cstr = (s: string) => Buffer.from(`${s}\0`);

/**
 * The addon embedded in the compiled binary. As root, from its copy in ADDON_CACHE, made on
 * the first call of a build: the kernel copies the embedded bytes out of /proc/self/exe
 * (sendfile, at the offset ./embedded.ts finds; else through a Buffer) into an unnamed file
 * there, which is named once whole. Otherwise (another user, or the cache read-only or
 * noexec) the same copy goes into a memfd on every call (glibc's dlopen of /proc/self/fd/N);
 * where memfds may not be executable (vm.memfd_noexec=2), into an unnamed file in $TMPDIR
 * (O_TMPFILE), gone with the process: that runts cannot start containers there either is
 * `runts check`'s to say, so check must still load. Nothing is ever written to TMPDIR.
 *
 * Measured against Bun's own load of its copy in TMPDIR (`kill`, harness -X N=200
 * interleaved, docs/benchmarks.md "The addon without Bun's copy"): the cache 1.2 ms faster
 * (Bun hashed its 2.4 MB copy on every call), the memfd 1.1 ms slower (bun:ffi's module, the
 * kernel's copy into fresh pages).
 *
 * A memfd's descriptor is closed once the library is loaded: the process loads it once
 * (`addon` below), so glibc's cache of /proc/self/fd/N names cannot hand out this library for
 * another (Bun's own memfd loading had that bug with two addons: oven-sh/bun#26080).
 */
function loadEmbedded(): Addon {
  const file = embeddedAddon();
  if (!file) {
    // Not compiled: Bun running the sources (the file at the package root) or the library
    // installed from npm (the platform package's).
    try {
      return require('../../runts.linux-x64-gnu.node') as Addon;
    } catch {
      return loadFromDisk();
    }
  }
  // A root runtime maps its copy in ADDON_CACHE when there is one: no copying at all.
  const cache = cachedCopy(file);
  if (cache) {
    try {
      return dlopen(cache);
    } catch {
      // Absent (the first call of this build), or unusable: made below.
    }
  }
  const ffi = require('bun:ffi') as BunFfi;
  const { ptr, u32, i32, i64_fast, u64 } = ffi.FFIType;
  const lib = ffi.dlopen('libc.so.6', {
    memfd_create: { args: [ptr, u32], returns: i32 },
    open: { args: [ptr, i32, u32], returns: i32 },
    mkdir: { args: [ptr, u32], returns: i32 },
    statvfs: { args: [ptr, ptr], returns: i32 },
    fdatasync: { args: [i32], returns: i32 },
    linkat: { args: [i32, ptr, i32, ptr, i32], returns: i32 },
    unlink: { args: [ptr], returns: i32 },
    pread: { args: [i32, ptr, u64, i64_fast], returns: i64_fast },
    sendfile: { args: [i32, i32, ptr, u64], returns: i64_fast },
    close: { args: [i32], returns: i32 },
    __errno_location: { args: [], returns: ptr },
  });
  const c = lib.symbols;
  const errno = () => ffi.read.i32(c.__errno_location());
  const failures: string[] = [];
  const makers = cache && cacheUsable(c) ? [cached, memfd, tmpfile] : [memfd, tmpfile];
  try {
    for (const make of makers) {
      const fd = make(c, errno, failures);
      if (fd < 0) continue;
      try {
        fill(c, errno, fd, file);
        // Once named, by its name (what /proc/<pid>/maps then shows, as for the next calls).
        if (make === cached && publish(c, errno, fd, cache!)) return dlopen(cache!);
        return dlopen(`/proc/self/fd/${fd}`);
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

function dlopen(path: string): Addon {
  const mod = { exports: {} as Addon };
  process.dlopen(mod, path);
  return mod.exports;
}

/** ADDON_CACHE made if missing (0700), and on a filesystem that is writable and allows exec. */
function cacheUsable(c: Libc): boolean {
  for (const dir of [ADDON_CACHE.slice(0, ADDON_CACHE.lastIndexOf('/')), ADDON_CACHE]) c.mkdir(cstr(dir), 0o700);
  const buf = new Uint8Array(112); // glibc's struct statvfs on 64-bit Linux; f_flag at 72
  if (c.statvfs(cstr(ADDON_CACHE), buf) !== 0) return false;
  const flags = Number(new DataView(buf.buffer).getBigUint64(72, true));
  return (flags & (ST_RDONLY | ST_NOEXEC)) === 0;
}

/** An unnamed file in ADDON_CACHE: named by publish only once it is whole. */
function cached(c: Libc, errno: () => number, failures: string[]): number {
  const fd = c.open(cstr(ADDON_CACHE), O_TMPFILE | O_RDWR | O_CLOEXEC, 0o500);
  if (fd < 0) failures.push(`open ${ADDON_CACHE} with O_TMPFILE: ${errnoName(errno())}`);
  return fd;
}

/**
 * The whole copy in `fd` linked to its name in ADDON_CACHE, flushed first so that a crash
 * cannot leave a named part; a runtime killed before that leaves nothing (O_TMPFILE). A copy
 * of the same name already there failed to load (or another runtime made it a moment ago,
 * complete as well): replaced. Then the oldest builds' copies beyond CACHE_KEEP are removed:
 * no copy of a build long gone stays behind. Whether the copy got its name.
 */
function publish(c: Libc, errno: () => number, fd: number, path: string): boolean {
  if (c.fdatasync(fd) !== 0) return false;
  const link = () => c.linkat(AT_FDCWD, cstr(`/proc/self/fd/${fd}`), AT_FDCWD, cstr(path), AT_SYMLINK_FOLLOW) === 0;
  const named = link() || (errno() === EEXIST && c.unlink(cstr(path)) === 0 && link());
  const { readdirSync, statSync, unlinkSync } = require('node:fs') as typeof import('node:fs');
  try {
    const copies = readdirSync(ADDON_CACHE)
      .filter((n) => n.endsWith('.node'))
      .map((n) => ({ path: `${ADDON_CACHE}/${n}`, mtime: statSync(`${ADDON_CACHE}/${n}`).mtimeMs }))
      .sort((a, b) => b.mtime - a.mtime);
    for (const old of copies.slice(CACHE_KEEP)) if (old.path !== path) unlinkSync(old.path);
  } catch {
    // Another runtime pruning at the same time: what it removed is gone either way.
  }
  return named;
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
  const fd = c.open(cstr(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, 0o500);
  if (fd < 0) failures.push(`open ${dir} with O_TMPFILE: ${errnoName(errno())}`);
  return fd;
}

/** The embedded file's bytes into `fd`: by the kernel where they are found in the executable. */
function fill(c: Libc, errno: () => number, fd: number, file: { name: string; size: number }): void {
  const exe = c.open(cstr('/proc/self/exe'), O_CLOEXEC, 0);
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
