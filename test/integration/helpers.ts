// Helpers for the integration suite: real containers, run as root, checked from
// inside (STYLE.md habit 6).
//
// The binary under test is $RUNTS_BIN (default <repo>/dist/runts). Every test is
// first validated against runc itself (RUNTS_BIN=/usr/sbin/runc), and tests that
// must behave like runc run the same bundle under $RUNC_BIN (default
// /usr/sbin/runc) and compare.
//
// Each container gets its own temp dir holding its --root and its bundle, a
// unique id, and a cleanup registered with t.after that kills whatever is left,
// unmounts whatever is left under the bundle and removes both dirs; checks that
// *nothing* was left are explicit assertions (assertNothingLeft) so a leak fails
// the test instead of being silently cleaned up.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess, SpawnSyncReturns } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

// ---------------------------------------------------------------------------
// Locations

/** The repository root: the nearest ancestor holding runts' package.json (works
 * from test/integration/*.ts and from the compiled build/test/integration/*.js). */
export const REPO: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'runts') return dir;
      } catch {
        // not ours; keep climbing
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('integration helpers: cannot find the runts repository root');
    dir = up;
  }
})();

export const BIN: string = path.resolve(process.env.RUNTS_BIN ?? path.join(REPO, 'dist/runts'));
export const RUNC: string = process.env.RUNC_BIN ?? '/usr/sbin/runc';
export const MAKE_BUNDLE: string = path.join(REPO, 'test/fixtures/make-bundle.sh');

/** True when the suite is validating itself against runc rather than testing runts. */
export const BIN_IS_RUNC: boolean = path.basename(BIN) === 'runc';
/** Whether $RUNC_BIN exists. test/setup.sh installs runc, so a comparison never depends on
 * this: it calls requireRunc(), which fails the test when runc is missing. */
export const HAVE_RUNC: boolean = fs.existsSync(RUNC);

/** The runc to compare with; throws (failing the test that compares) when it is not
 * installed: test/setup.sh installs it, so its absence is a broken setup, not a skip. */
export function requireRunc(): string {
  if (!fs.existsSync(RUNC)) {
    throw new Error(`${RUNC} not found: the comparisons with runc need it (test/setup.sh installs Debian's runc; RUNC_BIN names another)`);
  }
  return RUNC;
}

export const IS_ROOT: boolean = process.getuid?.() === 0;

/** Why the whole suite cannot run here, or undefined. Missing binary is a
 * failure, not a skip: a silently skipped suite is easy to miss in CI. */
export const SKIP_REASON: string | undefined = !IS_ROOT
  ? 'integration tests need root (they create namespaces and mounts)'
  : process.platform !== 'linux'
    ? 'integration tests need Linux'
    : undefined;

/** Per-test budget for node:test; a single runtime invocation gets RUN_TIMEOUT_MS. */
export const TEST_TIMEOUT_MS = 60_000;
export const RUN_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------------------
// The OCI spec, as far as the tests touch it

