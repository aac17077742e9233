/**
 * `runts check`: a diagnosis of the host for containers. The kernel and host facts are probed
 * by the core with the system calls themselves (crates/core/src/probe.rs); here, whether the
 * engines on the host are configured to use runts (their configuration files).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostCheck } from '../native/index.ts';
import { ADDON_CACHE, tmpDir } from '../paths.ts';
import type { Resolved } from './options.ts';

export interface CheckFinding {
  /** "cgroups", "user namespaces", "seccomp", ..., "containerd", "Docker", "podman", "CRI-O". */
  area: string;
  status: 'ok' | 'warn' | 'fail';
  /** What was found, and what it means for containers. */
  detail: string;
  /** How to fix it (not OK only). */
  fix?: string;
}

export function checkHost(g: Resolved): CheckFinding[] {
  const found = hostCheck({ criu: g.criu, stateRoot: g.root, tmpDir: tmpDir(), addonCache: ADDON_CACHE }).map(
    (f): CheckFinding => ({ area: f.area, status: f.status as CheckFinding['status'], detail: f.detail, ...(f.fix ? { fix: f.fix } : {}) }),
  );
  return [...found, ...engines()];
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** `name` on PATH (or in the sbin directories engines install to). */
function installed(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin'];
  return dirs.filter(Boolean).map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/** The files of a conf.d directory, sorted (a missing one is empty). */
function confDir(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.conf')).sort().map((f) => `${dir}/${f}`);
  } catch {
    return [];
  }
}

interface Engine {
  area: string;
  bin: string;
  files: () => string[];
  /** Whether a configuration file's text makes the engine use runts. */
  uses: (text: string) => boolean;
  fix: (runts: string) => string;
}

const mentionsRunts = (text: string) => /\brunts\b/.test(text);

const ENGINES: Engine[] = [
  {
    area: 'containerd',
    bin: 'containerd',
    files: () => ['/etc/containerd/config.toml', ...confDir('/etc/containerd/conf.d')],
    uses: mentionsRunts,
    fix: (runts) => `in /etc/containerd/config.toml, a runtime "runts" (runtime_type "io.containerd.runc.v2") with options BinaryName = "${runts}", and a RuntimeClass with handler runts`,
  },
  {
    area: 'Docker',
    bin: 'dockerd',
    files: () => ['/etc/docker/daemon.json'],
    uses: (text) => {
      try {
        const conf = JSON.parse(text) as { runtimes?: Record<string, { path?: string }> };
        return Object.entries(conf.runtimes ?? {}).some(([name, r]) => mentionsRunts(name) || mentionsRunts(r.path ?? ''));
      } catch {
        return false;
      }
    },
    fix: (runts) => `in /etc/docker/daemon.json: "runtimes": {"runts": {"path": "${runts}"}} (and "default-runtime": "runts", or docker run --runtime runts)`,
  },
  {
    area: 'podman',
    bin: 'podman',
    files: () => [
      '/usr/share/containers/containers.conf',
      '/etc/containers/containers.conf',
      ...confDir('/etc/containers/containers.conf.d'),
      ...(process.env.HOME ? [`${process.env.HOME}/.config/containers/containers.conf`] : []),
    ],
    uses: mentionsRunts,
    fix: (runts) => `in containers.conf: [engine] runtime = "runts", and [engine.runtimes] runts = ["${runts}"] (or podman --runtime ${runts})`,
  },
  {
    area: 'CRI-O',
    bin: 'crio',
    files: () => ['/etc/crio/crio.conf', ...confDir('/etc/crio/crio.conf.d')],
    uses: mentionsRunts,
    fix: (runts) => `in /etc/crio/crio.conf.d/: [crio.runtime.runtimes.runts] runtime_path = "${runts}", and a RuntimeClass with handler runts`,
  },
];

function engines(): CheckFinding[] {
  const runts = process.execPath.endsWith('/runts') ? process.execPath : '/usr/local/bin/runts';
  return ENGINES.map((e): CheckFinding => {
    const bin = installed(e.bin);
    if (!bin) return { area: e.area, status: 'ok', detail: `not installed (no ${e.bin})` };
    const using = e.files().filter((f) => {
      const text = read(f);
      return text !== undefined && e.uses(text);
    });
    if (using.length) return { area: e.area, status: 'ok', detail: `${bin}: configured to use runts (${using.join(', ')})` };
    return { area: e.area, status: 'warn', detail: `${bin} is installed but not configured to use runts`, fix: e.fix(runts) };
  });
}
