import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupDirs, processFor } from '../../src/runtime/exec.ts';
import type { ContainerState } from '../../src/state/store.ts';
import type { Process } from '../../src/spec/types.ts';
import { RuntsError } from '../../src/errors.ts';

function container(paths: Array<[string, string]> | undefined): ContainerState {
  return {
    ociVersion: '1.0.2',
    id: 'c1',
    pid: 1,
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '',
    owner: '',
    initStartTime: 1,
    cgroup: paths && {
      driver: 'cgroupfs',
      cgroupsPath: '/c1',
      rootless: false,
      paths: paths.map(([subsystem, path]) => ({ subsystem, path })),
      resources: {},
    },
  };
}

const v1 = container([
  ['cpu,cpuacct', '/sys/fs/cgroup/cpu,cpuacct/c1'],
  ['memory', '/sys/fs/cgroup/memory/c1'],
  ['', '/sys/fs/cgroup/unified/c1'],
]);
const v2 = container([['', '/sys/fs/cgroup/c1']]);

test('cgroupDirs: the container\'s cgroups, or the sub-cgroups runc\'s --cgroup names', () => {
  assert.deepEqual(cgroupDirs(v1, []), ['/sys/fs/cgroup/cpu,cpuacct/c1', '/sys/fs/cgroup/memory/c1', '/sys/fs/cgroup/unified/c1']);
  assert.deepEqual(cgroupDirs(v1, ['sub']), ['/sys/fs/cgroup/cpu,cpuacct/c1/sub', '/sys/fs/cgroup/memory/c1/sub', '/sys/fs/cgroup/unified/c1/sub']);
  // A controller names its whole hierarchy (cpuacct is mounted with cpu).
  assert.deepEqual(cgroupDirs(v1, ['cpuacct:a', 'memory:b/c']), ['/sys/fs/cgroup/cpu,cpuacct/c1/a', '/sys/fs/cgroup/memory/c1/b/c', '/sys/fs/cgroup/unified/c1']);
  assert.deepEqual(cgroupDirs(v2, ['sub']), ['/sys/fs/cgroup/c1/sub']);
  assert.deepEqual(cgroupDirs(container(undefined), []), []);
});

test('cgroupDirs: every bad --cgroup refused with its argument named, as runc', () => {
  const refused = (s: ContainerState, specs: string[], re: RegExp) =>
    assert.throws(() => cgroupDirs(s, specs), (e: unknown) => e instanceof RuntsError && re.test(e.message), specs.join(' '));
  refused(v1, ['a:b:c'], /^invalid --cgroup argument: a:b:c$/);
  refused(v1, ['a', 'memory:b'], /--cgroup argument a has no controller\(s\) specified, and there are multiple --cgroup arguments/);
  refused(v1, ['/abs'], /invalid --cgroup argument: \/abs \(a relative path/);
  refused(v1, ['memory:../up'], /invalid --cgroup argument: memory:\.\.\/up/);
  refused(v1, ['memory:'], /invalid --cgroup argument: memory:/);
  refused(v1, ['pids:p'], /the container has no pids cgroup/);
  refused(v2, ['memory:m'], /controllers cannot be named on cgroup v2/);
  refused(container(undefined), ['sub'], /invalid --cgroup argument: the container c1 has no cgroup/);
  refused(container([]), ['sub'], /the container c1 has no cgroup/);
});

const base: Process = {
  args: ['sleep', '100'],
  cwd: '/work',
  env: ['PATH=/bin', 'A=1'],
  user: { uid: 5, gid: 6, additionalGids: [7] },
  capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
  rlimits: [{ type: 'RLIMIT_NOFILE', hard: 100, soft: 100 }],
  apparmorProfile: 'p',
  terminal: true,
  noNewPrivileges: true,
};

test('processFor: the container\'s process with the command line\'s changes, as runc\'s getProcess', () => {
  const p = processFor(base, { args: ['id'] }) as Process;
  assert.deepEqual(p.args, ['id']);
  assert.equal(p.cwd, '/work');
  assert.equal(p.terminal, false, 'terminal only with --tty');
  assert.deepEqual(p.user, base.user);
  assert.deepEqual(p.capabilities, base.capabilities);
  const q = processFor(base, {
    args: ['id'],
    cwd: '/tmp',
    env: ['B=2'],
    tty: true,
    user: { uid: 9 },
    additionalGids: [8],
    capabilities: ['CAP_CHOWN'],
    noNewPrivileges: false,
  }) as Process;
  assert.equal(q.cwd, '/tmp');
  assert.deepEqual(q.env, ['PATH=/bin', 'A=1', 'B=2']);
  assert.equal(q.terminal, true);
  assert.deepEqual(q.user, { uid: 9, gid: 6, additionalGids: [7, 8] });
  assert.equal(q.noNewPrivileges, false);
  // --cap: bounding, effective, permitted; no ambient without an inheritable set.
  assert.deepEqual(q.capabilities, { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL', 'CAP_CHOWN'] });
  const withInh = processFor({ ...base, capabilities: { ...base.capabilities, inheritable: [] } }, { args: ['id'], capabilities: ['CAP_CHOWN'] }) as Process;
  assert.deepEqual(withInh.capabilities?.ambient, ['CAP_CHOWN']);
  assert.deepEqual(base.capabilities?.bounding, ['CAP_KILL'], 'the container\'s process is left as it was');
});

test('processFor: a --process file as written, what it leaves out from the container', () => {
  const p = processFor(base, { process: { args: ['sh'], cwd: '/' } }) as Process;
  assert.deepEqual(p.args, ['sh']);
  assert.equal(p.env, undefined, 'env is the file\'s alone');
  assert.deepEqual(p.capabilities, base.capabilities);
  assert.deepEqual(p.rlimits, base.rlimits);
  assert.equal(p.apparmorProfile, 'p');
  const own = processFor(base, { process: { args: ['sh'], cwd: '/', capabilities: { bounding: [] }, rlimits: [] } }) as Process;
  assert.deepEqual(own.capabilities, { bounding: [] });
  assert.deepEqual(own.rlimits, base.rlimits, 'an empty rlimits list takes the container\'s, as runc');
  assert.equal(processFor(base, { process: 'x' }), 'x', 'not an object: left for validation to name');
});