export interface Rlimit { type: string; hard: number; soft: number }
export interface IdMapping { containerID: number; hostID: number; size: number }
export interface Mount { destination: string; type?: string; source?: string; options?: string[] }
export interface Spec {
  ociVersion: string;
  process: {
    terminal?: boolean;
    user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
    args: string[];
    env?: string[];
    cwd: string;
    capabilities?: Partial<Record<'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient', string[]>>;
    rlimits?: Rlimit[];
    noNewPrivileges?: boolean;
    [k: string]: unknown;
  };
  root: { path: string; readonly?: boolean };
  hostname?: string;
  mounts?: Mount[];
  linux?: {
    namespaces?: { type: string; path?: string }[];
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

// ---------------------------------------------------------------------------
// The busybox rootfs template: built once per test process with make-bundle.sh,
// copied per container (a copy costs a few ms; building costs ~0.3 s).

let template: string | undefined;

/** The shared busybox bundle the tests copy (made once per test process). */
export function templateBundle(): string {
  if (template) return template;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-it-template-'));
  const bundle = path.join(dir, 'bundle');
  const r = spawnSync('bash', [MAKE_BUNDLE, bundle], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`make-bundle.sh failed (status ${r.status}): ${r.stderr}`);
  }
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  template = bundle;
  return bundle;
}

// ---------------------------------------------------------------------------
// One container's world: temp dir, --root, bundle, id

export interface Ctx {
  /** The runtime binary this context runs. */
  bin: string;
  /** Temp dir holding root/ and bundle/; removed by cleanup. */
  dir: string;
  /** The runtime's --root (state dir). Starts empty. */
  root: string;
  bundle: string;
  rootfs: string;
  id: string;
}

let counter = 0;

/** An id that is safe to use as a path component (bad-id tests use others, and
 * cleanup must not turn `..` into a path). */
export function isPlainId(id: string): boolean {
  return /^[\w+.-]+$/.test(id) && id !== '.' && id !== '..';
}

/** Fails with a useful message when the binary under test is missing. */
export function assertBinary(bin: string = BIN): void {
  if (!fs.existsSync(bin)) {
    throw new Error(`runtime binary ${bin} not found: build it with \`npm run build\` or set RUNTS_BIN (e.g. RUNTS_BIN=/usr/sbin/runc to validate the suite)`);
  }
}

/** A container id unique across test processes and runs, valid for runc's
 * `^[\w+-\.]+$`. */
export function uniqueId(prefix = 'it'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface SetupOptions {
  /** Binary to run; defaults to BIN. */
  bin?: string;
  /** Edits config.json before the run. */
  mutate?: (spec: Spec) => void;
  /** Container id; defaults to a unique one. */
  id?: string;
}

/**
 * Makes a fresh bundle (copy of the template) and --root for one container and
 * registers its cleanup with t.after, so it runs even when the test fails.
 */
export function setup(t: TestContext, opts: SetupOptions = {}): Ctx {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-it-'));
  // mkdtemp makes 0700; a container in a user namespace (uid 100000 on the
  // host) must still be able to reach its rootfs through this dir.
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, 'root');
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(root, { mode: 0o700 });
  const cp = spawnSync('cp', ['-a', templateBundle(), bundle], { encoding: 'utf8' });
  if (cp.status !== 0) throw new Error(`cp -a template: ${cp.stderr}`);
  fs.chmodSync(bundle, 0o755);
  const ctx: Ctx = {
    bin: opts.bin ?? BIN,
    dir,
    root,
    bundle,
    rootfs: path.join(bundle, 'rootfs'),
    id: opts.id ?? uniqueId(),
  };
  t.after(() => cleanup(ctx));
  if (opts.mutate) patchConfig(ctx, opts.mutate);
  return ctx;
}

export function readConfig(ctx: Ctx): Spec {
  return JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8')) as Spec;
}

/** Loads config.json, lets `mutate` edit it in place, writes it back. */
export function patchConfig(ctx: Ctx, mutate: (spec: Spec) => void): Spec {
  const spec = readConfig(ctx);
  mutate(spec);
  fs.writeFileSync(path.join(ctx.bundle, 'config.json'), JSON.stringify(spec, null, 2));
  return spec;
}

/** Mutator: run `sh -c script` as the container process. */
export function shell(script: string): (spec: Spec) => void {
  return (spec) => {
    spec.process.args = ['sh', '-c', script];
  };
}

// ---------------------------------------------------------------------------
// Running the runtime

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The runtime's own pid. */
  pid: number | undefined;
}

export interface RunOptions {
  /** Extra options after `run` (e.g. ['--no-pivot']). */
  runArgs?: string[];
  /** Global options before `run` (besides --root). */
  globalArgs?: string[];
  input?: string;
  timeoutMs?: number;
  /** Shell commands run before exec'ing the runtime in the same process, e.g.
   * `ulimit -Sn 512` to give it a different caller environment. */
  preexec?: string;
  /** Keep the shell as the runtime's parent (its caller, as a shim is) instead of exec'ing. */
  keepShell?: boolean;
}

/** [file, argv] that runs `BIN [global] --root ROOT run [runArgs] -b BUNDLE ID`. */
function runCommand(ctx: Ctx, opts: RunOptions): [string, string[]] {
  const argv = [...(opts.globalArgs ?? []), '--root', ctx.root, 'run', ...(opts.runArgs ?? []), '-b', ctx.bundle, ctx.id];
  if (opts.preexec === undefined) return [ctx.bin, argv];
  // exec keeps the pid, so signals sent to the child still reach the runtime.
  const call = opts.keepShell ? '"$0" "$@"' : 'exec "$0" "$@"';
  return ['sh', ['-c', `${opts.preexec}\n${call}`, ctx.bin, ...argv]];
}

