/**
 * Drop-in under a real engine: Docker 20.10 (Debian's docker.io, with its containerd 1.6 and
 * containerd-shim-runc-v2) with `--runtime runts`, and every scenario again with docker's
 * built-in `runc` (Debian's /usr/sbin/runc) for comparison. What is asked for is checked from
 * inside the container (its output: /proc/self/status, the mount table, its cgroup files).
 *
 * The daemon is private to this file: dockerd is started here with its own data root, exec root,
 * pid file, socket, key file and cgroup parent; it starts its own containerd under the exec root
 * (no --containerd). Both are stopped by pid at the end, and the last test asserts that nothing
 * is left: no process, no mount under the daemon's dir, no cgroup under its cgroup parent, no
 * shim socket, no directory. Install docker.io with test/engines/docker.sh.
 *
 * The image is `docker import`ed from the busybox test rootfs: no registry is reachable here.
 *
 *   cd /work/main && npx tsc -p tsconfig.json
 *   node --test --test-concurrency=1 build/test/integration/docker.test.js
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, MAKE_BUNDLE, SKIP_REASON, assertAllFrozen, cgroupMounts, describeCall, ensureSubreaper, inTerminal, mountsUnder, poll, sleep, startTime } from './helpers.ts';
import { skipUnlessCommand, skipUnlessSeccomp } from './engines.ts';

// containerd-shim-runc-v2 daemonizes: its parent exits and the shim is reparented to the nearest
// subreaper, and this machine's PID 1 never reaps. Real hosts have an init that does.
ensureSubreaper();

/** docker.io's 20.10 client. /usr/local/bin/docker (first in PATH here) is an unrelated Docker
 * 28 client: never use that one. */
const DOCKER = '/usr/bin/docker';
const DOCKERD = '/usr/sbin/dockerd';
/** What docker's built-in `runc` runtime runs: it looks `runc` up in dockerd's PATH, which we
 * set, so this is the comparison runtime. */
const DEBIAN_RUNC = '/usr/sbin/runc';
const DOCKER_INIT = '/usr/bin/docker-init'; // tini-static, from the tini package

const IMAGE = `runts-it-busybox:${process.pid}`;
/** cgroupfs driver: each container's cgroup is <hierarchy>/<parent>/<64-hex id>. */
const CG_PARENT = `runts-docker-${process.pid}`;
const TEST_TIMEOUT_MS = 90_000;

const SKIP: string | false =
  SKIP_REASON ??
  (!fs.existsSync(DOCKERD) || !fs.existsSync(DOCKER)
    ? `docker.io (Docker 20.10) is not installed (${DOCKERD}, ${DOCKER}): run test/engines/docker.sh as root`
    : false);

// ---------------------------------------------------------------------------
// The private daemon

/** The daemon's dir (made in before()): everything dockerd is given lives here. A short path:
 * the containerd sockets under the exec root must fit in sun_path (108 bytes). */
let DIR = '';
const at = (p: string) => path.join(DIR, p);
const sock = () => at('docker.sock');
const execRoot = () => at('exec');
const dataRoot = () => at('data');
const containerdSock = () => path.join(execRoot(), 'containerd/containerd.sock');

let dockerd: ChildProcess | undefined;
let dockerdExit: Promise<void> | undefined;
let dockerdStart: string | undefined;
let containerdPid: number | undefined;
let containerdStart: string | undefined;
/** Mounts under DIR while the daemon idles (dockerd bind-mounts its overlay2 home onto itself). */
let baselineMounts = new Set<string>();
/** dockerd creates /run/docker/plugins (plugin discovery, not configurable); removed at the end
 * if it was not there before. */
let hadRunDocker = true;
/** dockerd's trust key goes to DIR (deprecated-key-path); checked at the end. */
let hadKeyJson = true;
/** 64-hex ids of every container run (from --cidfile), to check their shim sockets are gone. */
const containerIds = new Set<string>();

interface Out {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  argv: string[];
}

