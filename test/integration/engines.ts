// Helpers for the engine tests (containerd.test.ts, cri.test.ts): a private engine daemon
// started by the test and stopped by pid, and the checks that it left nothing behind.
//
// Each daemon gets its own directory (its root, state, socket, config, log), its own cgroup
// parent for the containers it starts, and unique names (process.pid in them), so it runs
// beside the system's daemons and other test files' daemons without touching them. Nothing is
// found by name (no pkill): the daemon is the pid we spawned; what it started is found through
// our directory (in a command line, a root, a mount point) or our cgroup parent.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO, callRaw, cgroupMounts, describeCall, killUntilGone, mountsUnder, procCgroups, sleep } from './helpers.ts';
import type { CallResult } from './helpers.ts';

// ---------------------------------------------------------------------------
// Which commands a runtime has

const helpCache = new Map<string, boolean>();

/**
 * Whether `bin` implements the subcommand `cmd`: `bin cmd --help` exits 0 *and* prints the
 * help of that command. The exit status alone is not enough: a CLI that falls back to the
 * global help for an unknown command exits 0 too (runts' commander program does), while runc
 * prints "NAME:\n   runc exec - ..." for a command it has.
 */
export function hasCommand(bin: string, cmd: string): boolean {
  const key = `${bin}\0${cmd}`;
  const cached = helpCache.get(key);
  if (cached !== undefined) return cached;
  const r = spawnSync(bin, [cmd, '--help'], { encoding: 'utf8', timeout: 10_000 });
  const head = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(0, 6).join('\n');
  const esc = cmd.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const ok = r.status === 0 && new RegExp(`(^|[\\s:])${esc}(\\s|$)`, 'm').test(head.replace(/\[[^\]]*\]/g, ''));
  helpCache.set(key, ok);
  return ok;
}

/** A node:test `skip` value: false when `bin` has `cmd`, else the reason. */
export function skipUnlessCommand(bin: string, cmd: string): string | false {
  return hasCommand(bin, cmd) ? false : `${path.basename(bin)} has no ${cmd} command yet (\`${path.basename(bin)} ${cmd} --help\` does not show its help)`;
}

/**
 * A node:test `skip` value: false when `bin`'s `features` says it enforces seccomp, else the
 * reason (runts until issue 10: the scenarios turn on by themselves when it does).
 */
export function skipUnlessSeccomp(bin: string): string | false {
  const r = spawnSync(bin, ['features'], { encoding: 'utf8', timeout: 10_000 });
  let enabled: unknown;
  try {
    enabled = (JSON.parse(r.stdout) as { linux?: { seccomp?: { enabled?: unknown } } }).linux?.seccomp?.enabled;
  } catch {
    enabled = undefined;
  }
  return enabled === true ? false : `${path.basename(bin)} does not enforce seccomp yet (features: linux.seccomp.enabled is ${String(enabled)})`;
}

// ---------------------------------------------------------------------------
// A private daemon

export interface DaemonOptions {
  /** For messages: "containerd". */
  name: string;
  bin: string;
  args: string[];
  /** Where its stdout and stderr go. */
  logFile: string;
  /** The unix socket it serves on; start() resolves once it accepts connections. */
  socket: string;
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs?: number;
}