function describeResult(r: RunResult): string {
  return `status=${r.status} signal=${r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** `BIN --root ROOT run -b BUNDLE ID`, synchronously, bounded by a timeout
 * (on timeout the runtime gets SIGKILL; cleanup kills the container). */
export function run(ctx: Ctx, opts: RunOptions = {}): RunResult {
  const [file, argv] = runCommand(ctx, opts);
  const r: SpawnSyncReturns<string> = spawnSync(file, argv, {
    encoding: 'utf8',
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw r.error;
  const res: RunResult = { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', pid: r.pid };
  if (r.error) throw new Error(`${ctx.bin} run timed out after ${opts.timeoutMs ?? RUN_TIMEOUT_MS} ms\n${describeResult(res)}`);
  return res;
}

/** run() and insist on exit status 0; returns stdout. */
export function runOk(ctx: Ctx, opts: RunOptions = {}): string {
  const r = run(ctx, opts);
  if (r.status !== 0) throw new Error(`${path.basename(ctx.bin)} run ${ctx.id} failed: ${describeResult(r)}`);
  return r.stdout;
}

/** Runs `script` in a fresh busybox container under `bin` and returns stdout
 * (exit status must be 0). Sets up and cleans up its own bundle. */
export function runScript(t: TestContext, script: string, opts: SetupOptions & RunOptions = {}): string {
  const { mutate } = opts;
  const ctx = setup(t, {
    ...opts,
    mutate: (spec) => {
      shell(script)(spec);
      mutate?.(spec);
    },
  });
  const out = runOk(ctx, opts);
  assertNothingLeft(ctx);
  return out;
}

/** A runtime running in the background, for tests that signal it or the container. */
export class Background {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  private readonly exited: Promise<RunResult>;
  private readonly killTimer: NodeJS.Timeout;

  constructor(readonly ctx: Ctx, opts: RunOptions = {}) {
    const [file, argv] = runCommand(ctx, opts);
    this.child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.child.stdin!.on('error', () => {}); // EPIPE when the runtime is gone
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      const done = (status: number | null, signal: NodeJS.Signals | null) =>
        resolve({ status, signal, stdout: this.stdout, stderr: this.stderr, pid: this.child.pid });
      // 'close' waits for the pipes too, which a leaked container process may
      // hold open forever; give the output a moment after 'exit', no more.
      this.child.on('exit', (status, signal) => {
        setTimeout(() => done(status, signal), 2_000).unref();
      });
      this.child.on('close', done);
    });
    // Hard bound so a hung runtime cannot outlive the test.
    const timeout = opts.timeoutMs ?? RUN_TIMEOUT_MS;
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), timeout);
    this.killTimer.unref();
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`spawn ${this.ctx.bin} failed`);
    return this.child.pid;
  }

  /** Resolves once stdout contains `text`; rejects if the runtime exits first or on timeout. */
  async waitFor(text: string, timeoutMs = RUN_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let done = false;
    void this.exited.then(() => (done = true), () => (done = true));
    while (!this.stdout.includes(text)) {
      if (done) throw new Error(`runtime exited before printing ${JSON.stringify(text)}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await sleep(20);
    }
  }

  write(text: string): void {
    this.child.stdin!.write(text);
  }

  closeStdin(): void {
    this.child.stdin!.end();
  }

  /** Waits for the runtime to exit (the hard timeout still applies). */
  async wait(): Promise<RunResult> {
    try {
      return await this.exited;
    } finally {
      clearTimeout(this.killTimer);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls until `fn` returns a value other than undefined. */
export async function poll<T>(what: string, fn: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Reads a pid file; undefined while it does not exist or is incomplete. */
export function readPidFile(file: string): number | undefined {
  let s: string;
  try {
    s = fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
  return /^\d+$/.test(s) ? Number(s) : undefined;
}

// ---------------------------------------------------------------------------
// Host-side inspection

export interface MountEntry {
  id: number;
  parent: number;
  root: string;
  mountPoint: string;
  /** Per-mount options: ro/rw, nosuid, nodev, noexec, atime flags. */
  options: string[];
  fstype: string;
  source: string;
  /** Superblock options. */
  superOptions: string[];
}

/** Parses /proc/<pid>/mountinfo text (proc(5)); octal escapes are decoded. */
export function parseMountinfo(text: string): MountEntry[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      const [pre, post] = line.split(' - ');
      const f = pre.split(' ');
      const g = (post ?? '').split(' ');
      return {
        id: Number(f[0]),
        parent: Number(f[1]),
        root: unescape(f[3]),
        mountPoint: unescape(f[4]),
        options: f[5].split(','),
        fstype: g[0],
        source: unescape(g[1] ?? ''),
        superOptions: (g[2] ?? '').split(','),
      };
    });
}

/** Mounts in our own namespace at or below `dir`. */
export function mountsUnder(dir: string): MountEntry[] {
  const real = fs.realpathSync(dir);
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter(
    (m) => m.mountPoint === real || m.mountPoint.startsWith(real + '/'),
  );
}

/** Host pids of live processes whose root directory is `rootfs` (same dev and
 * inode): the container's processes, whatever namespaces they are in. Zombies
 * have no root and are not listed. */
export function processesRootedAt(rootfs: string): number[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(rootfs);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const s = fs.statSync(`/proc/${e}/root`);
      if (s.dev === st.dev && s.ino === st.ino) out.push(Number(e));
    } catch {
      // gone, or a zombie
    }
  }
  return out;
}

/** `pid`'s start time (clock ticks since boot), to tell a pid from a reused one. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parens; fields after it are space separated.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function procState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Directories a cgroup named `id` could have been created at: `<hierarchy>/<id>`
 * and `<hierarchy>/<our cgroup>/<id>` for every v1 and v2 hierarchy (runc puts a
 * container without cgroupsPath under its own cgroup, e.g. memory:/x/y/<id>). */
