/** validateSpec: every problem at once, at its JSON path; runc's namespace and sysctl rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../../src/errors.ts';
import type { Problem } from '../../src/errors.ts';
import { assertValidSpec, checkHost, lsmEnabled, normalizeSysctlKey, specWarnings, sysctlProblem, validateSpec } from '../../src/spec/validate.ts';
import { nodeFiles } from '../../src/state/node-files.ts';
import type { Spec } from '../../src/spec/types.ts';
import { toNativeConfig } from '../../src/spec/convert.ts';
import { toNativeResources } from '../../src/spec/resources.ts';

/** The smallest config runc runs. */
function minimal(extra: Record<string, unknown> = {}, linux: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ociVersion: '1.0.2',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'] },
    ...extra,
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }], ...linux },
  };
}

function paths(problems: Problem[]): string[] {
  return problems.map((p) => p.path);
}

/** The message at `path` (there must be exactly one). */
function at(problems: Problem[], path: string): string {
  const found = problems.filter((p) => p.path === path);
  assert.equal(found.length, 1, `one problem at ${path} in ${JSON.stringify(problems)}`);
  return found[0]!.message;
}

test('a minimal config, and one with every section filled in, have no problems', () => {
  assert.deepEqual(validateSpec(minimal()), []);
  const full = minimal(
    {
      hostname: 'h',
      domainname: 'd',
      mounts: [{ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro'] }],
      hooks: { prestart: [{ path: '/bin/true', args: ['true'], env: ['A=b'], timeout: 5 }], poststop: [] },
      annotations: { 'org.example': 'x' },
      process: {
        terminal: false,
        consoleSize: { height: 24, width: 80 },
        user: { uid: 1000, gid: 1000, umask: 0o22, additionalGids: [5, 6] },
        args: ['sh', '-c', 'true'],
        env: ['PATH=/bin', 'EMPTY='],
        cwd: '/home',
        capabilities: { bounding: ['CAP_KILL', 'CAP_CHECKPOINT_RESTORE'], ambient: [] },
        rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }, { type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }],
        noNewPrivileges: true,
        apparmorProfile: 'p',
        oomScoreAdj: -999,
        scheduler: { policy: 'SCHED_FIFO', priority: 10 },
        ioPriority: { class: 'IOPRIO_CLASS_BE', priority: 4 },
      },
    },
    {
      namespaces: [{ type: 'mount' }, { type: 'uts' }, { type: 'ipc' }, { type: 'network' }, { type: 'user' }, { type: 'cgroup' }, { type: 'time' }],
      uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      timeOffsets: { monotonic: { secs: 10, nanosecs: 5 } },
      devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }, { path: '/dev/p', type: 'p' }],
      cgroupsPath: '/runts/x',
      resources: {
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
        memory: { limit: 536870912, swap: -1, swappiness: 0, disableOOMKiller: false },
        cpu: { shares: 1024, quota: -1, period: 100000, cpus: '0-1' },
        pids: { limit: 100 },
        blockIO: { weight: 10, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }] },
        hugepageLimits: [{ pageSize: '2MB', limit: 9223372036854772000 }],
        network: { classID: 1, priorities: [{ name: 'eth0', priority: 5 }] },
        rdma: { mlx5_1: { hcaHandles: 3 } },
        unified: { 'memory.high': '1G' },
      },
      sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '10', 'kernel.domainname': 'd' },
      seccomp: { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] }] },
      rootfsPropagation: 'rslave',
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      personality: { domain: 'LINUX' },
      unknownFutureField: { anything: true },
    },
  );
  assert.deepEqual(validateSpec(full), []);
});

