/**
 * The starter config `runts spec` writes: byte for byte what `runc spec` (and
 * `runc spec --rootless`) of runc 1.1 writes, so tools and docs written for runc see the same
 * file. Key order matters (JSON.stringify keeps insertion order) and follows the field order
 * of runtime-spec's Go structs, which is what runc's encoder emits.
 */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.ts';
import { errnoText } from './load.ts';
import type { Mount, Spec } from './types.ts';

import { SPEC_VERSION } from '../version.ts';

/** The capabilities runc's starter spec keeps (Docker's old minimal set). */
function starterCaps(): string[] {
  return ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
}

/** What `runc spec` writes, as a fresh object (callers may mutate it). */
export function defaultSpec(): Spec {
  return {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: starterCaps(),
        effective: starterCaps(),
        permitted: starterCaps(),
        ambient: starterCaps(),
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      {
        destination: '/sys',
        type: 'sysfs',
        source: 'sysfs',
        options: ['nosuid', 'noexec', 'nodev', 'ro'],
      },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' },
        { type: 'network' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
      ],
      maskedPaths: [
        '/proc/acpi',
        '/proc/asound',
        '/proc/kcore',
        '/proc/keys',
        '/proc/latency_stats',
        '/proc/timer_list',
        '/proc/timer_stats',
        '/proc/sched_debug',
        '/sys/firmware',
        '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * `spec` made runnable by an unprivileged user, the way runc's `specconv.ToRootless` does it
 * (what `runc spec --rootless` writes): a new user namespace mapping container root to the
 * caller's effective uid/gid (one id each: an unprivileged user may map only itself without
 * newuidmap), no new network namespace (an unprivileged user cannot configure one), /sys bound
 * from the host (sysfs cannot be mounted without owning the network namespace), `uid=`/`gid=`
 * mount options dropped (those ids are unmapped), and no cgroup resources (not delegated).
 *
 * Returns a new object; `spec` is not modified. `ids` defaults to the process's effective ids.
 */
export function rootlessSpec(spec: Spec, ids?: { uid: number; gid: number }): Spec {
  const uid = ids?.uid ?? process.geteuid?.() ?? 0;
  const gid = ids?.gid ?? process.getegid?.() ?? 0;
  const out: Spec = structuredClone(spec);
  const linux = out.linux ?? {};

  const namespaces = (linux.namespaces ?? []).filter((ns) => ns.type !== 'network' && ns.type !== 'user');
  namespaces.push({ type: 'user' });

  const mounts: Mount[] = [];
  for (const m of out.mounts ?? []) {
    if (cleanPath(m.destination) === '/sys') {
      mounts.push({
        destination: '/sys',
        type: 'none',
        source: '/sys',
        options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
      });
      continue;
    }
    const options = (m.options ?? []).filter((o) => !o.startsWith('gid=') && !o.startsWith('uid='));
    // runc's encoder omits an empty options list (omitempty); keep the key only if it has entries.
    const { options: _dropped, ...rest } = m;
    mounts.push(options.length > 0 ? { ...rest, options } : rest);
  }
  if (out.mounts !== undefined) out.mounts = mounts;

  // Rebuild `linux` so the mappings come first, as in runtime-spec's Go struct (and the file runc
  // writes); the rest keep their order. `resources` goes.
  const { uidMappings: _u, gidMappings: _g, resources: _r, namespaces: _n, ...others } = linux;
  const rebuilt: Record<string, unknown> = {
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
  };
  // Go field order: uidMappings, gidMappings, sysctl, resources, cgroupsPath, namespaces, ...
  const beforeNamespaces = ['sysctl', 'cgroupsPath'];
  for (const k of beforeNamespaces) if (k in others) rebuilt[k] = (others as Record<string, unknown>)[k];
  rebuilt.namespaces = namespaces;
  for (const [k, v] of Object.entries(others)) if (!beforeNamespaces.includes(k)) rebuilt[k] = v;
  out.linux = rebuilt as Spec['linux'];
  return out;
}

/** Go's filepath.Clean for the few forms a mount destination takes ("/sys/", "//sys", "/sys/."). */
function cleanPath(p: string): string {
  const parts: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  const joined = parts.join('/');
  return p.startsWith('/') ? '/' + joined : joined || '.';
}

/** The file `runc spec` writes: tab-indented JSON without a trailing newline. */
export function formatSpec(spec: Spec): string {
  return JSON.stringify(spec, null, '\t');
}

/**
 * `runts spec`: write the starter config to `<bundleDir>/config.json` ("" is the current
 * directory) and return its path. Like runc: mode 0666 less the umask, and never over an
 * existing file (created with O_EXCL, so two concurrent calls cannot both write).
 */
export function writeStarterSpec(bundleDir: string, opts: { rootless?: boolean } = {}): string {
  const file = join(bundleDir || '.', 'config.json');
  const spec = opts.rootless ? rootlessSpec(defaultSpec()) : defaultSpec();
  try {
    writeFileSync(file, formatSpec(spec), { mode: 0o666, flag: 'wx' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    // runc's exact text, which scripts may match.
    if (code === 'EEXIST') throw new RuntsError('File config.json exists. Remove it first');
    if (bundleDir && (code === 'ENOENT' || code === 'ENOTDIR')) {
      throw new RuntsError(`bundle ${bundleDir}: ${errnoText(code)}`);
    }
    throw new RuntsError(`open ${file}: ${errnoText(code, (err as Error).message)}`);
  }
  return file;
}
