/**
 * Drop-in under a real engine: podman 4.3 (Debian) with `--runtime runts` runs, pauses, stops,
 * updates and removes containers — with a non-root user, a read-only root, tmpfs copy-up, a
 * user namespace and systemd mode — and passes the exit status through, the same as with runc.
 * Every scenario is one function run twice, `--runtime <runts>` and then `--runtime runc`, so a
 * difference shows up as one line passing and its neighbour failing. What was asked for is
 * checked from inside the container (its mount table, /proc/self/status, its cgroup files),
 * not from podman's view of it.
 *
 * - The image is imported from the busybox test rootfs (no registry is reachable here), with a
 *   few additions: /data with content (for --tmpfs copy-up) and /usr/local/sbin/init, a busybox
 *   script standing in for systemd (no systemd image can be pulled).
 * - Podman gets a private store for this run (--root, --runroot, --tmpdir, --volumepath, and
 *   TMPDIR, which `podman update` uses for its resources file), so nothing lands in the
 *   machine's default store. The runtimes keep their default --root (/run/runc, /run/runts):
 *   podman 4.3 forgets `--runtime-flag root=...` on `delete --force`, so a private runtime root
 *   leaks state. The last test checks that nothing of this run is left (containers, images,
 *   runtime state, cgroups, mounts, processes), using the ids from podman's events file.
 * - This machine lacks CAP_SYS_RESOURCE, so podman's default ulimits (1048576) are lowered
 *   (ULIMITS): runc and crun refuse them too.
 * - conmon double-forks; its orphan goes to the nearest subreaper, so the file runs beneath
 *   test/fixtures/subreaper (ensureSubreaper) where exited conmons are reaped, not left as
 *   zombies under a PID 1 that does not reap.
 * - Scenarios that need `<runtime> exec` (podman exec, podman top with ps(1) options) are
 *   skipped, with the reason, while the runtime has no exec command.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessCommand, skipUnlessSeccomp } from './engines.ts';
import type { MountEntry } from './helpers.ts';
import {
  BIN,
  BIN_IS_RUNC,
  MAKE_BUNDLE,
  RUNC,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  cgroupDirsFor,
  cgroupDirsOf,
  describeCall,
  ensureSubreaper,
  inTerminal,
  mountsUnder,
  parseMountinfo,
  poll,
  requireRunc,
  sdNotifyHelper,
  sleep,
} from './helpers.ts';

ensureSubreaper();

const PODMAN = '/usr/bin/podman';
const IMAGE = `localhost/runts-test-busybox:${process.pid}`;
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
/** The new scenarios need no network; `none` saves netavark's firewall work per container (the
 * first two keep podman's default bridge: a netns path the runtime must join). */
const NO_NET = ['--network', 'none'];
/** One podman call; a test gets TEST_TIMEOUT_MS. */
const CALL_TIMEOUT_MS = 30_000;
/** The busybox stand-in for systemd inside the image. */
const FAKE_INIT = '/usr/local/sbin/init';
/** test/fixtures/sd-notify.c in the image (static). */
const SD_NOTIFY = '/usr/local/sbin/sd-notify';
/** podman's stop signal in systemd mode: SIGRTMIN+3 (glibc's SIGRTMIN is 34), as it annotates
 * org.opencontainers.image.stopSignal=37 and sends `kill <id> 37`. */
const SIGRTMIN_PLUS_3 = 37;

const SKIP = SKIP_REASON ?? (!existsSync(PODMAN) ? `podman not installed at ${PODMAN}` : undefined);

// ---------------------------------------------------------------------------
// The private store, one per run of this file

const WORK = SKIP ? join(tmpdir(), 'runts-podman-skipped') : mkdtempSync(join(tmpdir(), 'runts-podman-'));
// mkdtemp makes 0700; the user-namespaced container (host uid 100000) must reach its rootfs
// and its volume through this dir.
if (!SKIP) chmodSync(WORK, 0o755);
const STORE = {
  root: join(WORK, 'root'),
  runroot: join(WORK, 'runroot'),
  tmpdir: join(WORK, 'tmp'),
  volumes: join(WORK, 'volumes'),
  /** TMPDIR for podman: import's layer copies, update's --resources file. */
  vartmp: join(WORK, 'vartmp'),
};
const STORE_ARGS = [
  '--root', STORE.root,
  '--runroot', STORE.runroot,
  '--tmpdir', STORE.tmpdir,
  '--volumepath', STORE.volumes,
  '--cgroup-manager', 'cgroupfs',
  '--events-backend', 'file',
];
/** Where --events-backend file writes, under --tmpdir (podman 4.3). */
const EVENTS_LOG = join(STORE.tmpdir, 'events/events.log');

