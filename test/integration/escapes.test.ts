// The container-escape classes of runc's and crun's CVEs, each attempted for real: the attempt
// fails and the host is untouched. (CVE-2019-5736, the init's /proc/<pid>/exe, is attempted in
// lifecycle.test.ts.)

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SKIP_REASON, TEST_TIMEOUT_MS, assertBinary, assertNothingLeft, lines, run, runScript, setup, shell } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };

describe('escapes', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('CVE-2024-21626: no runtime descriptor reaches the process, and cwd cannot be a host directory through /proc/self/fd', opts, (t) => {
    // Only stdio (and ls's own directory descriptor) are open in the container.
    const fds = runScript(t, 'ls /proc/self/fd');
    assert.deepEqual(lines(fds).sort(), ['0', '1', '2', '3']);
    for (let fd = 3; fd <= 8; fd++) {
      const ctx = setup(t, {
        mutate: (s) => {
          shell('cd .. && ls -d "$(pwd)"/* | head -3')(s);
          s.process.cwd = `/proc/self/fd/${fd}`;
        },
      });
      const r = run(ctx);
      if (r.status === 0) {
        // Resolved inside the container, never to a directory of the host.
        assert.doesNotMatch(r.stdout, new RegExp(ctx.dir), `cwd /proc/self/fd/${fd}`);
      } else {
        assert.equal(r.status, 1, r.stderr);
      }
      assertNothingLeft(ctx);
    }
  });

  it('CVE-2021-30465 class: a mount destination through a symlink in the rootfs stays inside it', opts, (t) => {
    const outside = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'runts-outside-'));
    t.after(() => fs.rmSync(outside, { recursive: true, force: true }));
    const ctx = setup(t, {
      mutate: (s) => {
        shell('mount | grep -c " /evil/x " ; ls /evil')(s);
        s.mounts = [...(s.mounts ?? []), { destination: '/evil/x', type: 'tmpfs', source: 'tmpfs' }];
        s.root!.readonly = false;
      },
    });
    fs.symlinkSync(outside, path.join(ctx.rootfs, 'evil'));
    const r = run(ctx);
    assert.equal(r.status, 0, r.stderr);
    // The tmpfs went to <rootfs>/<outside>/x, inside the rootfs; the host directory is empty.
    assert.deepEqual(fs.readdirSync(outside), []);
    assert.ok(fs.existsSync(path.join(ctx.rootfs, outside, 'x')));
    assertNothingLeft(ctx);
  });

  it('CVE-2019-16884 class: proc is never mounted over a symlink the rootfs controls', opts, (t) => {
    const ctx = setup(t, { mutate: (s) => shell('true')(s) });
    fs.rmSync(path.join(ctx.rootfs, 'proc'), { recursive: true, force: true });
    const target = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'runts-procdst-'));
    t.after(() => fs.rmSync(target, { recursive: true, force: true }));
    fs.symlinkSync(target, path.join(ctx.rootfs, 'proc'));
    const r = run(ctx);
    // Whatever the outcome, nothing was mounted on the host directory the link names.
    assert.deepEqual(fs.readdirSync(target), []);
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${target} `));
    if (r.status !== 0) assert.equal(r.status, 1, r.stderr);
    assertNothingLeft(ctx);
  });

  it('sysctls are set in the container\'s namespaces, as under runc', opts, (t) => {
    const script = 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni';
    const mutate = (s: import('./helpers.ts').Spec) => void (s.linux = { ...s.linux, sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.shmmni': '1234' } });
    const ours = runScript(t, script, { mutate });
    assert.deepEqual(lines(ours), ['1', '1234']);
    assert.equal(fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8').trim() === '1234', false, 'the host\'s value is untouched');
  });

  it('CVE-2025-52881 class: the container\'s mounts cannot redirect a write under /proc', opts, (t) => {
    // A bind over the sysctl's file inside the container would make a write through the
    // container's /proc land in the host file bound there. Mounts inside /proc are refused (as
    // runc refuses them), and the sysctls are written through the runtime's own /proc before
    // the pivot anyway.
    const ctx = setup(t, {
      mutate: (s) => {
        shell('true')(s);
        s.linux = { ...s.linux, sysctl: { 'net.ipv4.ip_forward': '1' } };
      },
    });
    const victim = path.join(ctx.dir, 'victim');
    fs.writeFileSync(victim, 'host file\n');
    const spec = JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8'));
    spec.mounts.push({ destination: '/proc/sys/net/ipv4/ip_forward', type: 'bind', source: victim, options: ['bind'] });
    fs.writeFileSync(path.join(ctx.bundle, 'config.json'), JSON.stringify(spec));
    const r = run(ctx);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /mount points inside \/proc are not allowed/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'host file\n');
    assertNothingLeft(ctx);
  });

  it('masked directories share one read-only tmpfs, and stay masked (runc#5275)', opts, (t) => {
    const dirs = ['/proc/acpi', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];
    const script = [
      ...dirs.map((d) => `[ -d ${d} ] && grep " ${d} " /proc/self/mountinfo | cut -d" " -f3,6`),
      'touch /proc/acpi/x 2>/dev/null || echo read-only',
      'umount /proc/acpi 2>/dev/null || echo still-masked',
      'true',
    ].join('; ');
    const out = runScript(t, script, { mutate: (s) => void (s.linux = { ...s.linux, maskedPaths: dirs }) });
    const mounts = lines(out).filter((l) => /^\d+:\d+ /.test(l));
    assert.ok(mounts.length >= 2, out);
    assert.equal(new Set(mounts.map((l) => l.split(' ')[0])).size, 1, `one tmpfs for all: ${out}`);
    assert.ok(mounts.every((l) => l.split(' ')[1]!.split(',').includes('ro')), out);
    assert.match(out, /^read-only$/m);
    assert.match(out, /^still-masked$/m);
  });

  it('CVE-2026-47766 / CVE-2026-41579 class: setting up a /dev the rootfs provides never follows its symlinks', opts, (t) => {
    // A /dev of the rootfs's own whose pts, shm and mqueue link to host directories: the
    // devpts, shm and mqueue mounts and the device nodes all stay inside the container.
    const hostDirs = ['pts', 'shm', 'mqueue', 'null'].map((n) => fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), `runts-dev-${n}-`)));
    t.after(() => hostDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
    const ctx = setup(t, { mutate: (s) => shell('ls /dev >/dev/null')(s) });
    const evilDev = path.join(ctx.dir, 'evil-dev');
    fs.mkdirSync(evilDev);
    ['pts', 'shm', 'mqueue'].forEach((n, i) => fs.symlinkSync(hostDirs[i]!, path.join(evilDev, n)));
    const spec = JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8'));
    spec.mounts = spec.mounts.map((m: { destination: string }) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: evilDev, options: ['rbind'] } : m));
    spec.linux.maskedPaths = [];
    fs.writeFileSync(path.join(ctx.bundle, 'config.json'), JSON.stringify(spec));
    const r = run(ctx);
    if (r.status !== 0) assert.equal(r.status, 1, r.stderr);
    for (const d of hostDirs) assert.deepEqual(fs.readdirSync(d), [], `${d} was written through a link`);
    const mountinfo = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    for (const d of hostDirs) assert.ok(!mountinfo.includes(` ${d} `), `${d} was mounted on`);
    assertNothingLeft(ctx);
  });

  it('CVE-2025-31133: masking never binds what a symlinked /dev/null points at', opts, (t) => {
    const ctx = setup(t, {
      mutate: (s) => {
        shell('cat /proc/kcore')(s);
        s.mounts = (s.mounts ?? []).filter((m) => m.destination !== '/dev');
      },
    });
    // The container's /dev is the rootfs's own, with /dev/null a link to a host-sensitive file.
    const evilDev = path.join(ctx.dir, 'evil-dev');
    fs.mkdirSync(evilDev);
    fs.symlinkSync('/proc/sys/kernel/core_pattern', path.join(evilDev, 'null'));
    const spec = JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8'));
    spec.mounts.push({ destination: '/dev', type: 'bind', source: evilDev, options: ['rbind'] });
    fs.writeFileSync(path.join(ctx.bundle, 'config.json'), JSON.stringify(spec));
    const before = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    const r = run(ctx);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /mask `\/dev\/null` \(not the null device \(a symlink or another file\): refusing to mask with it\)/);
    assert.equal(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before);
    assertNothingLeft(ctx);
  });
});