export function cgroupDirsFor(id: string): string[] {
  const self = new Map<string, string>(); // controller list ("" for v2) -> path
  for (const l of fs.readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(l);
    if (m) self.set(m[1], m[2]);
  }
  const dirs: string[] = [];
  for (const m of parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))) {
    let key: string | undefined;
    if (m.fstype === 'cgroup2') key = '';
    else if (m.fstype === 'cgroup') {
      const opts = m.superOptions.filter((o) => o !== 'rw' && o !== 'ro');
      key = [...self.keys()].find((k) => k !== '' && k.split(',').every((c) => opts.includes(c)));
    }
    if (key === undefined) continue;
    dirs.push(path.join(m.mountPoint, id));
    const p = self.get(key);
    if (p && p !== '/') dirs.push(path.join(m.mountPoint, p, id));
  }
  return [...new Set(dirs)];
}

/**
 * Asserts the runtime left nothing behind for this container: no state dir under
 * --root (for a bad id: nothing under --root at all), no mount under the
 * bundle, no live process rooted in the rootfs, no cgroup named after the id.
 */
export function assertNothingLeft(ctx: Ctx, opts: { keepState?: boolean } = {}): void {
  const problems: string[] = [];
  if (!opts.keepState) {
    const entries = fs.existsSync(ctx.root) ? fs.readdirSync(ctx.root) : [];
    if (entries.length > 0) problems.push(`state left under --root ${ctx.root}: ${entries.join(', ')}`);
  }
  const mounts = mountsUnder(ctx.bundle);
  if (mounts.length > 0) problems.push(`mounts left under the bundle: ${mounts.map((m) => m.mountPoint).join(', ')}`);
  const procs = processesRootedAt(ctx.rootfs);
  if (procs.length > 0) problems.push(`processes left in the container: ${procs.join(', ')}`);
  if (!opts.keepState && isPlainId(ctx.id)) {
    const cgs = cgroupDirsFor(ctx.id).filter((d) => fs.existsSync(d));
    if (cgs.length > 0) problems.push(`cgroups left: ${cgs.join(', ')}`);
  }
  if (problems.length > 0) throw new Error(`${path.basename(ctx.bin)} left things behind for ${ctx.id}:\n  ${problems.join('\n  ')}`);
}

/** SIGKILLs what `pids` lists until it lists nothing (at most ~5 s). */
export function killUntilGone(pids: () => number[]): void {
  for (let i = 0; i < 50; i++) {
    const left = pids();
    if (left.length === 0) return;
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('sleep', ['0.1']);
  }
}

/** Best-effort teardown, also after a failed or hung test: delete through the
 * runtime, kill what still runs in the rootfs, unmount what is left under the
 * bundle, remove leftover cgroups, then remove the temp dir — but never rm -rf
 * through a mount that would not go away. */
export function cleanup(ctx: Ctx): void {
  const stateLeft = fs.existsSync(ctx.root) && fs.readdirSync(ctx.root).length > 0;
  if (stateLeft && isPlainId(ctx.id)) {
    spawnSync(ctx.bin, ['--root', ctx.root, 'delete', '--force', ctx.id], { timeout: 10_000, stdio: 'ignore' });
  }
  killUntilGone(() => processesRootedAt(ctx.rootfs));
  for (const m of mountsUnder(ctx.dir).reverse()) {
    spawnSync('umount', ['-l', m.mountPoint], { stdio: 'ignore' });
  }
  if (isPlainId(ctx.id)) {
    for (const d of cgroupDirsFor(ctx.id)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // absent, or still busy
      }
    }
  }
  if (mountsUnder(ctx.dir).length > 0) {
    // Refuse to recurse into a mount (it could be a bind of a host directory).
    process.stderr.write(`integration cleanup: mounts remain under ${ctx.dir}; not removing it\n`);
    return;
  }
  fs.rmSync(ctx.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// Comparing with runc

/** Runs the same script, with the same config edits, under BIN and under runc (a missing
 * runc fails the test: requireRunc). With RUNTS_BIN=runc both runs are runc's, which checks
 * that the comparison itself is stable. */
export function runBoth(
  t: TestContext,
  script: string,
  opts: SetupOptions & RunOptions = {},
): { ours: string; runc: string } {
  const ours = runScript(t, script, opts);
  const runc = runScript(t, script, { ...opts, bin: requireRunc(), id: undefined });
  return { ours, runc };
}

/** Lines of text, without the trailing empty one. */
export function lines(s: string): string[] {
  const l = s.split('\n');
  if (l.length > 0 && l[l.length - 1] === '') l.pop();
  return l;
}

/** The last non-empty line of stderr: what containerd and podman show users. */
export function lastLine(s: string): string {
  const l = lines(s).filter((x) => x.trim() !== '');
  return l[l.length - 1] ?? '';
}

// ---------------------------------------------------------------------------
// Detached containers (create / start / state / kill / delete / list)
//
// After `create` the runtime exits and the container's init is reparented to
// the nearest child subreaper above it, or to PID 1. Engines always provide one
// (containerd-shim and conmon are subreapers and reap). Some machines' PID 1
// never reaps, so an init that exits there stays a zombie; and node cannot be
// the reaper itself (libuv only waits for the pids it spawned, and a blanket
// waitpid(-1) would steal their exit statuses from it). So the test files
// that create detached containers call ensureSubreaper() first: it re-runs the
// file beneath test/fixtures/subreaper.c, a tiny prctl(PR_SET_CHILD_SUBREAPER)
// shim that reaps every orphan, unless such a shim is already an ancestor
// (e.g. the whole `node --test` runner was started under it).

/** Where the compiled shim lives (build/ is the tsc output dir, never committed). */
const SUBREAPER_SRC = path.join(REPO, 'test/fixtures/subreaper.c');
const SUBREAPER_BIN = path.join(REPO, 'build/test/fixtures/subreaper');

/** Compiles test/fixtures/subreaper.c with `cc` unless the binary is up to date;
 * returns its path. The rename makes concurrent test files safe. */
export function subreaperBinary(): string {
  const src = fs.statSync(SUBREAPER_SRC);
  try {
    if (fs.statSync(SUBREAPER_BIN).mtimeMs >= src.mtimeMs) return SUBREAPER_BIN;
  } catch {
    // not built yet
  }
  fs.mkdirSync(path.dirname(SUBREAPER_BIN), { recursive: true });
  const tmp = `${SUBREAPER_BIN}.${process.pid}`;
  const r = spawnSync(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', tmp, SUBREAPER_SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ${SUBREAPER_SRC} failed (a C compiler is needed for the detached-container tests): ${r.error ?? r.stderr}`);
  fs.renameSync(tmp, SUBREAPER_BIN);
  return SUBREAPER_BIN;
}

/** Parsed /proc/<pid>/stat fields the tests use (proc(5)); undefined when gone. */
export interface ProcStat { state: string; ppid: number; pgrp: number; session: number; ttyNr: number; startTime: string }

export function procStat(pid: number): ProcStat | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm may hold spaces and parens: split after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), ttyNr: Number(f[4]), startTime: f[19] };
}

