// The container's filesystem view, read from inside: the mount table, masked
// and read-only paths, /dev. Where behaviour must match runc, the same bundle
// runs under runc and the normalised results are compared.

import { before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import {
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  lines,
  parseMountinfo,
  requireRunc,
  runOk,
  runScript,
  setup,
  shell,
} from './helpers.ts';
import type { Ctx, MountEntry, RunOptions, Spec } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };

const FLAGS = ['ro', 'rw', 'nosuid', 'nodev', 'noexec'];
const ATIME = ['noatime', 'relatime', 'strictatime', 'nodiratime'];

/** What must match runc: mount point, fs type, and the security flags. */
function shape(m: MountEntry): string {
  const flags = m.options.filter((o) => FLAGS.includes(o)).sort();
  return `${m.mountPoint} ${m.fstype} ${flags.join(',')}`;
}

/**
 * Everything else that is not legitimately different between two runs: atime
 * flags, the mount's root within its filesystem (with the bundle path and the
 * per-container cgroup path replaced) and the superblock options (tmpfs size
 * and mode, devpts gid, ...). Mount ids, device minors and sources differ per
 * run and are dropped.
 */
function detail(m: MountEntry, ctx: Ctx): string {
  const atime = m.options.filter((o) => ATIME.includes(o)).sort();
  let root = m.root;
  if (root === fs.realpathSync(ctx.rootfs)) root = '<rootfs>';
  if (m.fstype === 'cgroup' || m.fstype === 'cgroup2') root = root.replace(new RegExp(`/${ctx.id}$`), '/<id>');
  return `${shape(m)} atime=${atime.join(',') || '-'} root=${root} super=${m.superOptions.join(',')}`;
}

/** Sorted by mount point; the sort is stable, so mounts stacked on one point keep their order. */
function byMountPoint(ms: MountEntry[]): MountEntry[] {
  return [...ms].sort((a, b) => (a.mountPoint < b.mountPoint ? -1 : a.mountPoint > b.mountPoint ? 1 : 0));
}

interface MountRun {
  ctx: Ctx;
  mounts: MountEntry[];
}

function mountinfoOf(t: TestContext, bin: string | undefined, mutate?: (s: Spec) => void, run: RunOptions = {}): MountRun {
  const ctx = setup(t, {
    bin,
    mutate: (s) => {
      s.process.args = ['cat', '/proc/self/mountinfo'];
      mutate?.(s);
    },
  });
  const out = runOk(ctx, run);
  assertNothingLeft(ctx);
  return { ctx, mounts: byMountPoint(parseMountinfo(out)) };
}