export class Daemon {
  readonly child: ChildProcess;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  private constructor(readonly opts: DaemonOptions) {
    const fd = fs.openSync(opts.logFile, 'a');
    try {
      // Its own process group (detached), so a signal meant for the test runner's group does
      // not reach it first, and its stdio in a file so it never blocks on a full pipe.
      this.child = spawn(opts.bin, opts.args, { stdio: ['ignore', fd, fd], detached: true, env: opts.env ?? process.env });
    } finally {
      fs.closeSync(fd);
    }
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
      this.child.on('error', (e) => {
        this.exitInfo = { code: null, signal: null };
        fs.appendFileSync(opts.logFile, `\nspawn ${opts.bin}: ${e.message}\n`);
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`spawn ${this.opts.bin} failed:\n${this.logTail()}`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === undefined;
  }

  /** Spawns the daemon and waits until its socket accepts a connection. */
  static async start(opts: DaemonOptions): Promise<Daemon> {
    const d = new Daemon(opts);
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (!d.running) throw new Error(`${opts.name} exited before serving ${opts.socket} (${JSON.stringify(d.exitInfo)}):\n${d.logTail()}`);
      if (await socketAccepts(opts.socket)) return d;
      if (Date.now() > deadline) {
        await d.stop();
        throw new Error(`${opts.name} did not serve ${opts.socket} in time:\n${d.logTail()}`);
      }
      await sleep(50);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the daemon has exited (it is our
   * child, so node reaps it). Safe to call twice. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(t);
    }
  }

  logTail(lines = 40): string {
    try {
      return fs.readFileSync(this.opts.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Whether a unix socket accepts a connection now. */
export async function socketAccepts(socket: string): Promise<boolean> {
  if (!fs.existsSync(socket)) return false;
  const net = await import('node:net');
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------
// Engine client calls

/** callRaw that insists on exit status 0, with the daemon's log tail in the error. */
export function mustCall(bin: string, argv: string[], opts: { timeoutMs?: number; daemon?: Daemon } = {}): CallResult {
  const r = callRaw(bin, argv, { timeoutMs: opts.timeoutMs ?? 30_000 });
  if (r.status !== 0) {
    const tail = opts.daemon ? `\n--- ${opts.daemon.opts.name} log (tail) ---\n${opts.daemon.logTail(15)}` : '';
    throw new Error(`expected success: ${path.basename(bin)} ${describeCall(r)}${tail}`);
  }
  return r;
}

// ---------------------------------------------------------------------------
// What a daemon can leave behind

/** Live processes (not zombies, not us) that reference `dir`: in their command line, or as
 * their root, cwd or executable. A shim's command line names the daemon's socket; a
 * container's root is its rootfs under the daemon's state dir. */
export function processesUsing(dir: string): { pid: number; what: string }[] {
  const out: { pid: number; what: string }[] = [];
  const inside = (p: string) => p === dir || p.startsWith(dir + '/');
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const links = ['root', 'cwd', 'exe'].map((l) => {
        try {
          return fs.readlinkSync(`/proc/${e}/${l}`);
        } catch {
          return '';
        }
      });
      if (cmdline.includes(dir) || links.some(inside)) out.push({ pid: Number(e), what: cmdline || links.join(' ') });
    } catch {
      // gone
    }
  }
  return out;
}

/** Live processes whose cgroup, in any hierarchy, is `parent` or below it (a path like
 * "/runts-ctrd-123"). */
export function processesInCgroup(parent: string): { pid: number; cgroup: string }[] {
  const out: { pid: number; cgroup: string }[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const cgs = procCgroups(Number(e));
    if (!cgs) continue;
    for (const p of cgs.values()) {
      if (p === parent || p.startsWith(parent + '/')) {
        out.push({ pid: Number(e), cgroup: p });
        break;
      }
    }
  }
  return out;
}

/** Directories named `rel` (e.g. "/runts-ctrd-123/c1") in every mounted cgroup hierarchy
 * that exist now. */
export function cgroupDirsAt(rel: string): string[] {
  return [...new Set(cgroupMounts().values())].map((m) => path.join(m, rel)).filter((d) => fs.existsSync(d));
}

/** rmdir `rel` and every cgroup below it, deepest first, in every hierarchy (best effort:
 * a cgroup with live tasks stays). */
export function removeCgroupTree(rel: string): void {
  for (const top of cgroupDirsAt(rel)) {
    const walk = (d: string) => {
      let entries: fs.Dirent[] = [];
      try {
        entries = fs.readdirSync(d, { withFileTypes: true });
      } catch {
        return;
      }
      for (const c of entries) if (c.isDirectory()) walk(path.join(d, c.name));
      try {
        fs.rmdirSync(d);
      } catch {
        // busy or gone
      }
    };
    walk(top);
  }
}

/** Entries of `dir` (none when it does not exist). */
export function entries(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/** Polls `problems` until it returns none or the time is up; returns the last list. Used
 * for what goes away asynchronously (a shim exits shortly after the delete that ends it). */
export async function settle(problems: () => string[], timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = problems();
    if (p.length === 0 || Date.now() > deadline) return p;
    await sleep(100);
  }
}

/**
 * Tears down what a stopped daemon left under `dir` and in `cgroupParent` after the checks
 * have run: SIGKILL to the processes found there (they are ours: started through our private
 * daemon), lazy unmounts deepest first, the cgroup tree, then the directory (never through a
 * mount that would not go away).
 */
export function forceCleanup(dir: string, cgroupParent: string): void {
  killUntilGone(() => [...processesUsing(dir).map((p) => p.pid), ...processesInCgroup(cgroupParent).map((p) => p.pid)]);
  if (fs.existsSync(dir)) {
    for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m.mountPoint], { stdio: 'ignore' });
  }
  removeCgroupTree(cgroupParent);
  if (fs.existsSync(dir)) {
    if (mountsUnder(dir).length > 0) {
      process.stderr.write(`engine cleanup: mounts remain under ${dir}; not removing it\n`);
      return;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Problems a daemon left behind after it was stopped: processes using its dir or in its
 * cgroup parent, mounts under its dir, cgroups below its parent. */
export function daemonLeftovers(dir: string, cgroupParent: string): string[] {
  const problems: string[] = [];
  const procs = processesUsing(dir);
  if (procs.length > 0) problems.push(`processes using ${dir}: ${procs.map((p) => `${p.pid} (${p.what})`).join('; ')}`);
  const inCg = processesInCgroup(cgroupParent);
  if (inCg.length > 0) problems.push(`processes in cgroup ${cgroupParent}: ${inCg.map((p) => `${p.pid} (${p.cgroup})`).join('; ')}`);
  if (fs.existsSync(dir)) {
    const mounts = mountsUnder(dir);
    if (mounts.length > 0) problems.push(`mounts under ${dir}: ${mounts.map((m) => m.mountPoint).join(', ')}`);
  }
  const cgs = cgroupDirsAt(cgroupParent).flatMap((d) =>
    entries(d)
      .filter((e) => fs.statSync(path.join(d, e)).isDirectory())
      .map((e) => path.join(d, e)),
  );
  if (cgs.length > 0) problems.push(`cgroups below ${cgroupParent}: ${cgs.join(', ')}`);
  return problems;
}

// ---------------------------------------------------------------------------
// A private containerd (1.6): its own root, state, socket, config and cgroup parent

export const CONTAINERD = '/usr/bin/containerd';
export const CTR = '/usr/bin/ctr';
export const SHIM_V2 = '/usr/bin/containerd-shim-runc-v2';
/** test/engines/containerd.sh builds crictl here (outside the checkout, once per machine). */
export const CRICTL = process.env.CRICTL ?? `${process.env.RUNTS_TEST_CACHE ?? '/var/cache/runts-test'}/crictl-v1.34.0/crictl`;
export const OCI_IMAGE_SH = path.join(REPO, 'test/engines/oci-image.sh');

/** Why containerd tests cannot run here, or false. */
export function containerdMissing(): string | false {
  for (const f of [CONTAINERD, CTR, SHIM_V2]) {
    if (!fs.existsSync(f)) return `${f} not installed (test/engines/containerd.sh installs Debian's containerd)`;
  }
  return false;
}

/** TOML basic string. */
export function toml(s: string): string {
  return JSON.stringify(s);
}

export interface ContainerdOptions {
  /** Directory (created empty by the caller) that holds everything of this daemon. */
  dir: string;
  /** Cgroup parent of the containers, e.g. "/runts-ctrd-123" (cgroupfs path). */
  cgroupParent: string;
  /** The CRI plugin's TOML (the `[plugins."io.containerd.grpc.v1.cri"]` tables); without it
   * the plugin is disabled. */
  criToml?: string;
}

export class Containerd {
  readonly dir: string;
  readonly root: string;
  readonly state: string;
  readonly socket: string;
  readonly config: string;
  readonly log: string;
  readonly fifoDir: string;
  readonly cgroupParent: string;
  private daemon: Daemon | undefined;

  constructor(opts: ContainerdOptions) {
    this.dir = opts.dir;
    this.root = path.join(opts.dir, 'root');
    this.state = path.join(opts.dir, 'state');
    this.socket = path.join(opts.dir, 'containerd.sock');
    this.config = path.join(opts.dir, 'config.toml');
    this.log = path.join(opts.dir, 'containerd.log');
    this.fifoDir = path.join(opts.dir, 'fifo');
    this.cgroupParent = opts.cgroupParent;
    // Plugins that cannot work here (no btrfs, zfs, devmapper pool, aufs) are disabled so the
    // log is not full of their errors; the CRI plugin is on only when asked for.
    const disabled = [
      'io.containerd.snapshotter.v1.btrfs',
      'io.containerd.snapshotter.v1.zfs',
      'io.containerd.snapshotter.v1.devmapper',
      'io.containerd.snapshotter.v1.aufs',
      ...(opts.criToml ? [] : ['io.containerd.grpc.v1.cri']),
    ];
    const text = [
      '# Written by test/integration/engines.ts: a private containerd for one test file.',
      'version = 2',
      `root = ${toml(this.root)}`,
      `state = ${toml(this.state)}`,
      // 0: leave the OOM score alone (raising our own is allowed, lowering it is not: no
      // CAP_SYS_RESOURCE on this machine).
      'oom_score = 0',
      `disabled_plugins = ${JSON.stringify(disabled)}`,
      '',
      '[grpc]',
      `  address = ${toml(this.socket)}`,
      '[ttrpc]',
      `  address = ${toml(this.socket + '.ttrpc')}`,
      '[debug]',
      '  address = ""',
      '  level = "info"',
      '[metrics]',
      '  address = ""',
      '',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${toml(path.join(opts.dir, 'opt'))}`,
      '',
      opts.criToml ?? '',
    ].join('\n');
    fs.writeFileSync(this.config, text);
  }

  async start(): Promise<void> {
    this.daemon = await Daemon.start({
      name: 'containerd',
      bin: CONTAINERD,
      args: ['--config', this.config],
      logFile: this.log,
      socket: this.socket,
    });
  }

  get pid(): number | undefined {
    return this.daemon?.pid;
  }

  logTail(lines = 30): string {
    return this.daemon?.logTail(lines) ?? '(not started)';
  }

  /** `ctr --address SOCK -n NS ...args`. */
  ctr(ns: string, args: string[], timeoutMs = 30_000): CallResult {
    return callRaw(CTR, ['--address', this.socket, '--namespace', ns, ...args], { timeoutMs });
  }

  ctrOk(ns: string, args: string[], timeoutMs = 30_000): string {
    return mustCall(CTR, ['--address', this.socket, '--namespace', ns, ...args], { timeoutMs, daemon: this.daemon }).stdout;
  }

  /** Where the runc v2 shim keeps a task's bundle (config.json, rootfs mount, log.json). */
  bundleDir(ns: string, id: string): string {
    return path.join(this.state, 'io.containerd.runtime.v2.task', ns, id);
  }

  /** The shim's socket: containerd 1.6 puts it in /run/containerd/s whatever its --state,
   * named sha256(<grpc address>/<namespace>/<id>) (runtime/v2/shim/util_unix.go SocketAddress). */
  shimSocket(ns: string, id: string): string {
    return `/run/containerd/s/${createHash('sha256').update(path.join(this.socket, ns, id)).digest('hex')}`;
  }

  /** Stops the daemon by its pid (SIGTERM, then SIGKILL). The shims outlive it by design
   * (containers survive a daemon restart): delete the tasks first. */
  async stop(): Promise<void> {
    await this.daemon?.stop();
  }
}

/** The host directory of cgroup `rel` in the v1 hierarchy holding `controller` (asserts it
 * exists). */
export function hostCgroupDir(controller: string, rel: string): string {
  for (const [key, mnt] of cgroupMounts()) {
    if (key.split(',').includes(controller)) {
      const d = path.join(mnt, rel);
      if (!fs.existsSync(d)) throw new Error(`cgroup ${d} does not exist`);
      return d;
    }
  }
  throw new Error(`no cgroup v1 hierarchy with the ${controller} controller is mounted`);
}
