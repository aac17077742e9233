/** toNativeConfig (runc's specconv) and the host checks on its result. */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveBundle, rlimitValue, toNativeConfig } from '../../src/spec/convert.ts';
import { nodeFiles } from '../../src/state/node-files.ts';
import { defaultSpec } from '../../src/spec/defaults.ts';
import type { Spec } from '../../src/spec/types.ts';
import { checkHost, validateSpec } from '../../src/spec/validate.ts';

function withBundle(fn: (bundle: string) => void): void {
  // realpath: tmpdir() may itself be reached through a symlink.
  const bundle = realpathSync(mkdtempSync(join(tmpdir(), 'runts-convert-')));
  try {
    fn(bundle);
  } finally {
    rmSync(bundle, { recursive: true, force: true });
  }
}

test('paths: bundle and rootfs absolute, relative destinations under /, bind sources under the bundle', () => {
  withBundle((bundle) => {
    const spec: Spec = {
      root: { path: 'rootfs', readonly: true },
      process: { cwd: '/', args: ['sh'] },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: 'data', type: 'none', source: 'vol', options: ['rbind', 'ro'] },
        { destination: '/abs', source: '/srv/x', options: ['bind'] },
        { destination: '/t', type: 'bind', source: './t' },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['mode=1777'] },
      ],
    };
    // A bundle given relative to the cwd resolves to the same absolute path.
    const c = toNativeConfig(spec, resolveBundle(nodeFiles, relative(process.cwd(), bundle)), 'c1');
    assert.equal(c.id, 'c1');
    assert.equal(c.bundle, bundle);
    assert.equal(c.rootfs, join(bundle, 'rootfs'));
    assert.equal(c.rootfsReadonly, true);
    assert.deepEqual(c.mounts, [
      { destination: '/proc', mountType: 'proc', source: 'proc', options: [], uidMappings: [], gidMappings: [] },
      { destination: '/data', mountType: 'bind', source: join(bundle, 'vol'), options: ['rbind', 'ro'], uidMappings: [], gidMappings: [] },
      { destination: '/abs', mountType: 'bind', source: '/srv/x', options: ['bind'], uidMappings: [], gidMappings: [] },
      { destination: '/t', mountType: 'bind', source: join(bundle, 't'), options: [], uidMappings: [], gidMappings: [] },
      { destination: '/tmp', mountType: 'tmpfs', source: 'tmpfs', options: ['mode=1777'], uidMappings: [], gidMappings: [] },
    ]);
    assert.equal(toNativeConfig({ ...spec, root: { path: '/srv/root' } }, bundle, 'c1').rootfs, '/srv/root');
    assert.equal(toNativeConfig({ ...spec, root: {} }, bundle, 'c1').rootfs, bundle);
  });
});

test('process: user, rlimits (RLIM_INFINITY → -1), capabilities absent or partial', () => {
  const infinity = JSON.parse('18446744073709551615') as number;
  assert.equal(infinity, 18446744073709552000);
  assert.equal(rlimitValue(infinity), -1);
  assert.equal(rlimitValue(2 ** 63), -1);
  assert.equal(rlimitValue(2 ** 53), 2 ** 53);

  const spec: Spec = {
    root: { path: 'rootfs' },
    process: {
      cwd: '/home',
      args: ['sh', '-c', 'id'],
      user: { uid: 1000, gid: 100, umask: 0o27, additionalGids: [10, 20] },
      rlimits: [
        { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
        { type: 'RLIMIT_CORE', soft: infinity, hard: infinity },
      ],
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'] },
      noNewPrivileges: true,
      oomScoreAdj: 100,
    },
  };
  const p = toNativeConfig(spec, '/b', 'x').process;
  assert.deepEqual(p, {
    terminal: false,
    args: ['sh', '-c', 'id'],
    env: [],
    cwd: '/home',
    uid: 1000,
    gid: 100,
    umask: 0o27,
    additionalGids: [10, 20],
    consoleSize: undefined,
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], inheritable: [], permitted: [], ambient: [] },
    rlimits: [
      { rlimitType: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
      { rlimitType: 'RLIMIT_CORE', soft: -1, hard: -1 },
    ],
    noNewPrivileges: true,
    oomScoreAdj: 100,
    apparmorProfile: undefined,
    selinuxLabel: undefined,
    scheduler: undefined,
    ioPriority: undefined,
    execCpuAffinity: undefined,
  });
  const bare = toNativeConfig({ root: {}, process: { cwd: '/', args: ['a'] } }, '/b', 'x').process;
  assert.equal(bare.capabilities, undefined);
  assert.equal(bare.umask, undefined);
  assert.equal(bare.oomScoreAdj, undefined);
  assert.equal(bare.uid, 0);
  assert.equal(bare.consoleSize, undefined);
  const sized = toNativeConfig({ root: {}, process: { cwd: '/', args: ['a'], consoleSize: { height: 10, width: 70000 } } }, '/b', 'x');
  assert.deepEqual(sized.process.consoleSize, { height: 10, width: 0xffff });
  assert.equal(bare.gid, 0);
  assert.throws(() => toNativeConfig({ root: {} }, '/b', 'x'), { name: 'RuntsError' });
});

