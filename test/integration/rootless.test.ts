// Rootless: runts run by an unprivileged user (a user this test creates, with the subordinate
// ids useradd gives it), on a `spec --rootless` bundle: the lifecycle, exec, the state under
// $XDG_RUNTIME_DIR/runts, the user's own id mapped directly (setgroups denied), more ranges
// through newuidmap/newgidmap, cgroups skipped on this host's v1 (not writable by the user);
// compared with Debian's runc run the same way.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { BIN, SKIP_REASON, TEST_TIMEOUT_MS, assertBinary, callRaw, ensureSubreaper, requireRunc, templateBundle } from './helpers.ts';

ensureSubreaper();

const opts = { timeout: TEST_TIMEOUT_MS };
const USER = 'runts-rootless';

function missingTools(): string | undefined {
  for (const t of ['useradd', 'userdel', 'runuser', 'newuidmap', 'newgidmap', 'podman']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) return `${t} not installed (passwd, util-linux, uidmap)`;
  }
  return undefined;
}
const SKIP = SKIP_REASON ?? missingTools();

let uid = -1;
let gid = -1;
let sub: { uid: number; gid: number } = { uid: -1, gid: -1 };
let work = '';
let createdUser = false;

/** The user's first subordinate range start in /etc/subuid or /etc/subgid. */
function subStart(file: string): number {
  const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${USER}:`));
  assert.ok(line, `${USER} has no range in ${file}`);
  return Number(line.split(':')[1]);
}

interface Out {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `bin ...args` as the user, with its own XDG_RUNTIME_DIR (per runtime) and no --root
 * (callRaw: output through files, which a created container's init may hold open). */
function as(bin: string, args: string[], cwd = work, xdg = path.join(work, `xdg-${path.basename(bin)}`)): Out {
  return callRaw('runuser', ['-u', USER, '--', 'env', `XDG_RUNTIME_DIR=${xdg}`, `HOME=${path.join(work, 'home')}`, bin, ...args], { cwd, timeoutMs: 60_000 });
}

const show = (r: Out) => `status=${r.status}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

/** A bundle (owned by the user) from `spec --rootless`, its process changed by `proc`. */
function bundle(name: string, proc: Record<string, unknown>, linux: Record<string, unknown> = {}): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  spawnSync('chown', [`${uid}:${gid}`, dir]);
  const spec = as(BIN, ['spec', '--rootless'], dir);
  assert.equal(spec.status, 0, show(spec));
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.root.path = path.join(work, 'rootfs');
  cfg.process = { ...cfg.process, terminal: false, ...proc };
  cfg.linux = { ...cfg.linux, ...linux };
  fs.writeFileSync(file, JSON.stringify(cfg));
  return dir;
}

