// Idmapped mounts (runtime-spec 1.2: a bind mount's uidMappings/gidMappings, the idmap and
// ridmap options), checked from inside the container and on the host. Debian's runc 1.1.5 has
// no idmapped mounts (it bind-mounts the source unmapped), so there is nothing to compare with.

import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SKIP_REASON, TEST_TIMEOUT_MS, assertBinary, assertNothingLeft, call, callRaw, describeCall, ensureSubreaper, lastLine, setup, shell, BIN } from './helpers.ts';
import type { Spec } from './helpers.ts';

ensureSubreaper();
const opts = { timeout: TEST_TIMEOUT_MS };

type Map = { containerID: number; hostID: number; size: number };
const CONTAINER: Map[] = [{ containerID: 0, hostID: 100000, size: 65536 }];
/** On-disk 1000 seen as the container's root (host 100000). */
const DISK_1000_AS_ROOT: Map[] = [{ containerID: 1000, hostID: 100000, size: 1 }];

/** A user-namespaced container (0 → 100000, 65536 ids) running `script`, with `mounts` added. */
function userns(script: string, mounts: object[]): (s: Spec) => void {
  return (s) => {
    shell(script)(s);
    s.process.terminal = false;
    s.linux = {
      ...s.linux,
      namespaces: [...(s.linux?.namespaces ?? []).filter((n) => n.type !== 'user'), { type: 'user' }],
      uidMappings: CONTAINER,
      gidMappings: CONTAINER,
    };
    (s as { mounts: object[] }).mounts = [...(s.mounts ?? []), ...mounts];
  };
}