test('every problem at once, each at its JSON path', () => {
  const problems = validateSpec({
    ociVersion: 1,
    root: { path: 5 },
    mounts: [{ destination: '/ok' }, 'nope', { destination: 7, options: ['ro', 3] }],
    process: { args: 'sh', cwd: 'relative', user: { uid: -1, gid: 1.5, additionalGids: [1, 'x'] }, terminal: 'yes' },
    linux: { namespaces: [{ type: 'pid' }, { type: 'bogus' }, { type: 'pid' }, { type: 'mount' }] },
  });
  assert.deepEqual(paths(problems).sort(), [
    'linux.namespaces[1].type',
    'linux.namespaces[2].type',
    'mounts[1]',
    'mounts[2].destination',
    'mounts[2].options[1]',
    'ociVersion',
    'process.args',
    'process.cwd',
    'process.terminal',
    'process.user.additionalGids[1]',
    'process.user.gid',
    'process.user.uid',
    'root.path',
  ]);
  assert.equal(at(problems, 'root.path'), 'must be a string (got a number)');
  assert.equal(at(problems, 'process.args'), 'must be an array (got a string)');
  assert.equal(at(problems, 'process.cwd'), 'must be an absolute path (got "relative")');
  assert.equal(at(problems, 'process.user.uid'), 'must be an integer from 0 to 4294967295 (got -1)');
  assert.equal(at(problems, 'process.user.gid'), 'must be an integer from 0 to 4294967295 (got 1.5)');
  assert.match(at(problems, 'linux.namespaces[1].type'), /^unknown namespace type "bogus"/);
  assert.equal(at(problems, 'linux.namespaces[2].type'), 'duplicate namespace type "pid" (also at linux.namespaces[0])');

  // The thrown form names the file and lists them all.
  assert.throws(() => assertValidSpec({ root: {} }, '/b/config.json'), (e: unknown) => {
    assert.ok(e instanceof ValidationError);
    assert.equal(e.message, 'invalid /b/config.json: process: is required');
    return true;
  });
});

test('what runc requires: root, process, args, cwd', () => {
  assert.deepEqual(validateSpec('x'), [{ path: '', message: 'config must be a JSON object (got a string)' }]);
  const p = validateSpec({});
  assert.equal(at(p, 'root'), 'is required');
  assert.equal(at(p, 'process'), 'is required');
  assert.equal(paths(p).includes('ociVersion'), false, 'runc does not require ociVersion');
  const q = validateSpec({ root: { path: 'r' }, process: { args: [] } });
  assert.equal(at(q, 'process.args'), 'must not be empty');
  assert.equal(at(q, 'process.cwd'), 'is required');
  assert.equal(at(validateSpec({ root: {}, process: { cwd: '', args: ['a'] } }), 'process.cwd'), 'must not be empty');
  // null is absent, as for Go's decoder.
  assert.deepEqual(validateSpec(minimal({ mounts: null, hostname: null })), []);
});