// ---------------------------------------------------------------------------
// The two runtimes

interface Runtime {
  /** Shown in the test name. */
  label: string;
  bin: string;
  /** Why this runtime's runs are skipped, if they are. */
  skip?: string;
}

const RUNTIMES: Runtime[] = [
  { label: BIN_IS_RUNC ? 'runc (as RUNTS_BIN)' : 'runts', bin: BIN },
  {
    label: 'runc',
    bin: RUNC,
    // Installed by test/setup.sh: a missing runc fails these runs (scenario calls requireRunc).
    skip: BIN_IS_RUNC ? 'RUNTS_BIN is runc: the comparison run would repeat the one above' : undefined,
  },
];

// ---------------------------------------------------------------------------
// Driving podman

interface PodmanResult {
  argv: string[];
  status: number | null;
  stdout: string;
  stderr: string;
}

function describeResult(r: PodmanResult): string {
  return `podman ${r.argv.join(' ')}: status=${r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

let names = 0;
function uniqueName(): string {
  names += 1;
  return `runts-it-${process.pid}-${names}`;
}

class Podman {
  constructor(readonly rt: Runtime) {}

  /** `podman <private store> --runtime <bin> ...args`, bounded by CALL_TIMEOUT_MS. */
  call(args: string[], timeout = CALL_TIMEOUT_MS, env: Record<string, string> = {}): PodmanResult {
    const argv = [...STORE_ARGS, '--runtime', this.rt.bin, ...args];
    const r = spawnSync(PODMAN, argv, {
      encoding: 'utf8',
      timeout,
      killSignal: 'SIGKILL',
      env: { ...process.env, TMPDIR: STORE.vartmp, ...env },
    });
    const res = { argv: args, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    if (r.error) throw new Error(`${r.error.message}\n${describeResult(res)}`);
    return res;
  }

  /** call() and insist on status 0; returns stdout. */
  ok(args: string[]): string {
    const r = this.call(args);
    if (r.status !== 0) throw new Error(describeResult(r));
    return r.stdout;
  }

  /** The container's state and log, for failure messages: the runtime's init errors land in
   * the container log (conmon holds its stderr), podman's own message only says "cannot start
   * a container that has stopped". */
  diagnose(name: string): string {
    const st = this.call(['inspect', '--format', '{{.State.Status}} exit={{.State.ExitCode}} error={{.State.Error}}', name]);
    const logs = this.call(['logs', name]);
    return `\n--- podman inspect ${name} ---\n${st.stdout}${st.stderr}--- podman logs ${name} ---\n${logs.stdout}${logs.stderr}`;
  }

  /** `podman run --name N ULIMITS opts IMAGE cmd` attached (conmon runs `create` then `start`:
   * the exec fifo path), asserts exit status 0, runs `check` on its stdout, then removes it. A
   * failure carries the container's log, where the runtime's warnings and init errors land. */
  async runAttached(opts: string[], cmd: string[], check: (stdout: string) => void): Promise<void> {
    const name = uniqueName();
    await this.withContainer(name, () => {
      const r = this.call(['run', '--name', name, ...ULIMITS, ...opts, IMAGE, ...cmd]);
      if (r.status !== 0) throw new Error(`expected exit status 0: ${describeResult(r)}${this.diagnose(name)}`);
      try {
        check(r.stdout);
      } catch (e) {
        if (e instanceof Error) e.message += `\n--- stdout ---\n${r.stdout}${this.diagnose(name)}`;
        throw e;
      }
    });
  }

  /** `podman run -d --name N ULIMITS opts IMAGE cmd`; returns the name. */
  runDetached(opts: string[], cmd: string[]): string {
    const name = uniqueName();
    const r = this.call(['run', '-d', '--name', name, ...ULIMITS, ...opts, IMAGE, ...cmd]);
    if (r.status !== 0) throw new Error(`${describeResult(r)}${this.diagnose(name)}`);
    return name;
  }

  /** Runs `fn`, then removes the container — asserted when `fn` succeeded, best effort when
   * it failed (its error is the one worth seeing). */
  async withContainer<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      this.call(['rm', '-f', '-t', '0', name]);
      throw e;
    }
    await this.remove(name);
    return result;
  }

  /**
   * `podman rm -f`, asserting the container is gone. podman 4.3 sometimes reports
   * `removing container <id> root filesystem: ... unlinkat .../userdata/shm: device or
   * resource busy` for an exited user-namespaced container although it did remove everything
   * (the same with runc as with runts; upstream's unlinkat/EBUSY flakes, podman#11594, fixed
   * after 4.3): that one message is accepted when the container and its mounts are really gone.
   */
  async remove(name: string): Promise<void> {
    const id = this.call(['inspect', '--format', '{{.Id}}', name]).stdout.trim();
    const rm = this.call(['rm', '-f', '-t', '0', name]);
    if (rm.status === 0) return;
    assert.match(rm.stderr, /unlinkat \S+\/userdata\/shm: device or resource busy/, describeResult(rm));
    await poll(`${name} to be gone after: ${describeResult(rm)}`, () =>
      this.call(['container', 'exists', name]).status === 1 && (id === '' || !mountsUnder(WORK).some((m) => m.mountPoint.includes(id))) ? true : undefined, 10_000);
  }

  status(name: string): string {
    return this.ok(['inspect', '--format', '{{.State.Status}}', name]).trim();
  }

  /** The container init's host pid. */
  pid(name: string): number {
    return Number(this.ok(['inspect', '--format', '{{.State.Pid}}', name]).trim());
  }

  logs(name: string): string {
    return this.ok(['logs', name]);
  }

  /** Polls `podman logs` until it contains `text`; returns the logs. */
  async waitLog(name: string, text: string): Promise<string> {
    try {
      return await poll(`${JSON.stringify(text)} in the log of ${name}`, () => {
        const l = this.call(['logs', name]).stdout;
        return l.includes(text) ? l : undefined;
      }, 15_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}${this.diagnose(name)}`);
    }
  }
}