/** Whether `pid` is this process or one of its ancestors. */
export function isAncestor(pid: number): boolean {
  for (let p = process.pid; p > 1; ) {
    if (p === pid) return true;
    const st = procStat(p);
    if (!st) return false;
    p = st.ppid;
  }
  return pid === 1;
}

/** The pid of the subreaper shim above this process, if there is one. */
export function subreaperPid(): number | undefined {
  const v = Number(process.env.RUNTS_SUBREAPER_PID);
  return Number.isInteger(v) && v > 1 && isAncestor(v) ? v : undefined;
}

/**
 * Makes sure this test file runs beneath a reaping subreaper: if none is an
 * ancestor, runs this same file (same node, same flags, same environment, so
 * node:test's child protocol on stdout is unchanged) under the shim, and exits
 * with its status. Call it at the top level of the test file, before any
 * describe/it. Does nothing when the suite is skipped anyway (not root).
 */
export function ensureSubreaper(): void {
  if (SKIP_REASON || subreaperPid() !== undefined) return;
  if (process.env.RUNTS_SUBREAPER_REEXEC) {
    throw new Error('ensureSubreaper: re-ran under test/fixtures/subreaper but it is not an ancestor');
  }
  const shim = subreaperBinary();
  const r = spawnSync(shim, [process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, RUNTS_SUBREAPER_REEXEC: '1' },
  });
  if (r.error) throw r.error;
  process.exit(r.status ?? 1);
}

export interface CallResult extends RunResult {
  /** The call was still running at its deadline and got SIGKILL. */
  timedOut: boolean;
  /** The argv after the binary. */
  argv: string[];
  ms: number;
}

export interface CallOptions {
  timeoutMs?: number;
  cwd?: string;
  /** Set (over the test's environment) for this call; "" removes a variable. */
  env?: Record<string, string>;
}

// stdout and stderr of runtime calls go to files, not pipes: a created
// container inherits the runtime's stdio, so a pipe would stay open (and a
// pipe reader blocked) for as long as the container lives.
let callDirPath: string | undefined;
let callSeq = 0;

function callFiles(): { out: string; err: string; outFd: number; errFd: number } {
  if (!callDirPath) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-it-calls-'));
    callDirPath = dir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  callSeq += 1;
  const out = path.join(callDirPath, `${callSeq}.out`);
  const err = path.join(callDirPath, `${callSeq}.err`);
  return { out, err, outFd: fs.openSync(out, 'w+'), errFd: fs.openSync(err, 'w+') };
}

function collect(files: { out: string; err: string }): { stdout: string; stderr: string } {
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, 'utf8');
    } finally {
      fs.rmSync(f, { force: true });
    }
  };
  return { stdout: read(files.out), stderr: read(files.err) };
}