test('process: capabilities, rlimits, env, oomScoreAdj; an SELinux label is a string', () => {
  const p = validateSpec(
    minimal({
      process: {
        cwd: '/',
        args: ['sh'],
        env: ['OK=1', 'NOEQUALS', '=x'],
        capabilities: { bounding: ['CAP_KILL', 'CAP_FOO'], effective: [5] },
        rlimits: [
          { type: 'RLIMIT_NOFILE', soft: 10, hard: 1 },
          { type: 'RLIMIT_FOO', soft: 1, hard: 1 },
          { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
          { type: 'RLIMIT_CORE', soft: -1 },
        ],
        oomScoreAdj: 1001,
        selinuxLabel: 'system_u:system_r:container_t:s0',
      },
    }),
  );
  assert.equal(at(p, 'process.capabilities.effective[0]'), 'must be a string (got a number)');
  assert.equal(at(p, 'process.rlimits[0]'), 'soft limit 10 is greater than hard limit 1');
  assert.equal(at(p, 'process.rlimits[1].type'), 'unknown rlimit type "RLIMIT_FOO"');
  assert.equal(at(p, 'process.rlimits[2].type'), 'duplicate rlimit type "RLIMIT_NOFILE" (also at process.rlimits[0])');
  assert.equal(at(p, 'process.rlimits[3].soft'), 'must be a non-negative integer (got -1)');
  assert.equal(at(p, 'process.rlimits[3].hard'), 'is required');
  assert.match(at(p, 'process.env[1]'), /KEY=value/);
  assert.match(at(p, 'process.env[2]'), /empty variable name/);
  assert.equal(at(p, 'process.oomScoreAdj'), 'must be from -1000 to 1000 (got 1001)');
  // Valid as a string: whether the host has SELinux is checkHost's (the last test here).
  assert.ok(!paths(p).includes('process.selinuxLabel'));
  assert.equal(p.length, 9, 'an unknown capability name is a warning, not an error (runc)');
});

test('namespaces: user namespace mappings, hostname and domainname, masked paths, time offsets', () => {
  // A new user namespace needs both mappings (runc: "User namespaces enabled, but no uid mappings found.").
  const a = validateSpec(minimal({}, { namespaces: [{ type: 'mount' }, { type: 'user' }], gidMappings: [{ containerID: 0, hostID: 1000, size: 0 }] }));
  assert.match(at(a, 'linux.uidMappings'), /is required when a new user namespace is created/);
  assert.equal(at(a, 'linux.gidMappings[0].size'), 'must be at least 1');
  assert.equal(a.length, 2);
  // Joining one by path needs none.
  assert.deepEqual(validateSpec(minimal({}, { namespaces: [{ type: 'mount' }, { type: 'user', path: '/proc/1/ns/user' }] })), []);
  // Mappings without a user namespace.
  const b = validateSpec(minimal({}, { uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }));
  assert.equal(at(b, 'linux.uidMappings'), 'set, but there is no user namespace in linux.namespaces');

  const c = validateSpec(
    minimal(
      { hostname: 'h', domainname: 'd' },
      { namespaces: [{ type: 'pid' }], maskedPaths: ['/proc/kcore'], readonlyPaths: [], timeOffsets: { realtime: { secs: 1 } } },
    ),
  );
  assert.match(at(c, 'hostname'), /without a UTS namespace/);
  assert.match(at(c, 'domainname'), /without a UTS namespace/);
  assert.match(at(c, 'linux.maskedPaths'), /needs a mount namespace/);
  assert.match(at(c, 'linux.timeOffsets["realtime"]'), /unknown clock "realtime"/);
  assert.match(at(c, 'linux.timeOffsets'), /no time namespace/);
  assert.equal(c.length, 5);
  // A UTS namespace joined by path is still one.
  assert.deepEqual(validateSpec(minimal({ hostname: 'h' }, { namespaces: [{ type: 'mount' }, { type: 'uts', path: '/proc/1/ns/uts' }] })), []);
});

test("sysctls: runc's namespace rules, with '/' separators", () => {
  const sysctl = {
    'net.ipv4.ip_forward': '1',
    'net/ipv4/conf/eno2.100/rp_filter': '1',
    'kernel.shmmax': '1',
    'fs.mqueue.msg_max': '1',
    'kernel.hostname': 'x',
    'kernel.domainname': 'x',
    'vm.swappiness': '1',
    'kernel.pid_max': 5,
  };
  const hostOnly = validateSpec(minimal({}, { namespaces: [{ type: 'mount' }], sysctl }));
  assert.match(at(hostOnly, 'linux.sysctl["net.ipv4.ip_forward"]'), /host network namespace/);
  assert.match(at(hostOnly, 'linux.sysctl["net/ipv4/conf/eno2.100/rp_filter"]'), /host network namespace/);
  assert.match(at(hostOnly, 'linux.sysctl["kernel.shmmax"]'), /host IPC namespace/);
  assert.match(at(hostOnly, 'linux.sysctl["fs.mqueue.msg_max"]'), /host IPC namespace/);
  assert.match(at(hostOnly, 'linux.sysctl["kernel.hostname"]'), /not in a separate kernel namespace/);
  assert.match(at(hostOnly, 'linux.sysctl["kernel.domainname"]'), /not in a separate kernel namespace/);
  assert.match(at(hostOnly, 'linux.sysctl["vm.swappiness"]'), /not in a separate kernel namespace/);
  assert.equal(at(hostOnly, 'linux.sysctl["kernel.pid_max"]'), 'must be a string (got a number)');
  assert.equal(hostOnly.length, 8);

  const isolated = validateSpec(
    minimal({}, { namespaces: [{ type: 'mount' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }], sysctl: { ...sysctl, 'kernel.pid_max': '5' } }),
  );
  assert.deepEqual(paths(isolated).sort(), [
    'linux.sysctl["kernel.hostname"]',
    'linux.sysctl["kernel.pid_max"]',
    'linux.sysctl["vm.swappiness"]',
  ]);
  assert.match(at(isolated, 'linux.sysctl["kernel.hostname"]'), /conflicts with the "hostname" field/);

  assert.equal(normalizeSysctlKey('net.ipv4.ip_forward'), 'net.ipv4.ip_forward');
  assert.equal(normalizeSysctlKey('net/ipv4/conf/eno2.100/rp_filter'), 'net.ipv4.conf.eno2/100.rp_filter');
});

test('mounts, devices, resources, rootfsPropagation, hooks, seccomp', () => {
  const p = validateSpec(
    minimal(
      {
        mounts: [{ type: 'proc' }, { destination: '' }, { destination: 'rel' }, { destination: '/m', uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }],
        hooks: { prestart: [{ path: 'relative', timeout: 0 }], bogusKind: 1 },
      },
      {
        devices: [{ path: '/dev/x', type: 'z', major: 1, minor: 1 }, { path: '/dev/y', type: 'c' }],
        resources: { devices: [{ allow: true }, { allow: 'yes', access: 'x', type: 'u' }], memory: { swappiness: 101 }, blockIO: { weight: 70000 } },
        rootfsPropagation: 'bogus',
        seccomp: { defaultAction: 'SCMP_ACT_NOPE', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'EQ' }] }] },
        personality: { domain: 'LINUX64' },
        intelRdt: { closID: '../x' },
      },
    ),
  );
  assert.deepEqual(paths(p).sort(), [
    'hooks.prestart[0].path',
    'hooks.prestart[0].timeout',
    'linux.devices[0].type',
    'linux.devices[1].major',
    'linux.devices[1].minor',
    'linux.intelRdt',
    'linux.intelRdt.closID',
    'linux.personality.domain',
    'linux.resources.blockIO.weight',
    'linux.resources.devices[0].access',
    'linux.resources.devices[1].access',
    'linux.resources.devices[1].allow',
    'linux.resources.devices[1].type',
    'linux.resources.memory.swappiness',
    'linux.rootfsPropagation',
    'linux.seccomp.defaultAction',
    'linux.seccomp.syscalls[0].args[0].op',
    'mounts[0].destination',
    'mounts[1].destination',
    'mounts[3].gidMappings',
    'mounts[3].options',
  ]);
  assert.equal(at(p, 'mounts[0].destination'), 'is required');
  assert.equal(at(p, 'linux.devices[0].type'), 'unknown device type "z" (valid: c, b, u, p)');
  assert.equal(at(p, 'linux.devices[1].major'), 'is required');
  assert.match(at(p, 'linux.rootfsPropagation'), /unknown rootfs propagation "bogus"/);
  assert.match(at(p, 'mounts[3].options'), /supported only for mounts with the option 'bind'/);
  assert.match(at(p, 'mounts[3].gidMappings'), /is required with the other/);
});