function describeOut(r: Out): string {
  return `docker ${r.argv.join(' ')}: status=${r.status} signal=${r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** `/usr/bin/docker -H unix://<private socket> ...args`, with a client config dir of its own. */
function docker(args: string[], timeout = 60_000): Out {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: at('client') };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  const r = spawnSync(DOCKER, ['-H', `unix://${sock()}`, ...args], {
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 16 * 1024 * 1024,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', argv: args };
}

/** Lines of dockerd's log (its containerd logs there too) that are warnings or errors, from
 * byte `from` on: the shim's report of a failed runtime call lands here. */
function daemonErrors(from: number): string {
  let text = '';
  try {
    text = fs.readFileSync(at('dockerd.log'), 'utf8').slice(from);
  } catch {
    return '';
  }
  const l = text.split('\n').filter((x) => /level=(error|warning|fatal)/.test(x));
  return l.length ? `\n--- dockerd/containerd errors ---\n${l.slice(-15).join('\n')}` : '';
}
const logSize = () => {
  try {
    return fs.statSync(at('dockerd.log')).size;
  } catch {
    return 0;
  }
};

let logMark = 0;
function ok(r: Out): string {
  if (r.status !== 0) throw new Error(`expected success: ${describeOut(r)}${daemonErrors(logMark)}`);
  return r.stdout;
}

function inspect(name: string, format: string): string {
  return ok(docker(['inspect', '--format', format, name])).trim();
}

async function startDaemon(): Promise<void> {
  DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'rts-dkr-'));
  fs.mkdirSync(at('client'));
  fs.mkdirSync(at('cid'));
  hadRunDocker = fs.existsSync('/run/docker');
  hadKeyJson = fs.existsSync('/etc/docker/key.json');
  // A config file of our own, so /etc/docker/daemon.json (if any) is not read; it also moves the
  // daemon's trust key from /etc/docker/key.json into DIR.
  fs.writeFileSync(at('daemon.json'), JSON.stringify({ 'deprecated-key-path': at('key.json') }, null, 2));
  const args = [
    '--config-file', at('daemon.json'),
    '--data-root', dataRoot(),
    '--exec-root', execRoot(),
    '--pidfile', at('docker.pid'),
    '-H', `unix://${sock()}`,
    '--cgroup-parent', `/${CG_PARENT}`,
    '--exec-opt', 'native.cgroupdriver=cgroupfs',
    '--storage-driver', 'overlay2',
    // No networking: the default bridge would need iptables rules and a docker0 link on the
    // host, shared with whatever else runs here; every container runs with --network none.
    '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--userland-proxy=false',
    '--add-runtime', `runts=${BIN}`,
    '--init-path', DOCKER_INIT,
    // No --default-ulimit: unlike podman (1048576), docker 20.10 puts no rlimits in the spec by
    // default, so containers inherit the daemon's RLIMIT_NOFILE (20000 here): nothing exceeds
    // the hard limit, and no CAP_SYS_RESOURCE is needed.
  ];
  const log = fs.openSync(at('dockerd.log'), 'w');
  try {
    dockerd = spawn(DOCKERD, args, {
      stdio: ['ignore', log, log],
      // The built-in `runc` runtime is looked up in this PATH: Debian's /usr/sbin/runc, and not
      // whatever else is first in ours.
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: DIR, LANG: 'C' },
    });
  } finally {
    fs.closeSync(log);
  }
  const child = dockerd;
  dockerdExit = new Promise((resolve) => child.once('exit', () => resolve()));
  await poll('dockerd to answer on its socket', () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`dockerd exited (${child.exitCode ?? child.signalCode}):\n${fs.readFileSync(at('dockerd.log'), 'utf8').slice(-3000)}`);
    }
    return fs.existsSync(sock()) && docker(['version', '--format', '{{.Server.Version}}'], 10_000).status === 0 ? true : undefined;
  }, 60_000);
  dockerdStart = startTime(child.pid!);
  // The containerd dockerd started for itself, to stop it by pid should dockerd not.
  containerdPid = await poll('dockerd to start its containerd', () => {
    try {
      const v = Number(fs.readFileSync(path.join(execRoot(), 'containerd/containerd.pid'), 'utf8').trim());
      return v > 0 ? v : undefined;
    } catch {
      return undefined;
    }
  });
  containerdStart = startTime(containerdPid);
  baselineMounts = new Set(mountsUnder(DIR).map((m) => m.mountPoint));
}

/** Resolves after `ms` without keeping the process alive (a race's losing timer must not
 * hold node:test's exit for its whole length). */
function deadline(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Signals `pid` if it is still the process that started at `start`. */
function killIfSame(pid: number | undefined, start: string | undefined, sig: NodeJS.Signals): boolean {
  if (!pid || !start || startTime(pid) !== start) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number | undefined, start: string | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!pid || startTime(pid) !== start) return true;
    await sleep(50);
  }
  return !pid || startTime(pid) !== start;
}

/** Processes that belong to this daemon: dockerd, its containerd and shims name DIR in their
 * argv, and the containers' processes have their root under the data root. */
function daemonProcesses(): { pid: number; what: string }[] {
  const out: { pid: number; what: string }[] = [];
  if (!DIR) return out;
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').trim();
      if (cmd.includes(DIR + '/')) {
        out.push({ pid: Number(e), what: cmd });
        continue;
      }
      const root = fs.readlinkSync(`/proc/${e}/root`);
      if (root.startsWith(DIR + '/')) out.push({ pid: Number(e), what: `${cmd} (root ${root})` });
    } catch {
      // gone, or a zombie
    }
  }
  return out;
}