/**
 * One scenario, run once per runtime: `describe(title)` holding one `it` for runts and one for
 * runc, each given its own Podman. `needsExec` skips a runtime (visibly, with the reason) while
 * it has no exec command.
 */
function scenario(title: string, body: (pm: Podman) => unknown, opts: { needsExec?: boolean; needsSeccomp?: boolean } = {}): void {
  describe(title, () => {
    for (const rt of RUNTIMES) {
      const skip =
        rt.skip ?? (opts.needsExec ? skipUnlessCommand(rt.bin, 'exec') || undefined : undefined) ?? (opts.needsSeccomp ? skipUnlessSeccomp(rt.bin) || undefined : undefined);
      it(`--runtime ${rt.label}`, { skip: skip ?? false, timeout: TEST_TIMEOUT_MS }, async () => {
        if (rt.bin === RUNC) requireRunc();
        await body(new Podman(rt));
      });
    }
  });
}

// ---------------------------------------------------------------------------
// Reading what the container printed

const MOUNTINFO_END = '@@end-of-mountinfo@@';

/** Splits `cat /proc/self/mountinfo; echo MOUNTINFO_END; ...` output into the parsed mount
 * table and the lines after it. */
function splitMountinfo(out: string): { mounts: MountEntry[]; rest: string } {
  const i = out.indexOf(`${MOUNTINFO_END}\n`);
  assert.ok(i >= 0, `no ${MOUNTINFO_END} marker in:\n${out}`);
  return { mounts: parseMountinfo(out.slice(0, i)), rest: out.slice(i + MOUNTINFO_END.length + 1) };
}

/** The topmost mount at `dest` (the last one in mountinfo order). */
function mountAt(mounts: MountEntry[], dest: string): MountEntry {
  const m = mounts.filter((x) => x.mountPoint === dest).pop();
  assert.ok(m, `no mount at ${dest}; mounts:\n${mounts.map((x) => `${x.mountPoint} ${x.fstype} ${x.options.join(',')}`).join('\n')}`);
  return m;
}

/** `/proc/self/status` fields as printed by `grep` inside: name -> whitespace-split values. */
function statusFields(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const l of text.split('\n')) {
    const m = /^(\w+):\s*(.*)$/.exec(l);
    if (m) out.set(m[1], m[2].trim().split(/\s+/).filter((x) => x !== ''));
  }
  return out;
}

// ---------------------------------------------------------------------------
// The image

/** The stand-in for systemd: prints what a systemd PID 1 checks (its pid, $container, the mount
 * table), then waits for SIGRTMIN+3, podman's stop signal in systemd mode, and exits 0 on it. */
const FAKE_INIT_SCRIPT = `#!/bin/sh
cat /proc/self/mountinfo
echo ${MOUNTINFO_END}
echo "pid=$$"
echo "container=$container"
trap 'echo got-signal-${SIGRTMIN_PLUS_3}; exit 0' ${SIGRTMIN_PLUS_3}
echo ready
while :; do sleep 0.1; done
`;