test('idmapped mounts: bind only, both mappings or the container\'s, every problem named', () => {
  const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const userns = { namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: map, gidMappings: map };
  const ok = (mounts: object[], linux: Record<string, unknown> = userns) => assert.deepEqual(paths(validateSpec(minimal({ mounts }, linux))), [], JSON.stringify(mounts));
  ok([{ destination: '/v', type: 'bind', source: '/s', options: ['rbind', 'idmap'] }]);
  ok([{ destination: '/v', source: '/s', options: ['bind', 'ridmap'], uidMappings: [{ containerID: 1000, hostID: 100000, size: 1 }], gidMappings: map }]);
  // Own mappings need no user namespace of the container's.
  ok([{ destination: '/v', source: '/s', options: ['bind'], uidMappings: map, gidMappings: map }], { namespaces: [{ type: 'mount' }] });
  const bad = validateSpec(minimal({ mounts: [
    { destination: '/a', source: '/s', options: ['bind', 'idmap'] },
    { destination: '/b', type: 'tmpfs', source: 't', options: ['idmap'], uidMappings: map, gidMappings: map },
    { destination: '/c', source: '/s', options: ['bind'], uidMappings: [{ containerID: 0, hostID: 1, size: 0 }], gidMappings: map },
  ] }, { namespaces: [{ type: 'mount' }] }));
  assert.deepEqual(paths(bad).sort(), ['mounts[0].options', 'mounts[1].options', 'mounts[2].uidMappings[0].size']);
  assert.match(at(bad, 'mounts[0].options'), /idmap needs mappings: the mount's uidMappings and gidMappings, or the container's/);
});