/** The cgroup parent in every hierarchy that is mounted here (v1 controllers and the v2 one). */
function parentCgroups(): string[] {
  return [...new Set(cgroupMounts().values())].map((m) => path.join(m, CG_PARENT));
}

function childCgroups(): string[] {
  const out: string[] = [];
  for (const p of parentCgroups()) {
    try {
      for (const e of fs.readdirSync(p, { withFileTypes: true })) if (e.isDirectory()) out.push(path.join(p, e.name));
    } catch {
      // not created in this hierarchy
    }
  }
  return out;
}

/** containerd 1.6's shim socket for a container: /run/containerd/s/sha256(<containerd address>/
 * <namespace>/<id>) (runtime/v2/shim/util_unix.go SocketAddress); outside DIR, so checked. */
function shimSocket(id: string): string {
  return path.join('/run/containerd/s', createHash('sha256').update(path.join(containerdSock(), 'moby', id)).digest('hex'));
}

/** What a daemon with no containers must not have: containers, container processes or shims,
 * mounts beyond the idle ones, child cgroups under the parent, runtime state, shim sockets. */
function idleProblems(): string[] {
  const problems: string[] = [];
  const ps = docker(['ps', '-aq']);
  if (ps.status !== 0) problems.push(`docker ps failed: ${ps.stderr}`);
  else if (ps.stdout.trim()) problems.push(`containers left: ${ps.stdout.trim().split('\n').join(', ')}`);
  const procs = daemonProcesses().filter((p) => p.pid !== dockerd?.pid && p.pid !== containerdPid);
  if (procs.length) problems.push(`processes left: ${procs.map((p) => `${p.pid} ${p.what}`).join('; ')}`);
  const mounts = mountsUnder(DIR).filter((m) => !baselineMounts.has(m.mountPoint));
  if (mounts.length) problems.push(`mounts left: ${mounts.map((m) => m.mountPoint).join(', ')}`);
  const cgs = childCgroups();
  if (cgs.length) problems.push(`cgroups left under /${CG_PARENT}: ${cgs.join(', ')}`);
  for (const d of fs.existsSync(execRoot()) ? fs.readdirSync(execRoot()) : []) {
    if (!d.startsWith('runtime-')) continue;
    const ns = path.join(execRoot(), d, 'moby');
    const left = fs.existsSync(ns) ? fs.readdirSync(ns) : [];
    if (left.length) problems.push(`runtime state left in ${ns}: ${left.join(', ')}`);
  }
  // Not checked: the files in <exec root>/netns. Even with --network none each container gets a
  // sandbox whose netns bind mount is unmounted at removal (a mount left would show above), but
  // libnetwork removes the unmounted files in a garbage-collection pass every 60 s
  // (osl/namespace_linux.go, gpmCleanupPeriod); they go with the exec root at the end.
  const socks = [...containerIds].map(shimSocket).filter((s) => fs.existsSync(s));
  if (socks.length) problems.push(`shim sockets left: ${socks.join(', ')}`);
  return problems;
}

async function assertIdle(what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  let problems = idleProblems();
  while (problems.length && Date.now() < deadline) {
    await sleep(100);
    problems = idleProblems();
  }
  if (problems.length) throw new Error(`after ${what}, the daemon holds:\n  ${problems.join('\n  ')}`);
}

/** Stops dockerd (SIGTERM: it stops its containers and its containerd), then its containerd by
 * pid if it outlived dockerd, then whatever of the daemon still runs; cleans what is left and
 * returns what had to be cleaned: each item is a leak. Idempotent. */