function buildImage(): void {
  assertBinary();
  const mk = spawnSync('bash', [MAKE_BUNDLE, join(WORK, 'b')], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stderr);
  const rootfs = join(WORK, 'b/rootfs');
  // /data: content for --tmpfs copy-up, with an owner and a mode the copy must keep.
  mkdirSync(join(rootfs, 'data/sub'), { recursive: true });
  writeFileSync(join(rootfs, 'data/hello'), 'from the image\n');
  writeFileSync(join(rootfs, 'data/sub/nested'), 'nested\n');
  spawnSync('chown', ['1000:1000', join(rootfs, 'data/hello')]);
  chmodSync(join(rootfs, 'data'), 0o751);
  mkdirSync(join(rootfs, 'usr/local/sbin'), { recursive: true });
  writeFileSync(join(rootfs, FAKE_INIT), FAKE_INIT_SCRIPT, { mode: 0o755 });
  copyFileSync(sdNotifyHelper(), join(rootfs, SD_NOTIFY));
  chmodSync(join(rootfs, SD_NOTIFY), 0o755);
  const tar = spawnSync('tar', ['-C', rootfs, '-cf', join(WORK, 'rootfs.tar'), '.'], { encoding: 'utf8' });
  assert.equal(tar.status, 0, tar.stderr);
  for (const d of Object.values(STORE)) mkdirSync(d, { recursive: true });
  const imp = new Podman(RUNTIMES[0]).call(['import', join(WORK, 'rootfs.tar'), IMAGE]);
  assert.equal(imp.status, 0, describeResult(imp));
}

// ---------------------------------------------------------------------------
// Leftovers

/** Processes of this run: podman, conmon and `podman container cleanup` name the store in
 * their argv; the containers' processes are in a libpod-<id> cgroup of one of `ids` (their
 * /proc/<pid>/root reads "/" after pivot_root, so it cannot tell them). */
function processesOfRun(ids: string[]): string[] {
  const out: string[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').trim();
      const cgroup = readFileSync(`/proc/${e}/cgroup`, 'utf8');
      if (cmdline.includes(WORK) || ids.some((id) => cgroup.includes(`libpod-${id}`))) out.push(`${e} ${cmdline.slice(0, 200)}`);
    } catch {
      // gone
    }
  }
  return out;
}

/** Every container id this run created, from podman's events file. */
function containerIdsOfRun(): string[] {
  const ids = new Set<string>();
  for (const l of readFileSync(EVENTS_LOG, 'utf8').split('\n')) {
    if (l.trim() === '') continue;
    const ev = JSON.parse(l) as { ID?: string; Type?: string };
    if (ev.Type === 'container' && ev.ID) ids.add(ev.ID);
  }
  return [...ids];
}

/** Best effort, also after failures: remove containers (each with the runtime it was made
 * with) and images, unmount what is left under the store, remove it. */