test('specWarnings: unknown capabilities and device access letters are dropped as runc drops them', () => {
  const spec = minimal(
    { process: { cwd: '/', args: ['sh'], capabilities: { bounding: ['CAP_KILL', 'CAP_FUTURE'], ambient: ['CAP_NOPE'] } } },
    { resources: { devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwa' }, { allow: false, access: 'a' }] } },
  );
  const linux = spec.linux as { resources: { devices: object[] } };
  const errors = validateSpec(spec);
  assert.deepEqual(errors, [{ path: 'linux.resources.devices[1].access', message: 'must name at least one of r, w and m (got "a")' }]);
  linux.resources.devices.pop();
  assert.deepEqual(validateSpec(spec), []);
  assert.deepEqual(specWarnings(spec as unknown as Spec), [
    { path: 'process.capabilities.bounding', message: 'ignoring unknown or unavailable capabilities: [CAP_FUTURE]' },
    { path: 'process.capabilities.ambient', message: 'ignoring unknown or unavailable capabilities: [CAP_NOPE]' },
    { path: 'linux.resources.devices[0].access', message: '"rwa": letters other than r, w and m are ignored' },
  ]);
  const config = toNativeConfig(spec as unknown as Spec, '/bundle', 'id');
  assert.deepEqual(config.process.capabilities?.bounding, ['CAP_KILL']);
  assert.deepEqual(config.process.capabilities?.ambient, []);
  assert.equal(toNativeResources((spec as unknown as Spec).linux!.resources!).devices?.[0].access, 'rw');
});

test('without a mount namespace nothing may be mounted: runts never mounts in its own namespace', () => {
  const p = validateSpec({
    root: { path: 'rootfs', readonly: true },
    process: { cwd: '/', args: ['sh'] },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }], rootfsPropagation: 'private' },
  });
  assert.deepEqual(paths(p), ['mounts', 'root.readonly', 'linux.rootfsPropagation']);
  assert.match(at(p, 'mounts'), /needs a mount namespace .*does not mount in the namespace it was started in/);
  // A joined mount namespace is not runts' own: mounts go there (as runc).
  assert.deepEqual(validateSpec({
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['sh'] },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'mount', path: '/proc/1/ns/mnt' }] },
  }), []);
});

test('specWarnings: relative mount destinations (runc warns) and fields not applied yet', () => {
  const spec = minimal({ mounts: [{ destination: 'proc', type: 'proc', source: 'proc' }, { destination: '/ok' }] }, { seccomp: { defaultAction: 'SCMP_ACT_ALLOW' } });
  assert.deepEqual(validateSpec(spec), []);
  assert.deepEqual(specWarnings(spec as Spec), [
    { path: 'mounts[0].destination', message: '"proc" is not absolute; mounted at /proc (deprecated)' },
  ]);
});

test('linux.seccomp: names from the core\'s tables, NOTIFY as runc allows it, argument indexes 0-5', () => {
  const ok = minimal({}, {
    seccomp: {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
      syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 5, value: 9, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }],
    },
  });
  assert.deepEqual(validateSpec(ok), []);
  const bad = minimal({}, {
    seccomp: {
      defaultAction: 'SCMP_ACT_NOTIFY',
      architectures: ['SCMP_ARCH_Z80'],
      flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'],
      listenerPath: '/run/agent.sock',
      syscalls: [{ names: ['kill'], action: 'SCMP_ACT_BOGUS', args: [{ index: 6, value: -1, op: 'SCMP_CMP_XX' }] }],
    },
  });
  assert.deepEqual(
    validateSpec(bad).map((p) => `${p.path}: ${p.message.replace(/ \(valid: .*\)$/, '')}`),
    [
      'linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action',
      'linux.seccomp.architectures[0]: unknown seccomp architecture "SCMP_ARCH_Z80"',
      'linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"',
      'linux.seccomp.syscalls[0].action: unknown seccomp action "SCMP_ACT_BOGUS"',
      'linux.seccomp.syscalls[0].args[0].index: must be from 0 to 5 (a syscall has 6 arguments; got 6)',
      'linux.seccomp.syscalls[0].args[0].value: must be a non-negative integer (got -1)',
      'linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_XX"',
    ],
  );
  const noListener = minimal({}, { seccomp: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'write'], action: 'SCMP_ACT_NOTIFY' }] } });
  assert.deepEqual(validateSpec(noListener).map((p) => `${p.path}: ${p.message}`), [
    'linux.seccomp.syscalls[0].names: SCMP_ACT_NOTIFY cannot be used for the write syscall',
    "linux.seccomp.listenerPath: is required with SCMP_ACT_NOTIFY (the seccomp agent's socket)",
  ]);
});