describe('run: mounts', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('mounts the spec\'s mounts with the spec\'s flags', opts, (t) => {
    const { mounts } = mountinfoOf(t, undefined);
    const at = (p: string) => mounts.filter((m) => m.mountPoint === p);
    const one = (p: string) => {
      const ms = at(p);
      assert.equal(ms.length, 1, `expected one mount at ${p}, got: ${ms.map(shape).join(' | ')}`);
      return ms[0];
    };
    // root.readonly: true
    assert.ok(one('/').options.includes('ro'), 'rootfs is not read-only');
    assert.equal(one('/proc').fstype, 'proc');
    const dev = one('/dev');
    assert.equal(dev.fstype, 'tmpfs');
    assert.ok(dev.options.includes('nosuid'));
    assert.ok(dev.superOptions.includes('mode=755') && dev.superOptions.includes('size=65536k'), dev.superOptions.join(','));
    const pts = one('/dev/pts');
    assert.equal(pts.fstype, 'devpts');
    assert.ok(['nosuid', 'noexec'].every((o) => pts.options.includes(o)));
    assert.ok(pts.superOptions.includes('gid=5') && pts.superOptions.includes('mode=620') && pts.superOptions.includes('ptmxmode=666'), pts.superOptions.join(','));
    const shm = one('/dev/shm');
    assert.ok(['nosuid', 'noexec', 'nodev'].every((o) => shm.options.includes(o)));
    assert.equal(one('/dev/mqueue').fstype, 'mqueue');
    const sys = one('/sys');
    assert.equal(sys.fstype, 'sysfs');
    assert.ok(['ro', 'nosuid', 'noexec', 'nodev'].every((o) => sys.options.includes(o)), sys.options.join(','));
    // cgroup v1 (this host): a tmpfs at /sys/fs/cgroup with one read-only bind per hierarchy.
    const cg = mounts.filter((m) => m.mountPoint.startsWith('/sys/fs/cgroup/'));
    assert.ok(cg.length > 0, 'no cgroup hierarchies under /sys/fs/cgroup');
    for (const m of cg) assert.ok(m.options.includes('ro'), `${m.mountPoint} is not read-only`);
    // Nothing of the host leaks in.
    for (const m of mounts) {
      assert.ok(!m.mountPoint.startsWith('/work') && !m.mountPoint.startsWith('/tmp/'), `host mount visible: ${m.mountPoint}`);
    }
  });

  it('has the same mount table as runc: points, types, ro/nosuid/nodev/noexec', opts, (t) => {
    const ours = mountinfoOf(t, undefined).mounts.map(shape);
    const runc = mountinfoOf(t, requireRunc()).mounts.map(shape);
    assert.deepEqual(ours, runc);
  });

  // The cgroup mounts' roots are the container's own cgroup directories (runc's `/<id>`): the
  // init joins only right before exec, so runts binds the directories its manager made.
  it('has the same mount table as runc: atime flags, roots, superblock options', opts, (t) => {
    const o = mountinfoOf(t, undefined);
    const r = mountinfoOf(t, requireRunc());
    assert.deepEqual(
      o.mounts.map((m) => detail(m, o.ctx)),
      r.mounts.map((m) => detail(m, r.ctx)),
    );
  });

  it('has the same mount table as runc with --no-pivot', opts, (t) => {
    const ours = mountinfoOf(t, undefined, undefined, { runArgs: ['--no-pivot'] }).mounts.map(shape);
    const runc = mountinfoOf(t, requireRunc(), undefined, { runArgs: ['--no-pivot'] }).mounts.map(shape);
    assert.deepEqual(ours, runc);
  });

  it('has the same mount table as runc with a writable rootfs', opts, (t) => {
    const rw = (s: Spec) => (s.root.readonly = false);
    const ours = mountinfoOf(t, undefined, rw).mounts.map(shape);
    const runc = mountinfoOf(t, requireRunc(), rw).mounts.map(shape);
    assert.deepEqual(ours, runc);
    assert.ok(ours.some((s) => s.startsWith('/ ') && s.includes('rw')), ours.join('\n'));
  });

  it('masks linux.maskedPaths: files read empty, directories are empty', opts, (t) => {
    const ctx = setup(t, { mutate: shell('true') });
    const spec = JSON.parse(fs.readFileSync(`${ctx.bundle}/config.json`, 'utf8')) as Spec;
    const masked = spec.linux?.maskedPaths ?? [];
    // Only paths this kernel has: /proc/kcore, /proc/sched_debug, ... depend on its config.
    const present = masked.filter((p) => fs.existsSync(p));
    assert.ok(present.length > 0, 'none of the masked paths exists on this host');
    const script = present
      .map((p) =>
        fs.statSync(p).isDirectory()
          ? `echo "${p} dir $(ls -A ${p} | wc -l)"`
          : `echo "${p} file $(cat ${p} 2>/dev/null | wc -c) $?"`,
      )
      .join('; ');
    const out = runScript(t, script);
    for (const l of lines(out)) {
      const [p, kind, n] = l.split(' ');
      assert.equal(n, '0', `${p} (${kind}) is not masked: ${l}`);
    }
    assert.equal(lines(out).length, present.length);
    if (fs.existsSync('/proc/kcore')) assert.ok(present.includes('/proc/kcore'));
  });

  it('makes masked paths unwritable and masked directories read-only', opts, (t) => {
    const ctx = setup(t, { mutate: shell('true') });
    const spec = JSON.parse(fs.readFileSync(`${ctx.bundle}/config.json`, 'utf8')) as Spec;
    const dirs = (spec.linux?.maskedPaths ?? []).filter((p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
    if (dirs.length === 0) return t.skip('no masked directory exists on this host');
    const out = runScript(t, dirs.map((d) => `touch ${d}/x 2>/dev/null && echo "${d} writable" || echo "${d} ro"`).join('; '));
    for (const l of lines(out)) assert.match(l, / ro$/);
  });

  it('makes linux.readonlyPaths read-only', opts, (t) => {
    const ctx = setup(t, { mutate: shell('true') });
    const spec = JSON.parse(fs.readFileSync(`${ctx.bundle}/config.json`, 'utf8')) as Spec;
    const present = (spec.linux?.readonlyPaths ?? []).filter((p) => fs.existsSync(p));
    assert.ok(present.includes('/proc/sys'));
    // The mount table says ro, and a write fails with EROFS (busybox: "Read-only file system").
    const script = [
      ...present.map((p) => `grep -q " ${p} ro," /proc/self/mountinfo && echo "${p} ro-mount" || echo "${p} NOT-ro"`),
      'echo 1 2>&1 >/proc/sys/kernel/ns_last_pid | head -n1; true',
      'touch /proc/sys/kernel/hostname 2>&1; true',
    ].join('; ');
    const out = runScript(t, script);
    for (const p of present) assert.ok(lines(out).includes(`${p} ro-mount`), `${p}: ${out}`);
    assert.match(out, /Read-only file system/);
  });

  it('creates the default devices in /dev, like runc', opts, (t) => {
    // One line per entry: name|type|mode|uid:gid|major:minor (hex)|link target.
    const script = 'cd /dev && for f in $(ls -A); do echo "$(stat -c "%n|%F|%a|%u:%g|%t:%T" $f)|$(readlink $f)"; done';
    const ours = runScript(t, script);
    const entries = new Map(lines(ours).map((l) => [l.split('|')[0], l]));
    const chr = (name: string, maj: number, min: number) => {
      const e = entries.get(name);
      assert.ok(e, `/dev/${name} missing: ${ours}`);
      assert.equal(e, `${name}|character special file|666|0:0|${maj.toString(16)}:${min.toString(16)}|`);
    };
    chr('null', 1, 3);
    chr('zero', 1, 5);
    chr('full', 1, 7);
    chr('random', 1, 8);
    chr('urandom', 1, 9);
    chr('tty', 5, 0);
    const link = (name: string, target: string) => assert.match(entries.get(name) ?? `/dev/${name} missing`, new RegExp(`\\|symbolic link\\|.*\\|${target.replace(/\//g, '\\/')}$`));
    link('ptmx', 'pts/ptmx');
    link('fd', '/proc/self/fd');
    link('stdin', '/proc/self/fd/0');
    link('stdout', '/proc/self/fd/1');
    link('stderr', '/proc/self/fd/2');
    for (const d of ['pts', 'shm', 'mqueue']) assert.match(entries.get(d) ?? `/dev/${d} missing`, /\|directory\|/);
    const runc = runScript(t, script, { bin: requireRunc() });
    assert.deepEqual(lines(ours).sort(), lines(runc).sort());
  });

  it('makes the default devices usable', opts, (t) => {
    const script = [
      'echo x >/dev/null && echo null-ok',
      'head -c 4 /dev/zero | wc -c',
      'head -c 8 /dev/urandom | wc -c',
      'head -c 8 /dev/random | wc -c',
      'echo x 2>/dev/null >/dev/full || echo full-enospc',
      'ls /dev/pts/ptmx >/dev/null && echo ptmx-ok',
    ].join('; ');
    const out = runScript(t, script);
    assert.deepEqual(lines(out).map((l) => l.trim()), ['null-ok', '4', '8', '8', 'full-enospc', 'ptmx-ok']);
  });

  it('mounts /proc of the container\'s own pid namespace', opts, (t) => {
    const out = runScript(t, 'cat /proc/1/comm; ls /proc | grep -cE "^[0-9]+$"; exit 0');
    const [comm, count] = lines(out);
    assert.equal(comm, 'sh');
    // sh, ls, grep: a host /proc would show hundreds.
    assert.ok(Number(count) <= 4, `${count} pids visible in the container's /proc`);
  });
});