async function stopDaemon(): Promise<string[]> {
  const problems: string[] = [];
  if (!DIR) return problems;
  const pid = dockerd?.pid;
  if (pid !== undefined && killIfSame(pid, dockerdStart, 'SIGTERM')) {
    const exited = await Promise.race([dockerdExit!.then(() => true), deadline(30_000).then(() => false)]);
    if (!exited) {
      problems.push(`dockerd ${pid} did not exit within 30 s of SIGTERM`);
      killIfSame(pid, dockerdStart, 'SIGKILL');
      await Promise.race([dockerdExit!, deadline(5_000)]);
    }
  }
  dockerd = undefined;
  if (!(await gone(containerdPid, containerdStart, 10_000))) {
    problems.push(`dockerd's containerd ${containerdPid} outlived dockerd`);
    killIfSame(containerdPid, containerdStart, 'SIGTERM');
    if (!(await gone(containerdPid, containerdStart, 5_000))) killIfSame(containerdPid, containerdStart, 'SIGKILL');
  }
  containerdPid = undefined;
  // Shims and container processes of this daemon (found by DIR, killed by pid).
  for (let i = 0; i < 50; i++) {
    const procs = daemonProcesses();
    if (!procs.length) break;
    if (i === 0) problems.push(`processes outlived the daemon: ${procs.map((p) => `${p.pid} ${p.what}`).join('; ')}`);
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await sleep(100);
  }
  const mounts = mountsUnder(DIR);
  if (mounts.length) problems.push(`mounts left under ${DIR}: ${mounts.map((m) => m.mountPoint).join(', ')}`);
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m.mountPoint], { stdio: 'ignore' });
  const cgs = childCgroups();
  if (cgs.length) problems.push(`cgroups left under /${CG_PARENT}: ${cgs.join(', ')}`);
  for (const d of [...cgs].reverse()) {
    try {
      fs.rmdirSync(d);
    } catch {
      // busy
    }
  }
  // The parent cgroups are made by the runtime for the first container (runc's cgroupfs
  // manager creates the whole path) and left for the daemon's owner to remove: us.
  for (const d of parentCgroups()) {
    try {
      fs.rmdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') problems.push(`cannot remove cgroup ${d}: ${(e as Error).message}`);
    }
  }
  const socks = [...containerIds].map(shimSocket).filter((s) => fs.existsSync(s));
  if (socks.length) problems.push(`shim sockets left: ${socks.join(', ')}`);
  for (const s of socks) fs.rmSync(s, { force: true });
  if (!hadRunDocker) {
    for (const d of ['/run/docker/plugins', '/run/docker']) {
      try {
        fs.rmdirSync(d);
      } catch {
        // absent, or someone else put something there
      }
    }
  }
  if (mountsUnder(DIR).length === 0) fs.rmSync(DIR, { recursive: true, force: true });
  else problems.push(`not removing ${DIR}: mounts remain`);
  if (fs.existsSync(DIR)) problems.push(`${DIR} remains`);
  DIR = '';
  return problems;
}

// ---------------------------------------------------------------------------
// Scenarios, each under runts and under runc

interface Runtime {
  /** The --runtime name given to docker. */
  name: 'runts' | 'runc';
  bin: string;
  skip: string | false;
}
const RUNTIMES: Runtime[] = [
  // Installed by test/setup.sh: a missing runc fails these runs (scenario checks it first).
  { name: 'runc', bin: DEBIAN_RUNC, skip: false },
  { name: 'runts', bin: BIN, skip: false },
];

let seq = 0;
/** A container name unique across runs, tracked for removal at the end of its test. */
class Names {
  readonly all: string[] = [];
  make(rt: Runtime, what: string): string {
    seq += 1;
    const n = `rts-${process.pid}-${seq}-${what}-${rt.name}`;
    this.all.push(n);
    return n;
  }
}

/** Flags every `docker run` gets: the runtime under test, no network, never pull, and a cid
 * file (the only way to learn the id of a --rm container). */
function runFlags(rt: Runtime, name: string): string[] {
  return ['--name', name, '--runtime', rt.name, '--network', 'none', '--pull', 'never', '--cidfile', cidFile(name)];
}
const cidFile = (name: string) => path.join(DIR, 'cid', name);

/** Adds the ids of the containers `names` ran to containerIds. */
function recordIds(names: string[]): void {
  for (const n of names) {
    try {
      const id = fs.readFileSync(cidFile(n), 'utf8').trim();
      if (/^[0-9a-f]{64}$/.test(id)) containerIds.add(id);
    } catch {
      // never created
    }
  }
}

/** `docker run -d`, returns the 64-hex id. */
function runDetached(rt: Runtime, name: string, flags: string[], cmd: string[]): string {
  const id = ok(docker(['run', '-d', ...runFlags(rt, name), ...flags, IMAGE, ...cmd])).trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  return id;
}

/** The container's own cgroup directory in a v1 hierarchy (on the host). */
function containerCgroup(controller: string, id: string): string {
  const mnt = cgroupMounts().get(controller);
  assert.ok(mnt, `no ${controller} cgroup hierarchy mounted`);
  return path.join(mnt, CG_PARENT, id);
}

async function logsMatch(name: string, re: RegExp, what: string): Promise<string> {
  return poll(`${what} in the logs of ${name} (last: ${JSON.stringify(docker(['logs', name]).stdout.slice(-200))})`, () => {
    const r = docker(['logs', name]);
    return r.status === 0 && re.test(r.stdout) ? r.stdout : undefined;
  }, 15_000);
}

/**
 * One scenario as two tests, `runc` and `runts`. Containers named through `names` are removed
 * afterwards (also when the test fails), and then the daemon must be idle again: a leak fails
 * the test that caused it.
 */
