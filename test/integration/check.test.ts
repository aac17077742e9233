// `runts check`: the host diagnosis (crates/core/src/probe.rs, src/runtime/check.ts). On this
// host, then with a feature made unavailable: user namespaces (max_user_namespaces 0 in a user
// namespace of the test's own), a state root on tmpfs or not, a noexec TMPDIR (through the
// library under Node; the compiled binary there, and executable memfds forbidden: hardening.test.ts). The cgroup v2 VM checks the v2, systemd and working-CRIU lines
// (test/vm/cgroupv2.sh).

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BIN, BIN_IS_RUNC, REPO, SKIP_REASON, TEST_TIMEOUT_MS, callRaw, describeCall } from './helpers.ts';

interface Finding {
  area: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

const opts = { timeout: TEST_TIMEOUT_MS };
const skip = SKIP_REASON || (BIN_IS_RUNC ? 'runc has no check command' : false);

function parse(stdout: string): Finding[] {
  const found = JSON.parse(stdout) as Finding[];
  assert.ok(Array.isArray(found) && found.length > 15, stdout);
  for (const f of found) {
    assert.ok(['ok', 'warn', 'fail'].includes(f.status), JSON.stringify(f));
    assert.ok(f.area && f.detail, JSON.stringify(f));
    assert.equal(f.status !== 'ok', !!f.fix, `a finding that is not OK says how to fix it: ${JSON.stringify(f)}`);
  }
  return found;
}

const find = (found: Finding[], area: string, re?: RegExp) => found.filter((f) => f.area === area && (!re || re.test(f.detail)));

describe('runts check', { skip }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-check-'));
  const mounts: string[] = [];
  after(() => {
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const tmpfs = (name: string, options: string) => {
    const at = path.join(dir, name);
    fs.mkdirSync(at);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', at], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    mounts.push(at);
    return at;
  };

  it('on this host: every area, each OK/WARN/FAIL with a fix; exit 0 when nothing FAILs; text and json agree', opts, () => {
    const r = callRaw(BIN, ['check', '--format', 'json']);
    const found = parse(r.stdout);
    assert.equal(r.status, found.some((f) => f.status === 'fail') ? 1 : 0, describeCall(r));
    for (const area of ['cgroups', 'systemd', 'user namespaces', 'seccomp', 'pidfd', 'clone3', 'openat2', 'mount_setattr', 'idmapped mounts', 'time namespaces', 'LSM', 'CRIU', 'state root', 'memfd', 'TMPDIR', 'RLIMIT_NOFILE', 'containerd', 'Docker', 'podman', 'CRI-O']) {
      assert.ok(find(found, area).length, `no ${area} line: ${r.stdout}`);
    }
    // What this host is (env: cgroup v1 hybrid, no systemd as PID 1, user namespaces, seccomp).
    const hybrid = fs.existsSync('/sys/fs/cgroup/unified') && !fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
    if (hybrid) assert.equal(find(found, 'cgroups', /^cgroup v1, hybrid/)[0]?.status, 'ok', r.stdout);
    if (!fs.existsSync('/run/systemd/system')) assert.match(find(found, 'systemd')[0].detail, /not running/);
    assert.equal(find(found, 'user namespaces', /can be made/)[0]?.status, 'ok', r.stdout);
    assert.equal(find(found, 'seccomp', /enforces filters/)[0]?.status, 'ok', r.stdout);
    // CRIU: its own error where `criu check` fails (this kernel), OK where it passes.
    const criu = spawnSync('criu', ['check'], { encoding: 'utf8', timeout: 30_000 });
    const line = find(found, 'CRIU')[0];
    if (criu.error) assert.equal(line.status, 'warn', JSON.stringify(line));
    else if (criu.status === 0) assert.equal(line.status, 'ok', JSON.stringify(line));
    else {
      assert.equal(line.status, 'warn', JSON.stringify(line));
      assert.match(line.detail, /criu check fails \(Error \(criu\//, 'CRIU\'s own error');
    }
    const nofile = find(found, 'RLIMIT_NOFILE')[0];
    const hard = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
    assert.match(nofile.detail, new RegExp(`hard ${hard}\\b`));
    // The text form: one line per finding, each fix on its own line.
    const text = callRaw(BIN, ['check']);
    assert.equal(text.status, r.status);
    const heads = text.stdout.split('\n').filter((l) => /^(OK|WARN|FAIL) /.test(l));
    assert.equal(heads.length, found.length, text.stdout);
    assert.equal(text.stdout.split('\n').filter((l) => /^ +fix: /.test(l)).length, found.filter((f) => f.fix).length);
  });

  it('user namespaces made unavailable (max_user_namespaces 0): that line FAILs and check exits 1', opts, () => {
    const r = spawnSync('unshare', ['--user', '--map-root-user', 'sh', '-c', `echo 0 > /proc/sys/user/max_user_namespaces && exec ${BIN} check --format json`], { encoding: 'utf8', timeout: 60_000 });
    if (r.error || (r.status !== 0 && r.status !== 1)) return assert.fail(`unshare: ${r.error ?? r.stderr}`);
    const found = parse(r.stdout);
    const line = find(found, 'user namespaces', /unshare\(CLONE_NEWUSER\) fails/)[0];
    assert.equal(line?.status, 'fail', r.stdout);
    assert.match(line.detail, /ENOSPC.*max_user_namespaces 0/);
    assert.match(line.fix ?? '', /max_user_namespaces/);
    assert.equal(r.status, 1, 'a FAIL makes check exit 1');
  });

  it('the state root: OK on tmpfs, WARN elsewhere', opts, () => {
    const onTmpfs = tmpfs('state', 'size=1m');
    const elsewhere = path.join(dir, 'disk-root');
    fs.mkdirSync(elsewhere);
    const line = (root: string) => find(parse(callRaw(BIN, ['--root', root, 'check', '--format', 'json']).stdout), 'state root')[0];
    assert.equal(line(onTmpfs).status, 'ok');
    assert.match(line(path.join(onTmpfs, 'not-made-yet')).detail, /is on tmpfs/, 'a root not made yet: the filesystem it would be on');
    const disk = spawnSync('stat', ['-f', '-c', '%T', elsewhere], { encoding: 'utf8' }).stdout.trim();
    if (disk !== 'tmpfs') assert.equal(line(elsewhere).status, 'warn');
  });

  it('a noexec TMPDIR is OK: runts loads its addon from a memfd, and says so (asked through the library under Node)', opts, () => {
    const noexec = tmpfs('noexec', 'size=1m,noexec');
    const script = `import { Runtime } from ${JSON.stringify(path.join(REPO, 'build/src/index.js'))};
      const found = await new Runtime({ root: ${JSON.stringify(path.join(dir, 'lib-root'))} }).check();
      console.log(JSON.stringify(found));`;
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: noexec };
    delete env.BUN_TMPDIR;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const found = parse(r.stdout);
    assert.equal(find(found, 'memfd')[0].status, 'ok');
    const line = find(found, 'TMPDIR')[0];
    assert.equal(line.status, 'ok', JSON.stringify(line));
    assert.match(line.detail, new RegExp(`${noexec} is mounted noexec: runts does not need it.*memfd`));
  });
});