export function describeCall(r: CallResult): string {
  return `${r.argv.join(' ')}: status=${r.status} signal=${r.signal}${r.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** `bin ...argv`, synchronously, stdin /dev/null, bounded by a timeout (then SIGKILL). */
/** The test's environment with `changes` ("" removes a variable). */
function withEnv(changes: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const [k, v] of Object.entries(changes)) {
    if (v === '') delete env[k];
    else env[k] = v;
  }
  return env;
}

export function callRaw(bin: string, argv: string[], opts: CallOptions = {}): CallResult {
  const files = callFiles();
  const t0 = Date.now();
  let r: SpawnSyncReturns<Buffer>;
  try {
    r = spawnSync(bin, argv, {
      stdio: ['ignore', files.outFd, files.errFd],
      timeout: opts.timeoutMs ?? RUN_TIMEOUT_MS,
      killSignal: 'SIGKILL',
      cwd: opts.cwd,
      env: opts.env ? withEnv(opts.env) : undefined,
    });
  } finally {
    fs.closeSync(files.outFd);
    fs.closeSync(files.errFd);
  }
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (r.error && !timedOut) throw r.error;
  return { status: r.status, signal: r.signal, pid: r.pid, timedOut, argv, ms: Date.now() - t0, ...collect(files) };
}

const SD_NOTIFY_SRC = path.join(REPO, 'test/fixtures/sd-notify.c');
const SD_NOTIFY_BIN = path.join(REPO, 'build/test/fixtures/sd-notify');

/**
 * test/fixtures/sd-notify.c (`send MSG` to $NOTIFY_SOCKET, `listen SOCK N` for the host side),
 * built static with `cc` unless up to date: it runs inside busybox containers too.
 */
export function sdNotifyHelper(): string {
  if (fs.existsSync(SD_NOTIFY_BIN) && fs.statSync(SD_NOTIFY_BIN).mtimeMs >= fs.statSync(SD_NOTIFY_SRC).mtimeMs) return SD_NOTIFY_BIN;
  fs.mkdirSync(path.dirname(SD_NOTIFY_BIN), { recursive: true });
  const tmp = `${SD_NOTIFY_BIN}.${process.pid}`;
  const r = spawnSync(process.env.CC ?? 'cc', ['-static', '-O2', '-Wall', '-o', tmp, SD_NOTIFY_SRC], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc -static ${SD_NOTIFY_SRC} failed: ${r.error ?? r.stderr}`);
  fs.renameSync(tmp, SD_NOTIFY_BIN);
  return SD_NOTIFY_BIN;
}

/** Single-quotes `s` for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * `argv` with a terminal of its own, 24x80, through script(1): for the engines' `-t`/`-it`
 * clients, which insist on one. `env` is set for it alone; script's own stdin is /dev/null.
 */
export function inTerminal(argv: string[], env: Record<string, string> = {}, opts: CallOptions = {}): CallResult {
  const sets = Object.entries(env).map(([k, v]) => shellQuote(`${k}=${v}`));
  const cmd = `stty rows 24 cols 80; exec ${sets.length ? `env ${sets.join(' ')} ` : ''}${argv.map(shellQuote).join(' ')}`;
  return callRaw('script', ['-qec', cmd, '/dev/null'], opts);
}

/** `ctx.bin --root ctx.root ...args`. */
export function call(ctx: Ctx, args: string[], opts: CallOptions = {}): CallResult {
  return callRaw(ctx.bin, ['--root', ctx.root, ...args], opts);
}

/** call() and insist on exit status 0; returns stdout. */
export function callOk(ctx: Ctx, args: string[], opts: CallOptions = {}): string {
  const r = call(ctx, args, opts);
  if (r.status !== 0) throw new Error(`expected success: ${describeCall(r)}`);
  return r.stdout;
}

/** A runtime call running in the background (for races and for killing the
 * runtime midway). `result` resolves when the runtime exits or is killed at its
 * deadline; it never rejects for a non-zero status. */
export interface PendingCall {
  child: ChildProcess;
  result: Promise<CallResult>;
}

export function startCallRaw(bin: string, argv: string[], opts: CallOptions = {}): PendingCall {
  const files = callFiles();
  const t0 = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(bin, argv, { stdio: ['ignore', files.outFd, files.errFd], cwd: opts.cwd });
  } finally {
    // The child holds its own copies.
    fs.closeSync(files.outFd);
    fs.closeSync(files.errFd);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? RUN_TIMEOUT_MS);
  const result = new Promise<CallResult>((resolve, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, pid: child.pid, timedOut, argv, ms: Date.now() - t0, ...collect(files) });
    });
  });
  return { child, result };
}

/** startCallRaw with `--root ctx.root` first. */
export function startCall(ctx: Ctx, args: string[], opts: CallOptions = {}): PendingCall {
  return startCallRaw(ctx.bin, ['--root', ctx.root, ...args], opts);
}

export function callAsync(ctx: Ctx, args: string[], opts: CallOptions = {}): Promise<CallResult> {
  return startCall(ctx, args, opts).result;
}

/**
 * A runtime call whose stdout is read line by line while it runs (`events`), so that a test
 * waits for the lines themselves instead of sleeping. Only for calls that start no container:
 * its stdout is a pipe (compare callFiles). The call gets SIGKILL at its deadline.
 */