function scenario(title: string, fn: (rt: Runtime, names: Names, t: TestContext) => Promise<void> | void): void {
  describe(title, () => {
    for (const rt of RUNTIMES) {
      it(`--runtime ${rt.name}`, { skip: rt.skip, timeout: TEST_TIMEOUT_MS }, async (t) => {
        if (rt.name === 'runc') assert.ok(fs.existsSync(DEBIAN_RUNC), `${DEBIAN_RUNC} not found: test/setup.sh installs Debian's runc`);
        logMark = logSize();
        const names = new Names();
        let failure: unknown;
        try {
          await fn(rt, names, t);
        } catch (e) {
          failure = e;
        }
        recordIds(names.all);
        const rmErrors: string[] = [];
        for (const n of names.all) {
          const r = docker(['rm', '-f', n]);
          if (r.status !== 0 && !/No such container/i.test(r.stderr)) rmErrors.push(`docker rm -f ${n}: ${r.stderr.trim()}`);
        }
        let leak: string | undefined;
        try {
          if (rmErrors.length) throw new Error(`${rmErrors.join('\n')}${daemonErrors(logMark)}`);
          await assertIdle(`${title} (${rt.name})`);
        } catch (e) {
          leak = (e as Error).message;
        }
        // A leak after a failure is reported with that failure (and would fail the next test).
        if (failure !== undefined) {
          if (leak && failure instanceof Error) failure.message += `\n(and then) ${leak}`;
          throw failure;
        }
        if (leak) throw new Error(leak);
      });
    }
  });
}