describe('rootless', { skip: SKIP ?? false }, () => {
  before(() => {
    assertBinary();
    if (spawnSync('id', [USER]).status !== 0) {
      const r = spawnSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', USER], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      createdUser = true;
    }
    uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout);
    gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout);
    sub = { uid: subStart('/etc/subuid'), gid: subStart('/etc/subgid') };
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-rootless-'));
    fs.chmodSync(work, 0o755);
    const cp = spawnSync('cp', ['-a', path.join(templateBundle(), 'rootfs'), path.join(work, 'rootfs')], { encoding: 'utf8' });
    assert.equal(cp.status, 0, cp.stderr);
    spawnSync('chown', ['-R', `${uid}:${gid}`, path.join(work, 'rootfs')]);
    // What pam_systemd makes of /run/user/<uid>: the user's own, 0700.
    // A home of its own (podman reads ~/.config/containers; a shared /tmp may hold another's).
    for (const name of ['xdg-runts', 'xdg-runc', 'xdg-podman', 'home']) {
      fs.mkdirSync(path.join(work, name), { mode: 0o700 });
      fs.chownSync(path.join(work, name), uid, gid);
    }
  });
  after(() => {
    if (work) {
      for (const bin of [BIN, '/usr/sbin/runc']) {
        const ids = as(bin, ['list', '-q']).stdout.split('\n').filter(Boolean);
        for (const id of ids) as(bin, ['delete', '--force', id]);
      }
      fs.rmSync(work, { recursive: true, force: true });
    }
    // Rootless podman leaves its pause process (catatonit) holding the user namespace.
    spawnSync('pkill', ['-KILL', '-u', USER]);
    if (createdUser) spawnSync('userdel', [USER]);
  });

  it('run: the user\'s own id is root inside (a single mapping, written directly), as runc', opts, () => {
    const b = bundle('run', { args: ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; hostname'] });
    const out = [BIN, requireRunc()].map((bin) => {
      const r = as(bin, ['run', '-b', b, 'r1']);
      assert.equal(r.status, 0, `${bin}: ${show(r)}`);
      return r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    });
    assert.deepEqual(out[0], out[1]);
    assert.deepEqual(out[0].slice(0, 5), ['0', '0', `0 ${uid} 1`, `0 ${gid} 1`, 'deny']);
  });

  it('create, start, state, list, exec, kill, delete; the state under $XDG_RUNTIME_DIR/runts; pause refused without cgroups, as runc', opts, () => {
    const b = bundle('life', { args: ['sleep', '100'] });
    for (const bin of [BIN, requireRunc()]) {
      const name = path.basename(bin);
      const ok = (args: string[]) => {
        const r = as(bin, args);
        assert.equal(r.status, 0, `${name} ${args.join(' ')}: ${show(r)}`);
        return r.stdout;
      };
      ok(['create', '-b', b, 'c1']);
      assert.ok(fs.existsSync(path.join(work, `xdg-${name}`, name, 'c1')), `${name}: no state under $XDG_RUNTIME_DIR/${name}`);
      assert.equal(JSON.parse(ok(['state', 'c1'])).status, 'created');
      ok(['start', 'c1']);
      assert.match(ok(['list']), new RegExp(`^c1 +\\d+ +running +${b} .* ${USER}$`, 'm'));
      assert.equal(ok(['exec', 'c1', 'sh', '-c', 'id -u; cat /proc/1/cmdline | tr "\\0" " "']), '0\nsleep 100 ');
      const p = as(bin, ['pause', 'c1']);
      assert.equal(p.status, 1, `${name}: ${show(p)}`);
      assert.match(p.stderr, /cgroups not configured for container/);
      assert.match(p.stderr, new RegExp(`level=warning msg="${name} pause may fail if you don't have the full access to cgroups"`));
      ok(['kill', 'c1', 'KILL']);
      for (let i = 0; i < 50 && JSON.parse(ok(['state', 'c1'])).status !== 'stopped'; i++) spawnSync('sleep', ['0.1']);
      assert.equal(JSON.parse(ok(['state', 'c1'])).status, 'stopped');
      ok(['delete', 'c1']);
      assert.deepEqual(fs.readdirSync(path.join(work, `xdg-${name}`, name)), [], `${name}: state left`);
    }
  });

  it('more than the user\'s own id: newuidmap/newgidmap map the subordinate ranges, as runc', opts, () => {
    const maps = (own: number, start: number) => [{ containerID: 0, hostID: own, size: 1 }, { containerID: 1, hostID: start, size: 1000 }];
    // A file of the rootfs owned by the fifth subordinate ids: container ids 5.
    const owned = path.join(work, 'rootfs/etc/sub-owned');
    fs.writeFileSync(owned, 'x\n');
    fs.chownSync(owned, sub.uid + 4, sub.gid + 4);
    const b = bundle('ranges', { args: ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; stat -c %u:%g /etc/sub-owned'] }, {
      uidMappings: maps(uid, sub.uid),
      gidMappings: maps(gid, sub.gid),
    });
    const out = [BIN, requireRunc()].map((bin) => {
      const r = as(bin, ['run', '-b', b, `m-${path.basename(bin)}`]);
      assert.equal(r.status, 0, `${bin}: ${show(r)}`);
      return r.stdout.split('\n').map((l) => l.trim().split(/\s+/).join(' '));
    });
    assert.deepEqual(out[0], out[1]);
    assert.deepEqual(out[0].slice(0, 5), [`0 ${uid} 1`, `1 ${sub.uid} 1000`, `0 ${gid} 1`, `1 ${sub.gid} 1000`, 'allow']);
    assert.equal(out[0][5], '5:5');
  });

  it('podman run by the user (rootless, the runtime as root of podman\'s user namespace): run, -d, exec, stop, rm, as with runc', opts, () => {
    const tar = path.join(work, 'rootfs.tar');
    assert.equal(spawnSync('tar', ['--owner=0', '--group=0', '--numeric-owner', '-C', path.join(work, 'rootfs'), '-cf', tar, '.']).status, 0);
    spawnSync('chown', [`${uid}:${gid}`, tar]);
    const store = path.join(work, 'podman');
    fs.mkdirSync(store);
    spawnSync('chown', [`${uid}:${gid}`, store]);
    const podman = (rt: string, args: string[]) =>
      as('/usr/bin/podman', ['--root', `${store}/root`, '--runroot', `${store}/run`, '--tmpdir', `${store}/tmp`, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file', '--runtime', rt, ...args], work, path.join(work, 'xdg-podman'));
    const imp = podman(BIN, ['import', tar, 'localhost/runts-rootless:1']);
    assert.equal(imp.status, 0, show(imp));
    for (const rt of [BIN, requireRunc()]) {
      const name = `p-${path.basename(rt)}`;
      const ok = (args: string[]) => {
        const r = podman(rt, args);
        assert.equal(r.status, 0, `${rt}: podman ${args.join(' ')}: ${show(r)}`);
        return r.stdout;
      };
      // podman's default for a rootless user: its own id as root, the subordinate ids after.
      assert.deepEqual(ok(['run', '--rm', '--network', 'none', 'localhost/runts-rootless:1', 'sh', '-c', 'id -u; cat /proc/self/uid_map']).split('\n').map((l) => l.trim().split(/\s+/).join(' ')),
        ['0', `0 ${uid} 1`, `1 ${sub.uid} 65536`, '']);
      ok(['run', '-d', '--name', name, '--network', 'none', 'localhost/runts-rootless:1', 'sleep', '1000']);
      assert.equal(ok(['exec', name, 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; id -u']), 'sleep 1000 0\n');
      ok(['stop', '-t', '1', name]);
      assert.equal(ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name]).trim(), 'exited 137');
      ok(['rm', name]);
    }
  });

  it('a mapping the user may not have: newuidmap\'s own words on the last line, nothing left', opts, () => {
    const b = bundle('denied', { args: ['true'] }, { uidMappings: [{ containerID: 0, hostID: 0, size: 1 }] });
    const r = as(BIN, ['run', '-b', b, 'd1']);
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr.trim().split('\n').pop() ?? '', /newuidmap/);
    assert.deepEqual(fs.readdirSync(path.join(work, 'xdg-runts', 'runts')).filter((e) => e === 'd1'), []);
  });
});