export class LineStream {
  readonly child: ChildProcess;
  /** The complete lines so far (the unterminated rest is added when the call exits). */
  readonly lines: string[] = [];
  stderr = '';
  exit: { status: number | null; signal: NodeJS.Signals | null } | undefined;
  timedOut = false;
  private partial = '';
  private readonly exited: Promise<void>;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly bin: string, readonly argv: string[], timeoutMs = RUN_TIMEOUT_MS) {
    this.child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const parts = (this.partial + d).split('\n');
      this.partial = parts.pop()!;
      this.lines.push(...parts);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (status, signal) => {
        clearTimeout(this.timer);
        if (this.partial !== '') this.lines.push(this.partial);
        this.partial = '';
        this.exit = { status, signal };
        resolve();
      });
    });
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.child.kill('SIGKILL');
    }, timeoutMs);
  }

  describe(): string {
    const how = this.exit ? `status=${this.exit.status} signal=${this.exit.signal}` : 'running';
    return `${this.argv.join(' ')}: ${how}${this.timedOut ? ' (timed out)' : ''}\n--- stdout ---\n${this.lines.join('\n')}\n--- stderr ---\n${this.stderr}`;
  }

  /** Waits until `fn(lines)` returns a value other than undefined; fails when the call exits
   * first or after `timeoutMs`. */
  async until<T>(what: string, fn: (lines: string[]) => T | undefined, timeoutMs = RUN_TIMEOUT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = fn(this.lines);
      if (v !== undefined) return v;
      if (this.exit) throw new Error(`exited before ${what}: ${this.describe()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${this.describe()}`);
      await sleep(20);
    }
  }

  /** SIGTERM, then waits for the exit (the deadline's SIGKILL still applies). */
  async stop(): Promise<this> {
    if (!this.exit) this.child.kill('SIGTERM');
    await this.exited;
    return this;
  }
}

/** `ctx.bin --root ctx.root ...args` as a LineStream. */
export function streamCall(ctx: Ctx, args: string[], timeoutMs = RUN_TIMEOUT_MS): LineStream {
  return new LineStream(ctx.bin, ['--root', ctx.root, ...args], timeoutMs);
}

/**
 * Waits until the init of a created container is blocked opening its exec fifo for writing
 * (wchan `wait_for_partner`: fifo_open waiting for a reader), which is where runc's init and
 * runts' wait for `start`. From then on the user process cannot run before `start` opens the
 * fifo for reading, so "it has not run yet" is checked at that point instead of after a sleep.
 */
export async function waitBlockedInExecFifo(pid: number, timeoutMs = 10_000): Promise<void> {
  const blocked = () => {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      return false;
    }
    return tasks.some((tid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8') === 'wait_for_partner';
      } catch {
        return false;
      }
    });
  };
  await poll(`init ${pid} to block opening its exec fifo (wchan wait_for_partner)`, () => (blocked() ? true : undefined), timeoutMs);
}

/** The `state` JSON as the runtime prints it (runc's cState). */
export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

/** `state id`, parsed; undefined when the call fails (e.g. no such container). */
export function stateOf(ctx: Ctx, id: string = ctx.id): ContainerState | undefined {
  const r = call(ctx, ['state', id]);
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout) as ContainerState;
}

/** Polls `state` until the status is `status`; returns that state. */
export function waitStatus(ctx: Ctx, status: string, timeoutMs = 10_000, id: string = ctx.id): Promise<ContainerState> {
  return poll(`${id} to be ${status} (last: ${stateOf(ctx, id)?.status ?? 'no state'})`, () => {
    const s = stateOf(ctx, id);
    return s?.status === status ? s : undefined;
  }, timeoutMs);
}

/** Go's time.RFC3339Nano as runc writes `created`: UTC, fraction without
 * trailing zeros (absent when zero). */
export const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/;

/** Processes (other than this one) whose comm or cmdline matches `re`; zombies
 * have an empty cmdline but keep their comm. */