describe('docker 20.10 with --runtime runts (vs runc)', { skip: SKIP }, () => {
  before(async () => {
    // The build may be replacing dist/runts right now: give it a moment, then fail (a missing
    // binary is a failure, not a skip).
    await poll(`the runtime under test ${BIN} (build it with npm run build, or set RUNTS_BIN)`, () => (fs.existsSync(BIN) ? true : undefined), 60_000);
    await startDaemon();
    const work = at('image');
    const mk = spawnSync('bash', [MAKE_BUNDLE, path.join(work, 'b')], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const tar = spawnSync('tar', ['-C', path.join(work, 'b/rootfs'), '-cf', path.join(work, 'rootfs.tar'), '.'], { encoding: 'utf8' });
    assert.equal(tar.status, 0, tar.stderr);
    ok(docker(['import', path.join(work, 'rootfs.tar'), IMAGE]));
    fs.rmSync(work, { recursive: true, force: true });
  }, { timeout: 120_000 });

  after(async () => {
    // Best effort when the last test did not get to run; a no-op after it.
    const problems = await stopDaemon();
    if (problems.length) process.stderr.write(`docker.test: cleanup after a failure:\n  ${problems.join('\n  ')}\n`);
  });

  it('the daemon knows runts by its path, and runc is Debian\'s', { timeout: TEST_TIMEOUT_MS }, () => {
    const rts = JSON.parse(ok(docker(['info', '--format', '{{json .Runtimes}}']))) as Record<string, { path: string }>;
    assert.equal(rts.runts?.path, BIN);
    assert.equal(rts.runc?.path, 'runc');
    const ver = spawnSync(DEBIAN_RUNC, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].replace(/^runc version /, '');
    assert.match(ok(docker(['info'])), new RegExp(`runc version: ${ver.replace(/[.+]/g, '\\$&')}`));
  });

  scenario('run: output, stderr, exit status, pid 1 and the cgroup under the daemon\'s parent', (rt, names) => {
    const name = names.make(rt, 'run');
    const r = docker(['run', '--rm', ...runFlags(rt, name), IMAGE, 'sh', '-c', 'echo hello; echo oops >&2; echo pid=$$; id -u; grep memory /proc/self/cgroup; exit 7']);
    assert.equal(r.status, 7, describeOut(r) + daemonErrors(logMark));
    assert.match(r.stdout, /^hello\npid=1\n0\n/);
    assert.match(r.stdout, new RegExp(`^\\d+:memory:/${CG_PARENT}/[0-9a-f]{64}$`, 'm'));
    assert.match(r.stderr, /^oops$/m);
    // And the same detached: docker records the runtime it used.
    const d = names.make(rt, 'rund');
    runDetached(rt, d, [], ['sh', '-c', 'echo detached; exit 3']);
    assert.equal(ok(docker(['wait', d])).trim(), '3');
    assert.equal(inspect(d, '{{.HostConfig.Runtime}} {{.State.ExitCode}}'), `${rt.name} 3`);
    assert.equal(ok(docker(['logs', d])), 'detached\n');
  });

  scenario('--user 1000:1000: the process runs as that uid and gid', (rt, names) => {
    const r = docker(['run', '--rm', ...runFlags(rt, names.make(rt, 'user')), '--user', '1000:1000', IMAGE, 'sh', '-c', 'id -u; id -g; grep -E "^(Uid|Gid):" /proc/self/status']);
    assert.equal(r.status, 0, describeOut(r) + daemonErrors(logMark));
    assert.equal(r.stdout, '1000\n1000\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n');
  });

  scenario('--read-only: the root is read-only; docker adds no tmpfs unless --tmpfs asks', (rt, names) => {
    // Unlike podman (--read-only-tmpfs, on by default), docker leaves /tmp on the read-only root;
    // /dev/shm is its own tmpfs and stays writable.
    const r = docker(['run', '--rm', ...runFlags(rt, names.make(rt, 'ro')), '--read-only', IMAGE, 'sh', '-c',
      'touch /x 2>&1; echo "root=$?"; touch /tmp/x 2>&1; echo "tmp=$?"; touch /dev/shm/x && echo shm=ok; grep -E "^[0-9]+ [0-9]+ [^ ]+ / / " /proc/self/mountinfo']);
    assert.equal(r.status, 0, describeOut(r) + daemonErrors(logMark));
    assert.match(r.stdout, /^touch: \/x: Read-only file system\nroot=1\ntouch: \/tmp\/x: Read-only file system\ntmp=1\nshm=ok\n/);
    assert.match(r.stdout, /^\d+ \d+ \S+ \/ \/ ro[, ]/m);
    // --tmpfs /tmp: docker 20.10 asks for a plain tmpfs (noexec,nosuid,nodev; no tmpcopyup).
    const t = docker(['run', '--rm', ...runFlags(rt, names.make(rt, 'rotmp')), '--read-only', '--tmpfs', '/tmp', IMAGE, 'sh', '-c',
      'touch /tmp/x && echo tmp=ok; touch /y 2>/dev/null || echo root=ro; grep " /tmp " /proc/self/mountinfo']);
    assert.equal(t.status, 0, describeOut(t) + daemonErrors(logMark));
    assert.match(t.stdout, /^tmp=ok\nroot=ro\n/);
    const m = / \/tmp (\S+) (?:.* )?- tmpfs /.exec(t.stdout);
    assert.ok(m, `no tmpfs at /tmp:\n${t.stdout}`);
    for (const o of ['rw', 'nosuid', 'nodev', 'noexec']) assert.ok(m[1].split(',').includes(o), `/tmp options ${m[1]} lack ${o}`);
  });

  scenario('--cap-drop ALL: no capabilities in any set (and docker\'s default set without it)', (rt, names) => {
    const caps = (flags: string[], n: string) => {
      const r = docker(['run', '--rm', ...runFlags(rt, names.make(rt, n)), ...flags, IMAGE, 'sh', '-c',
        'grep ^Cap /proc/self/status; touch /tmp/f; chown 1000 /tmp/f 2>&1 || echo chown-refused']);
      assert.equal(r.status, 0, describeOut(r) + daemonErrors(logMark));
      return r.stdout;
    };
    const none = caps(['--cap-drop', 'ALL'], 'capdrop');
    for (const set of ['Inh', 'Prm', 'Eff', 'Bnd', 'Amb']) assert.match(none, new RegExp(`^Cap${set}:\\t0000000000000000$`, 'm'));
    assert.match(none, /chown-refused/);
    // Docker's default: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
    // NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
    const def = caps([], 'capdef');
    assert.match(def, /^CapEff:\t00000000a80425fb$/m);
    assert.match(def, /^CapBnd:\t00000000a80425fb$/m);
    assert.doesNotMatch(def, /chown-refused/);
  });

  scenario('docker\'s default seccomp profile is in force, and off with seccomp=unconfined', (rt, names, t) => {
    // Not one of the flags a user passes, but every docker run without --privileged sends a
    // seccomp profile; a runtime that ignores it runs containers with more kernel surface than
    // runc would. Skipped, visibly, while the runtime's features say it does not enforce
    // seccomp (runts until issue 10); it turns on by itself when they do.
    const noSeccomp = skipUnlessSeccomp(rt.bin);
    if (noSeccomp) {
      t.skip(noSeccomp);
      return;
    }
    const seccomp = (flags: string[], n: string) => {
      const r = docker(['run', '--rm', ...runFlags(rt, names.make(rt, n)), ...flags, IMAGE, 'grep', '^Seccomp:', '/proc/self/status']);
      assert.equal(r.status, 0, describeOut(r) + daemonErrors(logMark));
      return r.stdout;
    };
    assert.equal(seccomp([], 'seccomp'), 'Seccomp:\t2\n', 'no seccomp filter (mode 2) on the container process');
    assert.equal(seccomp(['--security-opt', 'seccomp=unconfined'], 'unconfined'), 'Seccomp:\t0\n');
    // A syscall the profile blocks fails with its errno: without CAP_SYS_ADMIN, unshare(2) is
    // not in Docker's allow list (defaultErrnoRet EPERM); unconfined, a user namespace is made.
    const unshare = (flags: string[], n: string) =>
      docker(['run', '--rm', ...runFlags(rt, names.make(rt, n)), ...flags, IMAGE, 'sh', '-c', 'unshare -U true 2>&1; echo "unshare=$?"']).stdout;
    assert.match(unshare([], 'unshare'), /Operation not permitted[\s\S]*unshare=1/);
    assert.match(unshare(['--security-opt', 'seccomp=unconfined'], 'unshare-unconfined'), /^unshare=0$/m);
  });

  scenario('--pids-limit 20: pids.max from inside, and a fork loop stops at the limit', (rt, names) => {
    // Builtins only (read, echo) after the loop: a fork could fail there too.
    const r = docker(['run', '--rm', ...runFlags(rt, names.make(rt, 'pids')), '--pids-limit', '20', IMAGE, 'sh', '-c',
      'read m < /sys/fs/cgroup/pids/pids.max; echo max=$m; (i=0; while [ $i -lt 50 ]; do sleep 60 & i=$((i+1)); done) 2>/tmp/err; echo sub=$?; read n < /sys/fs/cgroup/pids/pids.current; echo current=$n; read e < /tmp/err; echo "err=$e"']);
    assert.equal(r.status, 0, describeOut(r) + daemonErrors(logMark));
    assert.match(r.stdout, /^max=20\n/);
    assert.match(r.stdout, /^sub=[1-9]\d*$/m);
    assert.match(r.stdout, /^err=sh: can't fork: Resource temporarily unavailable$/m);
    const cur = Number(/^current=(\d+)$/m.exec(r.stdout)?.[1]);
    assert.ok(cur >= 15 && cur <= 20, `pids.current ${cur} after the fork loop`);
  });

  scenario('-m 32m: the limit from inside, an OOM kill, exit 137 and OOMKilled', (rt, names) => {
    const name = names.make(rt, 'oom');
    // The shell itself grows (command substitution into a variable), so the OOM killer picks it:
    // pid 1 dies of SIGKILL.
    const r = docker(['run', ...runFlags(rt, name), '-m', '32m', '--memory-swap', '32m', IMAGE, 'sh', '-c',
      'read l < /sys/fs/cgroup/memory/memory.limit_in_bytes; echo limit=$l; x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo survived']);
    assert.equal(r.status, 137, describeOut(r) + daemonErrors(logMark));
    assert.match(r.stdout, /^limit=33554432\n/);
    assert.doesNotMatch(r.stdout, /survived/);
    assert.equal(inspect(name, '{{.State.OOMKilled}} {{.State.ExitCode}}'), 'true 137');
  });

  scenario('docker update: memory and cpu-shares change in the running container\'s cgroup', async (rt, names) => {
    const name = names.make(rt, 'upd');
    const id = runDetached(rt, name, ['-m', '64m', '--memory-swap', '64m', '--cpu-shares', '512'], ['sh', '-c',
      'while true; do read m < /sys/fs/cgroup/memory/memory.limit_in_bytes; read s < /sys/fs/cgroup/cpu/cpu.shares; echo "now $m $s"; sleep 0.2; done']);
    await logsMatch(name, /^now 67108864 512$/m, 'the initial limits');
    ok(docker(['update', '--memory', '128m', '--memory-swap', '128m', '--cpu-shares', '1024', name]));
    await logsMatch(name, /^now 134217728 1024$/m, 'the updated limits');
    assert.equal(fs.readFileSync(path.join(containerCgroup('memory', id), 'memory.limit_in_bytes'), 'utf8').trim(), '134217728');
    assert.equal(fs.readFileSync(path.join(containerCgroup('cpu', id), 'cpu.shares'), 'utf8').trim(), '1024');
    assert.equal(inspect(name, '{{.HostConfig.Memory}} {{.HostConfig.CpuShares}}'), '134217728 1024');
  });

  scenario('--init: docker-init is pid 1 and runs the command as its child', (rt, names) => {
    const r = docker(['run', '--rm', ...runFlags(rt, names.make(rt, 'init')), '--init', IMAGE, 'sh', '-c', 'tr "\\0" " " < /proc/1/cmdline; echo; echo pid=$$; exit 4']);
    assert.equal(r.status, 4, describeOut(r) + daemonErrors(logMark));
    assert.match(r.stdout, /^\/sbin\/docker-init -- sh -c /);
    const pid = Number(/^pid=(\d+)$/m.exec(r.stdout)?.[1]);
    assert.ok(pid > 1, `the command is pid ${pid}, not a child of docker-init`);
  });

  scenario('pause / unpause: the container stops ticking while frozen and resumes', async (rt, names) => {
    const name = names.make(rt, 'pause');
    const id = runDetached(rt, name, [], ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done']);
    await logsMatch(name, /^tick 3$/m, 'ticks');
    // (Also proves shimSocket() right, which the leak checks rely on.)
    assert.ok(fs.existsSync(shimSocket(id)), `no shim socket ${shimSocket(id)} for a running container`);
    const ticks = () => (docker(['logs', name]).stdout.match(/^tick \d+$/gm) ?? []).length;
    const freezer = path.join(containerCgroup('freezer', id), 'freezer.state');
    ok(docker(['pause', name]));
    assert.equal(inspect(name, '{{.State.Status}}'), 'paused');
    assert.equal(fs.readFileSync(freezer, 'utf8').trim(), 'FROZEN');
    // Every process of the container sits frozen in that cgroup, so it cannot print while
    // paused: checked on the processes, not by watching the logs a while.
    assertAllFrozen(Number(inspect(name, '{{.State.Pid}}')), path.dirname(freezer));
    const frozenAt = ticks();
    ok(docker(['unpause', name]));
    assert.equal(inspect(name, '{{.State.Status}}'), 'running');
    assert.equal(fs.readFileSync(freezer, 'utf8').trim(), 'THAWED');
    await poll('ticks after unpause', () => (ticks() > frozenAt + 2 ? true : undefined));
  });

  scenario('stop / restart: SIGTERM reaches the process, SIGKILL after the grace time, restart runs it again', async (rt, names) => {
    const name = names.make(rt, 'stop');
    runDetached(rt, name, [], ['sh', '-c', 'echo start; trap "echo got-TERM; exit 42" TERM; sleep 1000 & wait']);
    await logsMatch(name, /^start$/m, 'the start line');
    const pid1 = Number(inspect(name, '{{.State.Pid}}'));
    ok(docker(['stop', '-t', '10', name]));
    assert.equal(inspect(name, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 42');
    assert.match(ok(docker(['logs', name])), /^got-TERM$/m);
    ok(docker(['restart', '-t', '10', name]));
    assert.equal(inspect(name, '{{.State.Status}}'), 'running');
    assert.notEqual(Number(inspect(name, '{{.State.Pid}}')), pid1);
    await logsMatch(name, /^start\n(.*\n)*start$/m, 'a second start line');
    ok(docker(['stop', '-t', '10', name]));
    assert.equal(inspect(name, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 42');
    // sleep as pid 1 has no handler, so the kernel drops SIGTERM: docker kills after 1 s.
    const k = names.make(rt, 'stopkill');
    runDetached(rt, k, [], ['sleep', '1000']);
    ok(docker(['stop', '-t', '1', k]));
    assert.equal(inspect(k, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
  });

  scenario('docker exec: a process joins the running container', (rt, names, t) => {
    // The shim runs `<runtime> exec --process FILE --detach --pid-file FILE ID`.
    const noExec = skipUnlessCommand(rt.bin, 'exec');
    if (noExec) {
      t.skip(noExec);
      return;
    }
    const name = names.make(rt, 'exec');
    runDetached(rt, name, [], ['sleep', '1000']);
    const r = docker(['exec', '-e', 'FOO=bar', name, 'sh', '-c', 'echo pid=$$ foo=$FOO; tr "\\0" " " < /proc/1/cmdline; echo; id -u']);
    assert.equal(r.status, 0, describeOut(r) + daemonErrors(logMark));
    assert.match(r.stdout, /^pid=(\d+) foo=bar\nsleep 1000 \n0\n$/);
    assert.notEqual(/^pid=(\d+)/.exec(r.stdout)?.[1], '1');
    const s = docker(['exec', name, 'sh', '-c', 'exit 5']);
    assert.equal(s.status, 5, describeOut(s));
    assert.equal(ok(docker(['exec', '--user', '1000:1000', name, 'id', '-u'])), '1000\n');
    // -it: the shim passes a console socket to `exec`; docker's client wants a terminal (script).
    const tty = inTerminal([DOCKER, '-H', `unix://${sock()}`, 'exec', '-it', name, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; exit 7'], { DOCKER_CONFIG: at('client') });
    assert.equal(tty.status, 7, describeCall(tty) + daemonErrors(logMark));
    assert.match(tty.stdout, /\/dev\/pts\/\d+\r+\n/);
    assert.match(tty.stdout, /both-ttys\r+\n/);
    // (Not the size: with script's stdin at EOF, `stty size` in a docker 20.10 exec -it fails
    // with "stty: standard input", under runc as under runts.)
    assert.equal(inspect(name, '{{.State.Status}}'), 'running');
  });

  it('stops dockerd and its containerd by pid, and nothing is left behind', { timeout: TEST_TIMEOUT_MS }, async () => {
    const dir = DIR;
    const parents = parentCgroups();
    await assertIdle('all scenarios');
    const problems = await stopDaemon();
    assert.deepEqual(problems, []);
    assert.ok(!fs.existsSync(dir), `${dir} remains`);
    const cgs = parents.filter((d) => fs.existsSync(d));
    assert.deepEqual(cgs, [], 'cgroup parent dirs remain');
    if (!hadKeyJson) assert.ok(!fs.existsSync('/etc/docker/key.json'), 'dockerd wrote /etc/docker/key.json');
    assert.ok(hadRunDocker || !fs.existsSync('/run/docker'), '/run/docker remains');
  });
});