test('checkHost: AppArmor and SELinux labels fail closed on a host without the LSM, as runc', () => {
  const files = { ...nodeFiles, read: () => undefined, exists: () => false, stat: () => ({ isDir: true, dev: 1, ino: 1 }), realpath: (p: string) => p };
  const config = toNativeConfig(
    { root: { path: '/r' }, process: { cwd: '/', args: ['sh'], apparmorProfile: 'docker-default', selinuxLabel: 'system_u:system_r:container_t:s0' } } as Spec,
    '/b',
    'x',
  );
  assert.equal(config.process.apparmorProfile, 'docker-default');
  assert.deepEqual(checkHost(files, config), [
    { path: 'process.apparmorProfile', message: 'apparmor profile is specified in config, but apparmor is disabled or not supported' },
    { path: 'process.selinuxLabel', message: 'selinux label is specified in config, but selinux is disabled or not supported' },
  ]);
  // With the LSMs there: labels accepted.
  const withLsm = { ...files, read: (p: string) => (p.includes('apparmor') ? 'Y\n' : undefined), exists: (p: string) => p === '/sys/fs/selinux/enforce' };
  assert.deepEqual(checkHost(withLsm, config), []);
  assert.ok(lsmEnabled(withLsm, 'selinux') && lsmEnabled(withLsm, 'apparmor') && !lsmEnabled(files, 'selinux'));
});

test('devices: no negative device numbers (but -1, any, in cgroup rules); the runtime\'s own nodes keep their numbers', () => {
  const p = validateSpec(minimal({}, {
    devices: [
      { path: '/dev/null', type: 'c', major: 1, minor: 3 },
      { path: 'dev/zero', type: 'c', major: 7, minor: 0 },
      { path: '/dev/sda', type: 'b', major: -8, minor: 0 },
    ],
    resources: { devices: [{ allow: true, type: 'c', major: -1, minor: 3, access: 'rw' }, { allow: true, type: 'c', major: 1, minor: -2, access: 'r' }] },
  }));
  assert.deepEqual(p.map((x) => `${x.path}: ${x.message}`), [
    "linux.devices[1]: /dev/zero is the runtime's own device (c 1:5); it cannot be redefined as c 7:0",
    'linux.devices[2].major: must be a device number, not negative (got -8)',
    'linux.resources.devices[1].minor: must be -1 (any) or a device number (got -2)',
  ]);
});

test('sysctl: user.* only with a user namespace (runc 1.4)', () => {
  const userNs = new Map([['user', {}], ['mount', {}]]);
  assert.equal(sysctlProblem('user.max_user_namespaces', userNs), undefined);
  assert.match(sysctlProblem('user.max_user_namespaces', new Map([['mount', {}]])) ?? '', /not allowed in the host user namespace/);
  assert.match(sysctlProblem('kernel.core_pattern', userNs) ?? '', /not in a separate kernel namespace/);
});

test('netDevices: interface names, a new network namespace, distinct names inside', () => {
  assert.deepEqual(validateSpec(minimal({}, { namespaces: [{ type: 'mount' }, { type: 'network' }], netDevices: { eth1: {}, veth9: { name: 'eth2' } } })), []);
  const p = validateSpec(minimal({}, { namespaces: [{ type: 'mount' }, { type: 'network', path: '/proc/1/ns/net' }], netDevices: { 'a/b': {}, eth1: { name: 'eth2' }, eth2: {}, x: { name: 'waytoolonginterface' } } }));
  assert.deepEqual(p.map((x) => `${x.path}: ${x.message}`), [
    'linux.netDevices: needs a new network namespace (a {"type": "network"} without a path in linux.namespaces)',
    'linux.netDevices["a/b"]: "a/b" is not an interface name',
    'linux.netDevices["eth2"]: is named "eth2" in the container, as "eth1" is',
    'linux.netDevices["x"].name: "waytoolonginterface" is not an interface name',
  ]);
});
