/**
 * Drop-in under containerd 1.6 (Debian), driven by `ctr` through the io.containerd.runc.v2
 * shim, with the runtime under test as the shim's runc binary (`ctr run --runc-binary BIN
 * --runc-root ROOT`: in 1.6 that is how a ctr client passes the shim's BinaryName and Root
 * options; the daemon config only holds them for the CRI plugin, see cri.test.ts). Every
 * scenario runs under the runtime under test and, beside it, under Debian's runc.
 *
 * The daemon is private to this file: its own root, state, socket and config in a temp dir,
 * its containers under their own cgroup parent (/runts-ctrd-<pid>), started here and stopped
 * by pid in `after`. Images are built locally from the busybox test rootfs
 * (test/engines/oci-image.sh): nothing can be pulled here. Each test checks from inside the
 * container what it asked for, and then that containerd, the shim and the runtime left nothing
 * for that container: no task, no container record, no shim (process or socket), no bundle, no
 * runtime state, no cgroup, no process, no mount.
 *
 * What ctr 1.6 cannot do is a visible skip: it has no `--user` flag (the non-root test uses an
 * image whose config says User 1000:1000, which is what engines do with USER) and no `task
 * update` (the update path is tested through the CRI in cri.test.ts). `ctr tasks checkpoint`
 * needs a CRIU that works here: where `criu check` fails (this host's 6.18 kernel) it skips and
 * says so (checkpoint/restore are tested in the cgroup v2 VM, test/vm/criu.sh).
 *
 * The shim is a subreaper and reaps the container's processes, but the shim itself is
 * reparented when it daemonizes, and PID 1 here never reaps: ensureSubreaper() puts a reaper
 * above this file so exited shims do not stay zombies.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import {
  BIN,
  BIN_IS_RUNC,
  RUNC,
  SKIP_REASON,
  assertAllFrozen,
  assertBinary,
  callRaw,
  describeCall,
  ensureSubreaper,
  inTerminal,
  mountsUnder,
  poll,
  procCgroups,
  requireRunc,
  startCallRaw,
} from './helpers.ts';
import type { CallResult } from './helpers.ts';
import {
  CTR,
  Containerd,
  OCI_IMAGE_SH,
  cgroupDirsAt,
  containerdMissing,
  daemonLeftovers,
  entries,
  forceCleanup,
  hostCgroupDir,
  processesInCgroup,
  processesUsing,
  settle,
  skipUnlessCommand,
} from './engines.ts';

ensureSubreaper();

const PID = process.pid;
const NS = `runts-${PID}`;
const CG = `/runts-ctrd-${PID}`;
const IMAGE = `docker.io/library/runts-busybox:${PID}`;
/** The same rootfs, with User "1000:1000" in its config. */
const IMAGE_USER = `docker.io/library/runts-busybox-user:${PID}`;
const TEST_TIMEOUT = 60_000;

interface Runtime {
  name: string;
  bin: string;
}
const RUNTIMES: Runtime[] = [{ name: path.basename(BIN), bin: BIN }];
// runc beside it, always: test/setup.sh installs it, so a missing runc fails `before`. When
// RUNTS_BIN is runc, the runtime under test is runc already: a second set of runs would repeat
// its own (a visible skip).
if (!BIN_IS_RUNC) RUNTIMES.push({ name: 'runc', bin: RUNC });

const SKIP = SKIP_REASON ?? containerdMissing();

/** Whitespace-normalized lines (uid_map pads its columns). */
function squash(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '))
    .join('\n');
}

/** Why checkpointing cannot be tested with `bin` here, or false. */
function checkpointSkip(bin: string): string | false {
  const noCmd = skipUnlessCommand(bin, 'checkpoint');
  if (noCmd) return noCmd;
  const criu = spawnSync('criu', ['check'], { encoding: 'utf8', timeout: 20_000 });
  if (criu.error) return `criu is not installed (${criu.error.message})`;
  if (criu.status !== 0) {
    const why = `${criu.stdout}${criu.stderr}`.trim().split('\n').filter(Boolean);
    return `\`criu check\` fails on this kernel: ${why.slice(0, 2).join(' / ')}`;
  }
  return false;
}