/** A host directory for a volume: world-traversable, `file` in it, all owned by uid:gid. */
function volume(t: TestContext, uid: number): string {
  const dir = fs.mkdtempSync('/tmp/runts-idmap-');
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(dir, 'file'), 'hello\n');
  fs.chownSync(dir, uid, uid);
  fs.chownSync(path.join(dir, 'file'), uid, uid);
  t.after(() => {
    spawnSync('umount', ['-R', path.join(dir, 'sub')], { stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Runs the container; the mount points are made in the rootfs first (its / belongs to the
 * host's root, where the container's root may not create them). */
function run(t: TestContext, mutate: (s: Spec) => void) {
  const ctx = setup(t, { bin: BIN, mutate });
  const spec = JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8')) as { mounts: Array<{ destination: string; type?: string }> };
  for (const m of spec.mounts) if (m.type === 'bind') fs.mkdirSync(path.join(ctx.rootfs, m.destination), { recursive: true });
  const r = call(ctx, ['run', '-b', ctx.bundle, ctx.id]);
  return { ctx, r };
}

const owner = (p: string) => {
  const st = fs.statSync(p);
  return `${st.uid}:${st.gid}`;
};

describe('idmapped mounts', { skip: SKIP_REASON }, () => {
  it('a bind mount with its own mapping: host 1000 is the container\'s root inside, and what it writes lands as 1000', opts, (t) => {
    assertBinary();
    const vol = volume(t, 1000);
    const { ctx, r } = run(t, userns('stat -c "%u:%g %n" /v/file /v; echo made > /v/new; id -u; grep " /v " /proc/self/mountinfo', [
      { destination: '/v', type: 'bind', source: vol, options: ['rbind', 'idmap'], uidMappings: DISK_1000_AS_ROOT, gidMappings: DISK_1000_AS_ROOT },
    ]));
    assert.equal(r.status, 0, describeCall(r));
    assert.match(r.stdout, /^0:0 \/v\/file$/m);
    assert.match(r.stdout, /^0:0 \/v$/m);
    assert.match(r.stdout, /^0$/m);
    assert.match(r.stdout, / \/v .*\bidmapped\b/, 'mountinfo says the mount is idmapped');
    assert.equal(owner(path.join(vol, 'new')), '1000:1000');
    assertNothingLeft(ctx);
  });

  it('idmap without a mapping of its own uses the container\'s; a plain bind shows the same files unmapped', opts, (t) => {
    const vol = volume(t, 0);
    const { r } = run(t, userns('stat -c "%u:%g" /v/file /plain/file; touch /v/by-root', [
      { destination: '/v', type: 'bind', source: vol, options: ['bind', 'idmap'] },
      { destination: '/plain', type: 'bind', source: vol, options: ['bind', 'ro'] },
    ]));
    assert.equal(r.status, 0, describeCall(r));
    // Host root's files belong to the container's root through the idmapped mount, to the
    // overflow id (nobody) through the plain one.
    assert.deepEqual(r.stdout.trim().split('\n'), ['0:0', '65534:65534']);
    assert.equal(owner(path.join(vol, 'by-root')), '0:0');
  });

  it('ridmap maps the submounts of an rbind too; idmap only the top of the tree', opts, (t) => {
    const [major, minor] = os.release().split('.').map(Number);
    if (major < 6 || (major === 6 && minor < 3)) {
      t.skip(`tmpfs (the submount here) can be idmapped from Linux 6.3; this is ${os.release()}`);
      return;
    }
    const vol = volume(t, 1000);
    const sub = path.join(vol, 'sub');
    fs.mkdirSync(sub);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'mode=755', 'runts-idmap', sub], { encoding: 'utf8' });
    assert.equal(m.status, 0, m.stderr);
    fs.writeFileSync(path.join(sub, 'file'), 'in the submount\n');
    fs.chownSync(path.join(sub, 'file'), 1000, 1000);
    const maps = { uidMappings: DISK_1000_AS_ROOT, gidMappings: DISK_1000_AS_ROOT };
    const { r } = run(t, userns('stat -c "%u:%g %n" /r/file /r/sub/file /i/file /i/sub/file', [
      { destination: '/r', type: 'bind', source: vol, options: ['rbind', 'ridmap'], ...maps },
      { destination: '/i', type: 'bind', source: vol, options: ['rbind', 'idmap'], ...maps },
    ]));
    assert.equal(r.status, 0, describeCall(r));
    assert.deepEqual(r.stdout.trim().split('\n'), ['0:0 /r/file', '0:0 /r/sub/file', '0:0 /i/file', '65534:65534 /i/sub/file']);
  });

  it('read-only and the other flags apply to the idmapped mount', opts, (t) => {
    const vol = volume(t, 1000);
    const { r } = run(t, userns('stat -c "%u:%g" /v/file; touch /v/x 2>/dev/null; echo "touch $?"; grep " /v " /proc/self/mountinfo', [
      { destination: '/v', type: 'bind', source: vol, options: ['rbind', 'ro', 'nosuid', 'nodev', 'idmap'], uidMappings: DISK_1000_AS_ROOT, gidMappings: DISK_1000_AS_ROOT },
    ]));
    assert.equal(r.status, 0, describeCall(r));
    assert.match(r.stdout, /^0:0$/m);
    assert.match(r.stdout, /^touch 1$/m);
    assert.match(r.stdout, / \/v ro,nosuid,nodev,/);
  });

  it('refused: not a bind mount, or no mapping anywhere (validation, every mount named); a filesystem that cannot be idmapped (the kernel\'s word); nothing left behind', opts, (t) => {
    const bad = setup(t, {
      bin: BIN,
      mutate: (s) => {
        (s as { mounts: object[] }).mounts = [
          ...(s.mounts ?? []),
          { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['idmap'], uidMappings: CONTAINER, gidMappings: CONTAINER },
          { destination: '/b', type: 'bind', source: '/tmp', options: ['bind', 'idmap'] },
        ];
      },
    });
    const v = call(bad, ['run', '-b', bad.bundle, bad.id]);
    assert.equal(v.status, 1, describeCall(v));
    assert.match(v.stderr, /mounts\[\d+\]\.options: gidMappings\/uidMappings is supported only for mounts with the option 'bind'/);
    assert.match(v.stderr, /mounts\[\d+\]\.options: idmap needs mappings/);
    assertNothingLeft(bad);
    // sysfs has no idmapped mounts.
    const { ctx, r } = run(t, userns('true', [
      { destination: '/s', type: 'bind', source: '/sys/kernel', options: ['bind', 'idmap'], uidMappings: CONTAINER, gidMappings: CONTAINER },
    ]));
    assert.equal(r.status, 1, describeCall(r));
    assert.match(lastLine(r.stderr), /mount_setattr MOUNT_ATTR_IDMAP `\/s` \(the filesystem of \/sys\/kernel cannot be idmapped.*EINVAL/);
    assertNothingLeft(ctx);
  });

  it('features: idmapped mounts enabled, idmap and ridmap among the mount options', opts, () => {
    const r = callRaw(BIN, ['features']);
    assert.equal(r.status, 0, describeCall(r));
    const f = JSON.parse(r.stdout) as { mountOptions: string[]; linux: { mountExtensions?: { idmap?: { enabled?: boolean } } } };
    assert.equal(f.linux.mountExtensions?.idmap?.enabled, true);
    for (const o of ['idmap', 'ridmap', 'rro']) assert.ok(f.mountOptions.includes(o), o);
  });
});