test('linux: namespaces, mappings, sysctl pairs, devices, paths', () => {
  const spec: Spec = {
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'] },
    hostname: 'h',
    domainname: '',
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'network', path: '/var/run/netns/x' }, { type: 'user' }, { type: 'mount', path: '' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 200000, size: 1 }],
      sysctl: { 'net.ipv4.ip_forward': '1', 'net/ipv4/conf/eno2.100/rp_filter': '2' },
      devices: [
        { path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o020666, uid: 5 },
        { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o600 },
        { path: 'dev/fifo', type: 'p' },
      ],
      rootfsPropagation: 'rslave',
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
    },
  };
  const c = toNativeConfig(spec, '/b', 'x');
  assert.equal(c.hostname, 'h');
  assert.equal(c.domainname, undefined);
  assert.equal(c.rootfsPropagation, 'rslave');
  assert.deepEqual(c.namespaces, [
    { nsType: 'pid', path: undefined },
    { nsType: 'network', path: '/var/run/netns/x' },
    { nsType: 'user', path: undefined },
    { nsType: 'mount', path: undefined },
  ]);
  assert.deepEqual(c.uidMappings, [{ containerId: 0, hostId: 100000, size: 65536 }]);
  assert.deepEqual(c.gidMappings, [{ containerId: 0, hostId: 200000, size: 1 }]);
  assert.deepEqual(c.sysctl, [
    { key: 'net.ipv4.ip_forward', value: '1' },
    { key: 'net.ipv4.conf.eno2/100.rp_filter', value: '2' },
  ]);
  // Only the spec's, in its order: the core puts runc's defaults in front (rootfs/devices.rs).
  // File-type bits stripped; the path as written, since runc matches a default by the string.
  assert.deepEqual(c.devices, [
    { path: '/dev/fuse', devType: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 5, gid: 0 },
    { path: '/dev/null', devType: 'c', major: 1, minor: 3, fileMode: 0o600, uid: 0, gid: 0 },
    { path: 'dev/fifo', devType: 'p', major: 0, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
  ]);
  assert.deepEqual(c.maskedPaths, ['/proc/kcore']);
  assert.deepEqual(c.readonlyPaths, ['/proc/sys']);
  assert.deepEqual(c.cgroupPaths, []);
});

test("the starter spec converts to runc's config", () => {
  const spec = defaultSpec();
  assert.deepEqual(validateSpec(spec), []);
  const c = toNativeConfig(spec, '/b', 'x');
  assert.equal(c.rootfs, '/b/rootfs');
  assert.equal(c.process.terminal, true);
  assert.deepEqual(c.process.rlimits, [{ rlimitType: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }]);
  assert.deepEqual(c.namespaces.map((n) => n.nsType), ['pid', 'network', 'ipc', 'uts', 'mount']);
  assert.deepEqual(c.devices, [], 'the default devices are the core\'s to add');
  assert.equal(c.mounts.length, 7);
});

test('checkHost: rootfs must exist, be a directory and not be reached through a symlink', () => {
  withBundle((bundle) => {
    const spec: Spec = { root: { path: 'rootfs' }, process: { cwd: '/', args: ['sh'] } };
    assert.deepEqual(checkHost(nodeFiles, toNativeConfig(spec, bundle, 'x')), [
      { path: 'root.path', message: `invalid rootfs: stat ${join(bundle, 'rootfs')}: no such file or directory` },
    ]);
    mkdirSync(join(bundle, 'rootfs'));
    assert.deepEqual(checkHost(nodeFiles, toNativeConfig(spec, bundle, 'x')), []);
    symlinkSync('rootfs', join(bundle, 'link'));
    const problems = checkHost(nodeFiles, toNativeConfig({ ...spec, root: { path: 'link' } }, bundle, 'x'));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /a symlink or under one/);
    // A bundle given through a symlink is resolved first, as runc's getwd() does.
    symlinkSync(bundle, `${bundle}-alias`);
    try {
      const c = toNativeConfig(spec, resolveBundle(nodeFiles, `${bundle}-alias`), 'x');
      assert.equal(c.bundle, bundle);
      assert.deepEqual(checkHost(nodeFiles, c), []);
    } finally {
      rmSync(`${bundle}-alias`);
    }
  });
});

test("checkHost: net.* sysctls in a network namespace path that is the host's", () => {
  withBundle((bundle) => {
    mkdirSync(join(bundle, 'rootfs'));
    const spec: Spec = {
      root: { path: 'rootfs' },
      process: { cwd: '/', args: ['sh'] },
      linux: { namespaces: [{ type: 'network', path: '/proc/self/ns/net' }], sysctl: { 'net.ipv4.ip_forward': '1' } },
    };
    assert.deepEqual(validateSpec(spec), []);
    assert.deepEqual(checkHost(nodeFiles, toNativeConfig(spec, bundle, 'x')), [
      { path: 'linux.sysctl["net.ipv4.ip_forward"]', message: 'is not allowed in the host network namespace (/proc/self/ns/net)' },
    ]);
  });
});