function removeEverything(): void {
  if (!existsSync(STORE.root)) return rmSync(WORK, { recursive: true, force: true });
  for (const rt of RUNTIMES) {
    const pm = new Podman(rt);
    try {
      const ids = pm.call(['ps', '-a', '-q', '--no-trunc']).stdout.split('\n').filter((x) => x !== '');
      if (ids.length > 0) pm.call(['rm', '-f', '-t', '0', ...ids]);
    } catch {
      // keep going
    }
  }
  try {
    new Podman(RUNTIMES[0]).call(['rmi', '-a', '-f']);
  } catch {
    // keep going
  }
  for (const m of mountsUnder(WORK).reverse()) spawnSync('umount', ['-l', m.mountPoint], { stdio: 'ignore' });
  if (mountsUnder(WORK).length > 0) {
    process.stderr.write(`podman test cleanup: mounts remain under ${WORK}; not removing it\n`);
    return;
  }
  rmSync(WORK, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------

describe('podman 4.3', { skip: SKIP ?? false }, () => {
  before(buildImage);
  after(removeEverything);

  scenario('run --rm: output, its cgroup, and the exit status', async (pm) => {
    const name = uniqueName();
    const r = pm.call(['run', '--rm', '--name', name, ...ULIMITS, IMAGE, 'sh', '-c', 'echo hello; id -u; cat /proc/self/cgroup; exit 7']);
    assert.equal(r.status, 7, describeResult(r));
    assert.match(r.stdout, /^hello\n0\n/);
    assert.match(r.stdout, /pids:\/libpod_parent\/libpod-[0-9a-f]{64}$/m);
  });

  scenario('run -d, pause, unpause, stop, rm', async (pm) => {
    const name = pm.runDetached([], ['sleep', '1000']);
    await pm.withContainer(name, () => {
      assert.equal(pm.status(name), 'running');
      pm.ok(['pause', name]);
      assert.equal(pm.status(name), 'paused');
      pm.ok(['unpause', name]);
      assert.equal(pm.status(name), 'running');
      // sleep as pid 1 ignores SIGTERM: podman falls back to SIGKILL after the timeout.
      pm.ok(['stop', '-t', '1', name]);
      assert.equal(pm.status(name), 'exited');
    });
  });

  scenario('--user 65534: the process runs as nobody (create, then start through the exec fifo)', async (pm) => {
    await pm.runAttached([...NO_NET, '--user', '65534'], ['sh', '-c', 'id -u; id -g; grep -E "^(Uid|Gid|Groups):" /proc/self/status'], (out) => {
      const [uid, gid] = out.split('\n');
      assert.equal(uid, '65534');
      assert.equal(gid, '65534');
      const st = statusFields(out);
      assert.deepEqual(st.get('Uid'), ['65534', '65534', '65534', '65534']);
      assert.deepEqual(st.get('Gid'), ['65534', '65534', '65534', '65534']);
    });
  });

  scenario('--read-only: the root is read-only, podman\'s tmpfs (tmpcopyup) on /tmp /run /var/tmp are writable', async (pm) => {
    const script = [
      'cat /proc/self/mountinfo', `echo ${MOUNTINFO_END}`,
      'touch /probe 2>&1; echo "root-write=$?"',
      'for d in /tmp /run /var/tmp /dev/shm; do echo x > $d/probe && echo "writable $d"; done',
    ].join('; ');
    await pm.runAttached([...NO_NET, '--read-only'], ['sh', '-c', script], (out) => {
      const { mounts, rest } = splitMountinfo(out);
      assert.ok(mountAt(mounts, '/').options.includes('ro'), 'the root mount is not ro');
      assert.match(rest, /Read-only file system\nroot-write=1\n/);
      for (const d of ['/tmp', '/run', '/var/tmp']) {
        const m = mountAt(mounts, d);
        assert.equal(m.fstype, 'tmpfs', `${d} is not a tmpfs`);
        assert.ok(m.options.includes('rw'), `${d} is not rw: ${m.options}`);
      }
      for (const d of ['/tmp', '/run', '/var/tmp', '/dev/shm']) assert.match(rest, new RegExp(`^writable ${d}$`, 'm'));
    });
  });

  scenario('--tmpfs /data over an image directory: its content is copied up (tmpcopyup)', async (pm) => {
    const script = [
      'cat /proc/self/mountinfo', `echo ${MOUNTINFO_END}`,
      'cat /data/hello /data/sub/nested',
      'stat -c "%n %a %u:%g" /data /data/hello',
      'echo new > /data/new && echo wrote',
    ].join('; ');
    await pm.runAttached([...NO_NET, '--tmpfs', '/data'], ['sh', '-c', script], (out) => {
      const { mounts, rest } = splitMountinfo(out);
      assert.equal(mountAt(mounts, '/data').fstype, 'tmpfs');
      assert.equal(rest, 'from the image\nnested\n/data 751 0:0\n/data/hello 644 1000:1000\nwrote\n');
    });
  });

  scenario('--uidmap/--gidmap 0:100000:65536: the maps inside, files in a volume owned by host uid 100000', async (pm) => {
    const vol = mkdtempSync(join(WORK, 'vol-'));
    chmodSync(vol, 0o777);
    const script = 'cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /vol/made-inside; stat -c "%u:%g" /vol/made-inside';
    await pm.runAttached(
      [...NO_NET, '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', '-v', `${vol}:/vol`],
      ['sh', '-c', script],
      (out) => {
        const l = out.split('\n').map((x) => x.trim().split(/\s+/).join(' '));
        assert.deepEqual(l.slice(0, 4), ['0 100000 65536', '0 100000 65536', '0', '0:0']);
        const st = statSync(join(vol, 'made-inside'));
        assert.deepEqual([st.uid, st.gid], [100000, 100000]);
      },
    );
  });

  scenario('-v VOL:/v:idmap with --uidmap: the volume\'s host-root files are the container root\'s (runc 1.1.5: unmapped, it has no idmapped mounts)', async (pm) => {
    const vol = mkdtempSync(join(WORK, 'idmap-'));
    chmodSync(vol, 0o755);
    writeFileSync(join(vol, 'file'), 'x\n');
    await pm.runAttached(
      [...NO_NET, '--uidmap', '0:100000:65536', '--gidmap', '0:100000:65536', '-v', `${vol}:/v:idmap`],
      ['sh', '-c', 'stat -c "%u:%g" /v/file; touch /v/made 2>/dev/null; echo "touch $?"; grep -c " /v .*idmapped" /proc/self/mountinfo; true'],
      (out) => {
        if (pm.rt.bin === RUNC) {
          assert.match(out, /^65534:65534\ntouch 1\n0\n$/);
          return;
        }
        assert.equal(out, '0:0\ntouch 0\n1\n');
        assert.deepEqual([statSync(join(vol, 'made')).uid, statSync(join(vol, 'made')).gid], [0, 0]);
      },
    );
  });

  scenario('--systemd=always: tmpfs on /run /run/lock /tmp /var/log/journal, a writable cgroup, container=podman, stop with SIGRTMIN+3', async (pm) => {
    const name = pm.runDetached([...NO_NET, '--systemd=always'], [FAKE_INIT]);
    await pm.withContainer(name, async () => {
      const { mounts, rest } = splitMountinfo(await pm.waitLog(name, 'ready\n'));
      assert.equal(rest, 'pid=1\ncontainer=podman\nready\n');
      for (const d of ['/run', '/run/lock', '/tmp', '/var/log/journal']) {
        const m = mountAt(mounts, d);
        assert.equal(m.fstype, 'tmpfs', `${d} is not a tmpfs`);
        assert.ok(m.options.includes('rw'), `${d} is not rw: ${m.options}`);
      }
      // systemd needs a cgroup it can write: on v1 podman binds the name=systemd hierarchy rw
      // at /sys/fs/cgroup/systemd, on v2 it mounts cgroup2 rw at /sys/fs/cgroup.
      const cg = mounts.filter((m) => (m.mountPoint === '/sys/fs/cgroup/systemd' && m.fstype === 'cgroup' && m.superOptions.includes('name=systemd'))
        || (m.mountPoint === '/sys/fs/cgroup' && m.fstype === 'cgroup2')).pop();
      assert.ok(cg, 'no systemd cgroup mount at /sys/fs/cgroup/systemd (v1) or /sys/fs/cgroup (v2)');
      assert.ok(cg.options.includes('rw'), `the systemd cgroup mount is not rw: ${cg.options}`);
      // podman stop sends the image's stop signal (37) through `<runtime> kill`; the fake init
      // exits 0 on it, so exit code 0 (not 137 from the SIGKILL fallback) proves it arrived.
      pm.ok(['stop', '-t', '10', name]);
      assert.match(pm.logs(name), new RegExp(`^got-signal-${SIGRTMIN_PLUS_3}$`, 'm'));
      assert.equal(pm.ok(['inspect', '--format', '{{.State.ExitCode}}', name]).trim(), '0');
    });
  });

  scenario('podman update --cpu-shares --memory: the container sees its new limits', async (pm) => {
    // The container prints its own cgroup v1 files at start and on SIGUSR1 (no exec needed).
    const show = 'echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes) shares=$(cat /sys/fs/cgroup/cpu/cpu.shares) mark=$n"';
    const script = `n=0; trap 'n=$((n+1)); ${show}' USR1; ${show}; while :; do sleep 0.1; done`;
    const name = pm.runDetached([...NO_NET], ['sh', '-c', script]);
    await pm.withContainer(name, async () => {
      const before = await pm.waitLog(name, 'mark=0');
      assert.match(before, /^memory=\d+ shares=1024 mark=0$/m);
      assert.doesNotMatch(before, /^memory=67108864 /m);
      pm.ok(['update', '--cpu-shares', '512', '--memory', '64m', name]);
      pm.ok(['kill', '--signal', 'USR1', name]);
      assert.match(await pm.waitLog(name, 'mark=1'), /^memory=67108864 shares=512 mark=1$/m);
    });
  });

  /** A container with three processes: sh as pid 1 and two sleeps. */
  const threeProcesses = ['sh', '-c', 'sleep 1000 & sleep 1001 & echo started; wait'];

  scenario('podman top: the container\'s processes, with their host pids', async (pm) => {
    const name = pm.runDetached([...NO_NET], threeProcesses);
    await pm.withContainer(name, async () => {
      await pm.waitLog(name, 'started');
      const out = pm.ok(['top', name, 'pid', 'ppid', 'hpid', 'args']);
      const rows = out.split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/));
      const byArgs = new Map(rows.map(([pid, ppid, hpid, ...args]) => [args.join(' '), { pid, ppid, hpid: Number(hpid) }]));
      assert.deepEqual([...byArgs.keys()].sort(), ['sh -c sleep 1000 & sleep 1001 & echo started; wait', 'sleep 1000', 'sleep 1001'].sort(), out);
      for (const [args, p] of byArgs) {
        // The host pid podman shows is that process: same argv, same pid in its namespace.
        assert.equal(readFileSync(`/proc/${p.hpid}/cmdline`, 'utf8').split('\0').join(' ').trim(), args);
        const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${p.hpid}/status`, 'utf8'))![1].trim().split(/\s+/);
        assert.equal(nspid[nspid.length - 1], p.pid);
        assert.equal(p.ppid, args.startsWith('sleep') ? '1' : '0');
      }
      assert.equal(byArgs.get('sh -c sleep 1000 & sleep 1001 & echo started; wait')?.pid, '1');
    });
  });

  scenario('podman stats --no-stream: the container\'s cgroup (3 pids, memory in use)', async (pm) => {
    const name = pm.runDetached([...NO_NET], threeProcesses);
    await pm.withContainer(name, async () => {
      await pm.waitLog(name, 'started');
      const stats = JSON.parse(pm.ok(['stats', '--no-stream', '--format', 'json', name])) as { id: string; pids: string; mem_usage: string }[];
      assert.equal(stats.length, 1);
      assert.equal(stats[0].pids, '3');
      assert.match(stats[0].mem_usage, /^[1-9][\d.]*[kMG]?B \/ /);
      // The same count the container's own pids cgroup holds.
      const pidsDir = cgroupDirsOf(pm.pid(name))?.get('pids');
      assert.ok(pidsDir, 'no pids cgroup for the container init');
      assert.equal(readFileSync(join(pidsDir, 'pids.current'), 'utf8').trim(), '3');
    });
  });

  scenario('the default seccomp profile is in force (Seccomp: 2)', async (pm) => {
    await pm.runAttached([...NO_NET], ['grep', '-E', '^Seccomp', '/proc/self/status'], (out) => {
      const st = statusFields(out);
      assert.deepEqual(st.get('Seccomp'), ['2'], 'Seccomp: 2 is filter mode (proc(5))');
      assert.deepEqual(st.get('Seccomp_filters'), ['1']);
    });
    // (A syscall blocked by podman's own profile is tried beside runc in seccomp.test.ts, with
    // that profile's file; through Docker in docker.test.ts.)
  }, { needsSeccomp: true });

  scenario('podman exec: joins the container (pid 1, cgroup, user), passes the exit status', async (pm) => {
    const name = pm.runDetached([...NO_NET], ['sleep', '1000']);
    await pm.withContainer(name, async () => {
      const r = pm.call(['exec', name, 'sh', '-c', 'tr "\\000" " " < /proc/1/cmdline; echo; grep :pids: /proc/self/cgroup; id -u; exit 3']);
      assert.equal(r.status, 3, describeResult(r));
      const [init, pidsLine, uid] = r.stdout.split('\n');
      assert.equal(init.trim(), 'sleep 1000');
      // cgroupns=host (podman's default on v1): the exec'd process sees the host path of the
      // cgroup, which must be the init's.
      const initPids = readFileSync(`/proc/${pm.pid(name)}/cgroup`, 'utf8').split('\n').find((l) => /^\d+:pids:/.test(l));
      assert.equal(pidsLine, initPids);
      assert.equal(uid, '0');
      assert.equal(pm.ok(['exec', '--user', '65534', name, 'id', '-u']).trim(), '65534');
      // -it: conmon gives `exec` a console socket; podman wants a terminal of its own (script).
      const tty = inTerminal([PODMAN, ...STORE_ARGS, '--runtime', pm.rt.bin, 'exec', '-it', name, 'sh', '-c', 'tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; stty size; exit 7'], { TMPDIR: STORE.vartmp });
      assert.equal(tty.status, 7, describeCall(tty));
      assert.match(tty.stdout, /\/dev\/pts\/\d+\r+\n/);
      assert.match(tty.stdout, /both-ttys\r+\n/);
      assert.match(tty.stdout, /^24 80\r+$/m, 'the client\'s terminal size reaches the exec\'d pty');
    });
  }, { needsExec: true });

  scenario('--sdnotify=container: the container\'s READY=1 reaches podman\'s NOTIFY_SOCKET (through conmon), after podman\'s MAINPID', async (pm) => {
    // podman 4.3 sends MAINPID=<conmon> itself and hands the runtime conmon's proxy socket as
    // NOTIFY_SOCKET; the runtime binds it at /run/notify in the container and relays READY=1
    // to conmon, which passes READY=1 on (the other fields stay behind, as with runc).
    const dir = mkdtempSync(join(WORK, 'notify-'));
    const sock = join(dir, 'host.sock');
    let out = '';
    const listener = spawn(sdNotifyHelper(), ['listen', sock, '10'], { stdio: ['ignore', 'pipe', 'inherit'] });
    listener.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await poll('listener bound', () => (existsSync(sock) ? true : undefined));
      const name = uniqueName();
      const script = `echo "sock $NOTIFY_SOCKET"; sleep 0.5; ${SD_NOTIFY} send "STATUS=going"; ${SD_NOTIFY} send "READY=1"; exec sleep 1000`;
      const r = pm.call(['run', '-d', '--name', name, '--sdnotify=container', ...ULIMITS, ...NO_NET, IMAGE, 'sh', '-c', script], CALL_TIMEOUT_MS, { NOTIFY_SOCKET: sock });
      assert.equal(r.status, 0, `${describeResult(r)}${pm.diagnose(name)}`);
      await pm.withContainer(name, async () => {
        await poll('READY=1 relayed', () => (/^READY=1$/m.test(out) ? true : undefined));
        const conmon = pm.ok(['inspect', '--format', '{{.State.ConmonPid}}', name]).trim();
        assert.deepEqual(out.split('\n').filter(Boolean), [`MAINPID=${conmon}`, 'READY=1']);
        assert.match(pm.ok(['logs', name]), /^sock \/run\/notify\/notify\.sock$/m);
      });
    } finally {
      listener.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  scenario('podman top with ps(1) options (ps runs inside through exec)', async (pm) => {
    const name = pm.runDetached([...NO_NET], ['sleep', '1000']);
    await pm.withContainer(name, async () => {
      const out = pm.ok(['top', name, '-eo', 'pid,comm']);
      assert.match(out, /^\s*1\s+sleep$/m);
      assert.match(out, /^\s*\d+\s+ps$/m);
    });
  }, { needsExec: true });

  it('leaves nothing behind: no containers, images, runtime state, cgroups, mounts or processes of this run', { timeout: TEST_TIMEOUT_MS }, async () => {
    const problems: string[] = [];
    const pm = new Podman(RUNTIMES[0]);
    const ps = pm.ok(['ps', '-a', '--format', '{{.ID}} {{.Names}} {{.Status}}']).trim();
    if (ps !== '') problems.push(`containers left in podman ps -a:\n${ps}`);
    const rmi = pm.call(['rmi', IMAGE]);
    if (rmi.status !== 0) problems.push(`podman rmi ${IMAGE} failed: ${rmi.stderr}`);
    const images = pm.ok(['images', '-a', '-q']).trim();
    if (images !== '') problems.push(`images left: ${images}`);
    const ids = containerIdsOfRun();
    assert.ok(ids.length > 0, `no container ids in ${EVENTS_LOG}: the check would prove nothing`);
    // conmon and `podman container cleanup` finish after the container is gone: give them time.
    const deadline = Date.now() + 15_000;
    let procs = processesOfRun(ids);
    while (procs.length > 0 && Date.now() < deadline) {
      await sleep(100);
      procs = processesOfRun(ids);
    }
    if (procs.length > 0) problems.push(`processes left:\n  ${procs.join('\n  ')}`);
    for (const id of ids) {
      for (const rt of RUNTIMES) {
        // Each runtime's default --root: podman passes none.
        const state = join('/run', basename(rt.bin), id);
        if (existsSync(state)) problems.push(`runtime state left: ${state}`);
      }
      const cgs = cgroupDirsFor(`libpod_parent/libpod-${id}`).filter((d) => existsSync(d));
      if (cgs.length > 0) problems.push(`cgroups left: ${cgs.join(', ')}`);
    }
    const mounts = mountsUnder(WORK);
    if (mounts.length > 0) problems.push(`mounts left under the store: ${mounts.map((m) => m.mountPoint).join(', ')}`);
    assert.deepEqual(problems, [], `${ids.length} containers this run; left behind:\n${problems.join('\n')}`);
  });
});