export function processesNamed(re: RegExp): { pid: number; name: string }[] {
  const out: { pid: number; name: string }[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const comm = fs.readFileSync(`/proc/${e}/comm`, 'utf8').trim();
      const cmdline = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (re.test(comm) || re.test(cmdline)) out.push({ pid: Number(e), name: cmdline || comm });
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Starts several runtime calls and lets them go at the same instant, to race
 * them: each is `sh -c ': < FIFO; exec BIN ...'` (exec keeps the pid, so the
 * PendingCall's child pid is the runtime's), and once all of them block opening
 * the FIFO (wchan wait_for_partner) one non-blocking open for writing releases
 * them together. Each call's deadline counts from its spawn.
 */
export async function startCallsTogether(ctx: Ctx, argsList: string[][], opts: CallOptions = {}): Promise<PendingCall[]> {
  callFiles(); // makes the per-process dir
  callSeq += 1;
  const fifo = path.join(callDirPath!, `${callSeq}.barrier`);
  const mk = spawnSync('mkfifo', [fifo]);
  if (mk.status !== 0) throw new Error(`mkfifo ${fifo} failed`);
  try {
    const pending = argsList.map((args) => {
      const argv = ['--root', ctx.root, ...args];
      const p = startCallRaw('sh', ['-c', ': < "$0"; exec "$@"', fifo, ctx.bin, ...argv], opts);
      return { child: p.child, result: p.result.then((r) => ({ ...r, argv })) };
    });
    const blocked = (pid: number | undefined) => {
      try {
        return fs.readFileSync(`/proc/${pid}/wchan`, 'utf8') === 'wait_for_partner';
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 5_000;
    while (!pending.every((p) => blocked(p.child.pid)) && Date.now() < deadline) await sleep(5);
    const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    fs.closeSync(fd);
    return pending;
  } finally {
    fs.rmSync(fifo, { force: true });
  }
}

/** startCallsTogether and wait for all of them. */
export async function raceCalls(ctx: Ctx, argsList: string[][], opts: CallOptions = {}): Promise<CallResult[]> {
  return Promise.all((await startCallsTogether(ctx, argsList, opts)).map((p) => p.result));
}

/** cleanup() for a second container that shares ctx's --root and bundle: safe
 * to run after ctx's own cleanup removed the dir (then only the id's cgroups
 * can be left). */
export function cleanupId(ctx: Ctx, id: string): void {
  if (fs.existsSync(ctx.dir)) {
    cleanup({ ...ctx, id });
    return;
  }
  if (!isPlainId(id)) return;
  for (const d of cgroupDirsFor(id)) {
    try {
      fs.rmdirSync(d);
    } catch {
      // absent, or still busy
    }
  }
}

// ---------------------------------------------------------------------------
// A process's cgroups, as the kernel reports them (cgroups.test.ts)

/** `/proc/<pid>/cgroup` as a map: hierarchy key -> the process's path in it. The key is
 * what the kernel prints: the v1 controller list ("cpu", "cpu,cpuacct", "name=systemd"),
 * or "" for the cgroup v2 hierarchy (cgroups(7)). Undefined when the process is gone. */
export function procCgroups(pid: number | 'self'): Map<string, string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  const out = new Map<string, string>();
  for (const l of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(l);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** The host pids of the processes in `pid`'s pid namespace (a container's, from its init). */
export function processesInPidNamespaceOf(pid: number): number[] {
  const ns = fs.readlinkSync(`/proc/${pid}/ns/pid`);
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (fs.readlinkSync(`/proc/${e}/ns/pid`) === ns) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Asserts that every process of a paused container (its init's pid namespace) is frozen: in
 * the v1 freezer cgroup `freezerDir`, whose freezer.state FROZEN means each of its tasks is
 * stopped in the freezer, and shown so (D: TASK_FROZEN; T on older kernels). Then nothing in
 * the container can run, which a test would otherwise watch for a while to see. Returns them.
 */
export function assertAllFrozen(initPid: number, freezerDir: string): number[] {
  assert.equal(fs.readFileSync(path.join(freezerDir, 'freezer.state'), 'utf8').trim(), 'FROZEN', freezerDir);
  const pids = processesInPidNamespaceOf(initPid);
  assert.ok(pids.includes(initPid), `init ${initPid} is gone`);
  for (const p of pids) {
    const dir = [...(cgroupDirsOf(p) ?? new Map<string, string>())].find(([k]) => k.split(',').includes('freezer'))?.[1];
    assert.equal(dir, freezerDir, `process ${p} of the container is not in its freezer cgroup`);
    assert.match(procState(p) ?? 'gone', /^[DT]$/, `process ${p} of the container is not frozen`);
  }
  return pids;
}

/** Where each cgroup hierarchy's root is mounted in our mount namespace: key as in
 * procCgroups -> mount point. Hierarchies mounted nowhere here are absent. */
export function cgroupMounts(): Map<string, string> {
  const keys = [...(procCgroups('self')?.keys() ?? [])];
  const out = new Map<string, string>();
  for (const m of parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))) {
    if (m.root !== '/') continue; // a bind of a sub-cgroup (a container's view), not the root
    let key: string | undefined;
    if (m.fstype === 'cgroup2') key = '';
    else if (m.fstype === 'cgroup') {
      const opts = m.superOptions.filter((o) => o !== 'rw' && o !== 'ro');
      key = keys.find((k) => k !== '' && k.split(',').every((c) => opts.includes(c)));
    }
    if (key !== undefined && !out.has(key)) out.set(key, m.mountPoint);
  }
  return out;
}

/** The host directories of `pid`'s cgroups, read from /proc/<pid>/cgroup: key as in
 * procCgroups -> directory. Undefined when the process is gone. */
export function cgroupDirsOf(pid: number): Map<string, string> | undefined {
  const cgs = procCgroups(pid);
  if (!cgs) return undefined;
  const mounts = cgroupMounts();
  const out = new Map<string, string>();
  for (const [key, p] of cgs) {
    const mnt = mounts.get(key);
    if (mnt !== undefined) out.set(key, path.join(mnt, p));
  }
  return out;
}