describe('containerd 1.6: ctr drives the runtime through io.containerd.runc.v2', { skip: SKIP }, () => {
  let dir = '';
  let cd: Containerd;
  let logs = '';
  /** Each runtime's --root, as the shim's Root option: the state is <root>/<namespace>/<id>. */
  const runtimeRoot = (rt: Runtime) => path.join(dir, 'runtime-root', rt.name);

  before(async () => {
    assertBinary(BIN);
    requireRunc();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-containerd-'));
    // A user-namespaced container (uid 100000 on the host) must reach its rootfs under the
    // state dir; mkdtemp makes 0700.
    fs.chmodSync(dir, 0o755);
    logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    cd = new Containerd({ dir, cgroupParent: CG });
    await cd.start();
    const build = (args: string[]) => {
      const r = callRaw('bash', [OCI_IMAGE_SH, ...args], { timeoutMs: 60_000 });
      assert.equal(r.status, 0, describeCall(r));
    };
    build(['busybox', IMAGE, path.join(dir, 'busybox.tar')]);
    build(['busybox', IMAGE_USER, path.join(dir, 'busybox-user.tar'), '1000:1000']);
    cd.ctrOk(NS, ['images', 'import', path.join(dir, 'busybox.tar')], 60_000);
    cd.ctrOk(NS, ['images', 'import', path.join(dir, 'busybox-user.tar')], 60_000);
    const images = cd.ctrOk(NS, ['images', 'ls', '-q']);
    assert.ok(images.includes(IMAGE) && images.includes(IMAGE_USER), images);
  });

  after(async () => {
    if (!cd) return;
    // Backstop for tests that failed before their own cleanup: no container may outlive the
    // daemon (its shim would keep running).
    const left = cd.pid !== undefined ? cd.ctr(NS, ['containers', 'ls', '-q']).stdout.split('\n').filter(Boolean) : [];
    for (const id of left) removeContainer(id);
    if (cd.pid !== undefined) {
      cd.ctr(NS, ['images', 'rm', IMAGE, IMAGE_USER]);
      cd.ctr('default', ['namespaces', 'rm', NS]);
    }
    await cd.stop();
    const problems = await settle(() => {
      const p = daemonLeftovers(dir, CG);
      for (const rt of RUNTIMES) {
        const states = entries(path.join(runtimeRoot(rt), NS));
        if (states.length > 0) p.push(`${rt.name} state left in ${path.join(runtimeRoot(rt), NS)}: ${states.join(', ')}`);
      }
      return p;
    });
    forceCleanup(dir, CG);
    assert.deepEqual(left, [], 'containers left for the final cleanup');
    assert.deepEqual(problems, [], 'containerd left things behind');
    assert.equal(fs.existsSync(dir), false, `${dir} not removed`);
  });

  /** Best effort: kill, delete the task, delete the container (and its snapshot). */
  function removeContainer(id: string): void {
    if (cd?.pid === undefined) return;
    if (!cd.ctr(NS, ['containers', 'ls', '-q']).stdout.split('\n').includes(id)) return;
    cd.ctr(NS, ['tasks', 'kill', '--signal', 'SIGKILL', '--all', id]);
    for (let i = 0; i < 50 && /RUNNING|PAUSED|PAUSING/.test(taskStatus(id) ?? ''); i++) spawnSync('sleep', ['0.1']);
    cd.ctr(NS, ['tasks', 'delete', '--force', id]);
    cd.ctr(NS, ['containers', 'delete', id]);
  }

  /** `ctr tasks ls` row for `id`: STATUS, or undefined when there is no task. */
  function taskStatus(id: string): string | undefined {
    return taskRow(id)?.status;
  }
  function taskRow(id: string): { pid: number; status: string } | undefined {
    for (const l of cd.ctr(NS, ['tasks', 'ls']).stdout.split('\n').slice(1)) {
      const f = l.trim().split(/\s+/);
      if (f[0] === id) return { pid: Number(f[1]), status: f[2] };
    }
    return undefined;
  }

  /** One container of one test: a unique id, its ctr arguments, its cleanup and checks. */
  class Box {
    readonly id: string;
    readonly log: string;
    constructor(
      t: TestContext,
      readonly rt: Runtime,
      label: string,
    ) {
      this.id = `${label}-${rt.name}-${PID}`;
      this.log = path.join(logs, `${this.id}.log`);
      t.after(() => removeContainer(this.id));
    }

    get cgroup(): string {
      return `${CG}/${this.id}`;
    }

    /** `ctr run` arguments up to the image: the shim's runtime and its root, our fifo dir and
     * cgroup path, then `extra`. */
    runArgs(extra: string[] = []): string[] {
      return ['run', '--fifo-dir', cd.fifoDir, '--runc-binary', this.rt.bin, '--runc-root', runtimeRoot(this.rt), '--cgroup', this.cgroup, ...extra];
    }

    /** `ctr run --rm [extra] IMAGE ID sh -c SCRIPT`, in the foreground. */
    run(script: string, extra: string[] = [], image = IMAGE): CallResult {
      return cd.ctr(NS, [...this.runArgs(['--rm', ...extra]), image, this.id, 'sh', '-c', script]);
    }

    /** `ctr run -d --log-uri file://LOG [extra] IMAGE ID sh -c SCRIPT`; waits for RUNNING and
     * for `ready` in the container's output when given. Returns the init's host pid. */
    async detach(script: string, opts: { extra?: string[]; ready?: string; image?: string } = {}): Promise<number> {
      cd.ctrOk(NS, [...this.runArgs(['-d', '--log-uri', `file://${this.log}`, ...(opts.extra ?? [])]), opts.image ?? IMAGE, this.id, 'sh', '-c', script]);
      const row = await poll(`${this.id} RUNNING (last: ${taskStatus(this.id)})`, () => {
        const r = taskRow(this.id);
        return r?.status === 'RUNNING' ? r : undefined;
      });
      if (opts.ready) await poll(`${JSON.stringify(opts.ready)} in ${this.id}'s output (${this.output()})`, () => (this.output().includes(opts.ready!) ? true : undefined));
      return row.pid;
    }

    output(): string {
      try {
        return fs.readFileSync(this.log, 'utf8');
      } catch {
        return '';
      }
    }

    async waitStopped(): Promise<void> {
      await poll(`${this.id} STOPPED (last: ${taskStatus(this.id)})`, () => (taskStatus(this.id) === 'STOPPED' ? true : undefined), 15_000);
    }

    /** `ctr tasks delete ID`, then the exit status containerd recorded: ctr 1.6 warns
     * "task ID exit with non-zero exit code N" and still exits 0; no warning means 0. */
    deleteTask(): number {
      const r = cd.ctr(NS, ['tasks', 'delete', this.id]);
      assert.equal(r.status, 0, describeCall(r));
      const m = /exit with non-zero exit code (\d+)/.exec(r.stderr);
      return m ? Number(m[1]) : 0;
    }

    deleteContainer(): void {
      cd.ctrOk(NS, ['containers', 'delete', this.id]);
    }

    /** The host dir of the container's cgroup in the v1 hierarchy that has `controller`. */
    hostCgroup(controller: string): string {
      return hostCgroupDir(controller, this.cgroup);
    }

    /** Everything containerd, the shim and the runtime could leave for this container. */
    leftovers(): string[] {
      const p: string[] = [];
      if (cd.ctr(NS, ['containers', 'ls', '-q']).stdout.split('\n').includes(this.id)) p.push('container record');
      if (taskRow(this.id)) p.push(`task (${taskStatus(this.id)})`);
      const bundle = cd.bundleDir(NS, this.id);
      if (fs.existsSync(bundle)) p.push(`shim bundle ${bundle}`);
      const state = path.join(runtimeRoot(this.rt), NS, this.id);
      if (fs.existsSync(state)) p.push(`${this.rt.name} state ${state}`);
      const cgs = cgroupDirsAt(this.cgroup);
      if (cgs.length > 0) p.push(`cgroups ${cgs.join(', ')}`);
      const inCg = processesInCgroup(this.cgroup);
      if (inCg.length > 0) p.push(`processes in its cgroup: ${inCg.map((x) => x.pid).join(', ')}`);
      const shims = processesUsing(cd.socket).filter((x) => x.what.split(' ').includes(this.id));
      if (shims.length > 0) p.push(`shim processes: ${shims.map((x) => `${x.pid} ${x.what}`).join('; ')}`);
      if (fs.existsSync(cd.shimSocket(NS, this.id))) p.push(`shim socket ${cd.shimSocket(NS, this.id)}`);
      const mounts = mountsUnder(cd.state).filter((m) => m.mountPoint.includes(`/${this.id}/`) || m.mountPoint.endsWith(`/${this.id}`));
      if (mounts.length > 0) p.push(`mounts ${mounts.map((m) => m.mountPoint).join(', ')}`);
      return p;
    }

    /** Asserts nothing is left (the shim exits shortly after the delete that ends it). */
    async assertGone(): Promise<void> {
      const p = await settle(() => this.leftovers());
      assert.deepEqual(p, [], `left behind for ${this.id} (${this.rt.name})`);
    }
  }

  if (BIN_IS_RUNC) {
    it('runtime runc, beside the runtime under test', { skip: 'RUNTS_BIN is runc: the runtime under test is runc already, a second set of runs would repeat its own' }, () => {});
  }

  for (const rt of RUNTIMES) {
    describe(`runtime ${rt.name}`, { timeout: 5 * 60_000 }, () => {
      it('ctr run: output, pid 1, its cgroup and the exit status', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'run');
        const r = b.run('echo "hello from $(hostname)"; echo "pid $$"; cat /proc/self/cgroup; exit 7');
        assert.equal(r.status, 7, describeCall(r));
        assert.match(r.stdout, /^hello from /m);
        assert.match(r.stdout, /^pid 1$/m);
        assert.match(r.stdout, new RegExp(`^\\d+:memory:${b.cgroup}$`, 'm'));
        assert.match(r.stdout, new RegExp(`^\\d+:pids:${b.cgroup}$`, 'm'));
        await b.assertGone();
      });

      it('ctr run -d, tasks kill (SIGTERM), tasks delete, containers delete', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'detach');
        const pid = await b.detach('trap "echo got TERM; exit 3" TERM; echo ready; while :; do sleep 0.1; done', { ready: 'ready' });
        assert.equal(procCgroups(pid)?.get('memory'), b.cgroup);
        // The leftover checks look in the right places: a live container shows in each.
        const live = b.leftovers().map((p) => p.split(' ')[0]);
        for (const kind of ['container', 'task', 'shim', rt.name, 'cgroups', 'processes', 'mounts']) {
          assert.ok(live.includes(kind), `a live container is not seen as "${kind}": ${b.leftovers().join('; ')}`);
        }
        assert.ok(b.leftovers().some((p) => p.startsWith('shim socket')), b.leftovers().join('; '));
        cd.ctrOk(NS, ['tasks', 'kill', b.id]); // SIGTERM by default
        await b.waitStopped();
        assert.match(b.output(), /got TERM/);
        assert.equal(b.deleteTask(), 3);
        b.deleteContainer();
        await b.assertGone();
      });

      it('ctr run -t: the process gets a terminal', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'tty');
        // ctr -t needs a terminal of its own: script(1) gives it one (of a set size).
        const ctr = [CTR, '--address', cd.socket, '--namespace', NS, ...b.runArgs(['--rm', '-t']), IMAGE, b.id, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; exit 4'];
        const r = inTerminal(ctr);
        assert.equal(r.status, 4, describeCall(r));
        assert.match(r.stdout, /\/dev\/pts\/\d+\r+\n/);
        // onlcr: the container's "\n" reaches us as "\r\n" through its pty (and script's).
        assert.match(r.stdout, /all-ttys\r+\n/);
        await b.assertGone();
      });

      it('non-root user from the image config (User 1000:1000)', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'user');
        const r = b.run('id; grep -E "^(Uid|Gid|Groups):" /proc/self/status; touch /root/x 2>/dev/null; echo "touch /root: $?"', [], IMAGE_USER);
        assert.equal(r.status, 0, describeCall(r));
        assert.match(r.stdout, /^uid=1000\(user\) gid=1000\(user\)/m);
        assert.match(r.stdout, /^Uid:\t1000\t1000\t1000\t1000$/m);
        assert.match(r.stdout, /^Gid:\t1000\t1000\t1000\t1000$/m);
        assert.match(r.stdout, /^touch \/root: 1$/m); // /root is 0700 root
        await b.assertGone();
      });

      it('user namespace: --uidmap/--gidmap 0:100000:65536', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'userns');
        const map = ['--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536'];
        const pid = await b.detach('cat /proc/self/uid_map /proc/self/gid_map; id; stat -c "owner %u:%g" /bin/busybox; echo ready; exec sleep 1000', { extra: map, ready: 'ready' });
        const out = squash(b.output());
        assert.match(out, /^0 100000 65536\n0 100000 65536\n/, out);
        assert.match(out, /^uid=0\(root\) gid=0\(root\)/m);
        assert.match(out, /^owner 0:0$/m); // ctr remapped the snapshot for the namespace
        // From outside: the same process is uid/gid 100000 in a user namespace not ours.
        const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
        assert.match(status, /^Uid:\t100000\t100000\t100000\t100000$/m);
        assert.match(status, /^Gid:\t100000\t100000\t100000\t100000$/m);
        assert.notEqual(fs.readlinkSync(`/proc/${pid}/ns/user`), fs.readlinkSync('/proc/self/ns/user'));
        cd.ctrOk(NS, ['tasks', 'kill', '--signal', 'SIGKILL', b.id]);
        await b.waitStopped();
        assert.equal(b.deleteTask(), 137);
        b.deleteContainer();
        await b.assertGone();
      });

      it('resources: --memory-limit, --cpus, --cpu-shares in the cgroup (inside and outside)', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'res');
        const limits = ['--memory-limit', String(256 * 1024 * 1024), '--cpus', '0.5', '--cpu-shares', '512'];
        // ctr's default spec has no /sys/fs/cgroup mount (runc's and CRI's do): add one, read-only.
        const cgroupMount = ['--mount', 'type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:nodev:noexec'];
        const script = [
          'echo "mem $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"',
          'echo "quota $(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)"',
          'echo "period $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"',
          'echo "shares $(cat /sys/fs/cgroup/cpu/cpu.shares)"',
          'echo ready',
          'exec sleep 1000',
        ].join('; ');
        await b.detach(script, { extra: [...limits, ...cgroupMount], ready: 'ready' });
        const inside = b.output();
        assert.match(inside, /^mem 268435456$/m);
        assert.match(inside, /^quota 50000$/m);
        assert.match(inside, /^period 100000$/m);
        assert.match(inside, /^shares 512$/m);
        const host = (c: string, f: string) => fs.readFileSync(path.join(b.hostCgroup(c), f), 'utf8').trim();
        assert.equal(host('memory', 'memory.limit_in_bytes'), '268435456');
        assert.equal(host('cpu', 'cpu.cfs_quota_us'), '50000');
        assert.equal(host('cpu', 'cpu.shares'), '512');
        cd.ctrOk(NS, ['tasks', 'kill', '--signal', 'SIGKILL', b.id]);
        await b.waitStopped();
        assert.equal(b.deleteTask(), 137);
        b.deleteContainer();
        await b.assertGone();
      });

      it('ctr task update', {
        skip: 'ctr 1.6 has no `task update` command (`ctr tasks --help`); the shim\'s Update → `runtime update` path is tested through the CRI in cri.test.ts (crictl update)',
      }, () => {});

      it('ctr tasks pause / resume: the processes stop and go on', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'pause');
        const pid = await b.detach('i=0; echo ready; while :; do i=$((i+1)); echo $i > /tmp/tick; sleep 0.05; done', { ready: 'ready' });
        const tick = () => fs.readFileSync(`/proc/${pid}/root/tmp/tick`, 'utf8').trim();
        const freezer = () => fs.readFileSync(path.join(b.hostCgroup('freezer'), 'freezer.state'), 'utf8').trim();
        cd.ctrOk(NS, ['tasks', 'pause', b.id]);
        assert.equal(taskStatus(b.id), 'PAUSED');
        assert.equal(freezer(), 'FROZEN');
        // Every process of the container sits frozen in that cgroup, so the counter cannot
        // move while paused: checked on the processes, not by watching the counter a while.
        assertAllFrozen(pid, b.hostCgroup('freezer'));
        const frozenAt = tick();
        cd.ctrOk(NS, ['tasks', 'resume', b.id]);
        assert.equal(taskStatus(b.id), 'RUNNING');
        assert.equal(freezer(), 'THAWED');
        await poll('the counter to move after resume', () => (tick() !== frozenAt ? true : undefined));
        cd.ctrOk(NS, ['tasks', 'kill', '--signal', 'SIGKILL', b.id]);
        await b.waitStopped();
        assert.equal(b.deleteTask(), 137);
        b.deleteContainer();
        await b.assertGone();
      });

      it('ctr tasks ps lists the container\'s processes (host pids, as the cgroup has them)', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'ps');
        const pid = await b.detach('sleep 1000 & sleep 1001 & echo ready; wait', { ready: 'ready' });
        const listed = cd
          .ctrOk(NS, ['tasks', 'ps', b.id])
          .split('\n')
          .slice(1)
          .map((l) => Number(l.trim().split(/\s+/)[0]))
          .filter((n) => n > 0)
          .sort((x, y) => x - y);
        const procs = fs
          .readFileSync(path.join(b.hostCgroup('memory'), 'cgroup.procs'), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map(Number)
          .sort((x, y) => x - y);
        assert.equal(listed.length, 3, `ps: ${listed.join(' ')}`);
        assert.deepEqual(listed, procs);
        assert.ok(listed.includes(pid));
        cd.ctrOk(NS, ['tasks', 'kill', '--signal', 'SIGKILL', b.id]);
        await b.waitStopped();
        b.deleteTask();
        b.deleteContainer();
        await b.assertGone();
      });

      it('ctr tasks metrics reports the container\'s cgroup', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'metrics');
        await b.detach('sleep 1000 & sleep 1001 & echo ready; wait', { extra: ['--memory-limit', String(128 * 1024 * 1024)], ready: 'ready' });
        const m = JSON.parse(cd.ctrOk(NS, ['tasks', 'metrics', '--format', 'json', b.id])) as {
          pids?: { current?: number };
          memory?: { usage?: { limit?: number; usage?: number } };
          cpu?: { usage?: { total?: number } };
        };
        assert.equal(m.pids?.current, 3);
        assert.equal(m.memory?.usage?.limit, 128 * 1024 * 1024);
        assert.ok((m.memory?.usage?.usage ?? 0) > 0, JSON.stringify(m.memory?.usage));
        assert.ok((m.cpu?.usage?.total ?? 0) > 0, JSON.stringify(m.cpu?.usage));
        cd.ctrOk(NS, ['tasks', 'kill', '--signal', 'SIGKILL', b.id]);
        await b.waitStopped();
        b.deleteTask();
        b.deleteContainer();
        await b.assertGone();
      });

      it('ctr tasks kill --signal 9 (a number): ctr run exits 137', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'kill9');
        const fg = startCallRaw(CTR, ['--address', cd.socket, '--namespace', NS, ...b.runArgs(['--rm']), IMAGE, b.id, 'sleep', '1000'], { timeoutMs: 30_000 });
        await poll(`${b.id} RUNNING`, () => (taskStatus(b.id) === 'RUNNING' ? true : undefined));
        cd.ctrOk(NS, ['tasks', 'kill', '--signal', '9', b.id]);
        const r = await fg.result;
        assert.equal(r.status, 137, describeCall(r));
        await b.assertGone();
      });

      it('ctr tasks kill --all: every process gets the signal, not only the init', { timeout: TEST_TIMEOUT }, async (t) => {
        const b = new Box(t, rt, 'killall');
        // sh as pid 1 of its namespace has no SIGTERM handler, so the kernel drops the signal
        // for it: only --all (which signals every process in the cgroup) ends the sleeps.
        await b.detach('sleep 1000 & sleep 1001 & echo ready; wait; echo waited', { ready: 'ready' });
        cd.ctrOk(NS, ['tasks', 'kill', '--all', '--signal', 'SIGTERM', b.id]);
        await b.waitStopped();
        assert.match(b.output(), /^waited$/m);
        assert.equal(b.deleteTask(), 0);
        b.deleteContainer();
        await b.assertGone();
      });

      it('ctr tasks exec: a second process in the container', { timeout: TEST_TIMEOUT, skip: skipUnlessCommand(rt.bin, 'exec') }, async (t) => {
        const b = new Box(t, rt, 'exec');
        const pid = await b.detach('echo ready; exec sleep 1000', { ready: 'ready' });
        const r = cd.ctr(NS, ['tasks', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', `e-${PID}`, b.id, 'sh', '-c', 'echo "exec $(cat /proc/1/cmdline | tr "\\0" " ")"; id -u; exit 5']);
        assert.equal(r.status, 5, describeCall(r));
        assert.match(r.stdout, /^exec sleep 1000 $/m);
        assert.match(r.stdout, /^0$/m);
        const u = cd.ctr(NS, ['tasks', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', `u-${PID}`, '--user', '1000', b.id, 'id', '-u']);
        assert.equal(u.status, 0, describeCall(u));
        assert.equal(u.stdout.trim(), '1000');
        // -t: the shim hands runts a console socket; ctr needs a terminal of its own (script).
        const tty = [CTR, '--address', cd.socket, '--namespace', NS, 'tasks', 'exec', '--fifo-dir', cd.fifoDir, '--exec-id', `t-${PID}`, '-t', b.id, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; exit 6'];
        const r2 = inTerminal(tty);
        assert.equal(r2.status, 6, describeCall(r2));
        assert.match(r2.stdout, /\/dev\/pts\/\d+\r+\n/);
        assert.match(r2.stdout, /both-ttys\r+\n/);
        assert.equal(taskRow(b.id)?.pid, pid);
        cd.ctrOk(NS, ['tasks', 'kill', '--signal', 'SIGKILL', b.id]);
        await b.waitStopped();
        b.deleteTask();
        b.deleteContainer();
        await b.assertGone();
      });

      it('ctr tasks checkpoint --exit', { timeout: TEST_TIMEOUT, skip: checkpointSkip(rt.bin) }, async (t) => {
        const b = new Box(t, rt, 'ckpt');
        await b.detach('echo ready; exec sleep 1000', { ready: 'ready' });
        const images = path.join(dir, `ckpt-${b.id}`);
        fs.mkdirSync(images);
        cd.ctrOk(NS, ['tasks', 'checkpoint', '--exit', '--image-path', images, b.id], 60_000);
        await b.waitStopped();
        assert.ok(entries(images).some((f) => f.endsWith('.img')), `no criu images in ${images}: ${entries(images).join(' ')}`);
        b.deleteTask();
        b.deleteContainer();
        await b.assertGone();
      });
    });
  }
});
