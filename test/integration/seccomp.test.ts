// linux.seccomp: filters loaded and enforced as runc loads them, checked from inside the
// container and compared with runc on the same bundle; bad profiles refused up front.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import {
  BIN,
  REPO,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  poll,
  requireRunc,
  run,
  runBoth,
  setup,
  shell,
} from './helpers.ts';
import type { Spec } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };
const ARCHES = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'];
type Seccomp = NonNullable<NonNullable<Spec['linux']>['seccomp']>;

/** Mutator: the given filter, and a tmpfs on /tmp to write to. */
function withSeccomp(seccomp: Seccomp, nnp = false): (spec: Spec) => void {
  return (spec) => {
    spec.linux = { ...spec.linux, seccomp };
    spec.process.noNewPrivileges = nnp;
    spec.mounts = [...(spec.mounts ?? []), { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev'] }];
  };
}

/** Podman's default profile (containers-common), as podman hands it to the runtime for a
 * container with the default capabilities on x86_64: its conditional entries resolved. */
function podmanProfile(): Seccomp | undefined {
  const file = '/usr/share/containers/seccomp.json';
  if (!fs.existsSync(file)) return undefined;
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Seccomp & { archMap?: unknown; syscalls: Array<Record<string, unknown>> };
  const syscalls = p.syscalls
    .filter((s) => {
      const inc = (s.includes ?? {}) as { caps?: string[]; arches?: string[] };
      return !inc.caps?.length && (!inc.arches || inc.arches.includes('amd64'));
    })
    .map(({ comment: _c, includes: _i, excludes: _e, ...rest }) => rest);
  const { archMap: _a, ...profile } = p;
  return { ...profile, syscalls } as unknown as Seccomp;
}

const AGENT = path.join(REPO, 'target/release/examples/seccomp_agent');

/** Builds the seccomp agent example unless it is newer than its source. */
function seccompAgent(): string {
  const src = path.join(REPO, 'crates/core/examples/seccomp_agent.rs');
  if (fs.existsSync(AGENT) && fs.statSync(AGENT).mtimeMs >= fs.statSync(src).mtimeMs) return AGENT;
  const r = spawnSync('cargo', ['build', '--release', '--example', 'seccomp_agent', '-p', 'runts-core', '--features', 'libseccomp'], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cargo build --example seccomp_agent failed: ${r.error ?? r.stderr}`);
  return AGENT;
}

describe('linux.seccomp', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  const blockMkdir: Seccomp = {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ARCHES,
    syscalls: [{ names: ['mkdir', 'mkdirat', 'not_a_syscall_anywhere'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
  };
  const script = 'grep ^Seccomp /proc/self/status; mkdir /tmp/d 2>&1; echo "mkdir=$?"; touch /tmp/f && echo touched';

  it('a blocked syscall fails with the profile\'s errno, everything else works, as under runc', opts, (t) => {
    const { ours, runc } = runBoth(t, script, { mutate: withSeccomp(blockMkdir) });
    assert.match(ours, /^Seccomp:\t2$/m);
    assert.match(ours, /mkdir: can't create directory '\/tmp\/d': Permission denied/);
    assert.match(ours, /^mkdir=1$/m);
    assert.match(ours, /^touched$/m);
    assert.equal(ours, runc);
  });

  it('with noNewPrivileges (the filter loaded right before execve) the same', opts, (t) => {
    const { ours, runc } = runBoth(t, `grep ^NoNewPrivs /proc/self/status; ${script}`, { mutate: withSeccomp(blockMkdir, true) });
    assert.match(ours, /^NoNewPrivs:\t1$/m);
    assert.match(ours, /Permission denied/);
    assert.equal(ours, runc);
  });

  it('argument conditions: EQ on kill\'s signal, MASKED_EQ on openat\'s O_CREAT, as under runc', opts, (t) => {
    const filter: Seccomp = {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
        // O_CREAT is 0o100: creating fails with EROFS (a redirection to /dev/null too), opening
        // for reading works.
        { names: ['openat', 'open'], action: 'SCMP_ACT_ERRNO', errnoRet: 30, args: [{ index: 2, value: 64, valueTwo: 64, op: 'SCMP_CMP_MASKED_EQ' }] },
      ],
    };
    const s = [
      'sleep 30 & p=$!',
      'kill -9 $p 2>&1; echo "kill9=$?"',
      'kill -15 $p; echo "kill15=$?"',
      '{ echo x > /tmp/new; } 2>&1; echo "create=$?"',
      'n=$(wc -l < /etc/passwd); echo "read=$?"',
    ].join('; ');
    const { ours, runc } = runBoth(t, s, { mutate: withSeccomp(filter) });
    assert.match(ours, /^kill9=1$/m);
    assert.match(ours, /^kill15=0$/m);
    assert.match(ours, /Read-only file system/);
    assert.match(ours, /^create=1$/m);
    assert.match(ours, /^read=0$/m);
    // runc's init is a Go program whose threads take pids in the container's namespace.
    const pids = (out: string) => out.replace(/pid \d+/g, 'pid N');
    assert.equal(pids(ours), pids(runc));
  });

  it('defaultAction SCMP_ACT_ERRNO with defaultErrnoRet, podman\'s default profile, as under runc', opts, (t) => {
    const profile = podmanProfile();
    if (!profile) return t.skip('no /usr/share/containers/seccomp.json (containers-common)');
    // Its ~400 rules compile and load (defaultAction ERRNO, defaultErrnoRet 38); without
    // CAP_SYS_BOOT it refuses reboot(2); the rest of a shell works.
    const s = 'grep ^Seccomp: /proc/self/status; reboot -f 2>&1; echo "reboot=$?"; ls / | grep -c . >/dev/null && echo listed';
    const { ours, runc } = runBoth(t, s, { mutate: withSeccomp(profile) });
    assert.match(ours, /^Seccomp:\t2$/m);
    assert.match(ours, /^reboot=1$/m);
    assert.match(ours, /^listed$/m);
    assert.equal(ours, runc);
  });

  for (const nnp of [false, true]) {
    it(`SCMP_ACT_NOTIFY: the agent at listenerPath gets the listener and the state, and answers (noNewPrivileges ${nnp}), as under runc`, opts, async (t) => {
      const agent = seccompAgent();
      const seen = [];
      for (const bin of [BIN, requireRunc()]) {
        const ctx = setup(t, { bin, id: undefined });
        const sock = path.join(ctx.dir, 'agent.sock');
        const stateFile = path.join(ctx.dir, 'agent-state.json');
        const child = spawn(agent, [sock, stateFile, '13'], { stdio: 'ignore' });
        t.after(() => child.kill('SIGKILL'));
        await poll('the agent to listen', () => (fs.existsSync(sock) ? true : undefined));
        const spec = JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8')) as Spec;
        shell('mkdir /tmp/d 2>&1; echo "mkdir=$?"; touch /tmp/f && echo touched')(spec);
        withSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: sock, listenerMetadata: 'meta-data', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }] }, nnp)(spec);
        fs.writeFileSync(path.join(ctx.bundle, 'config.json'), JSON.stringify(spec));
        const r = run(ctx);
        assert.equal(r.status, 0, `${bin}: ${r.stderr}`);
        const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { fds: string[]; pid: number; metadata: string; state: { id: string; status: string; pid: number } };
        assert.deepEqual(state.fds, ['seccompFd']);
        assert.equal(state.metadata, 'meta-data');
        assert.equal(state.state.id, ctx.id);
        assert.equal(state.state.pid, state.pid);
        seen.push({ out: r.stdout, status: state.state.status });
      }
      assert.match(seen[0]!.out, /Permission denied/);
      assert.match(seen[0]!.out, /^touched$/m);
      assert.deepEqual(seen[0], seen[1]);
    });
  }

  it('a profile runts cannot apply is refused before anything exists, naming the field', opts, (t) => {
    const cases: Array<[Seccomp, RegExp]> = [
      [{ defaultAction: 'SCMP_ACT_NOPE' }, /linux\.seccomp\.defaultAction: unknown seccomp action \\?"SCMP_ACT_NOPE/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }, /linux\.seccomp\.listenerPath: is required with SCMP_ACT_NOTIFY/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_Z80'] }, /linux\.seccomp\.architectures\[0\]: unknown seccomp architecture \\?"SCMP_ARCH_Z80/],
      [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE'] }, /linux\.seccomp\.flags\[0\]: unknown seccomp flag/],
      [
        { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['kill'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] },
        /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: must be from 0 to 5/,
      ],
    ];
    for (const [seccomp, message] of cases) {
      const ctx = setup(t, { mutate: (spec) => { shell('true')(spec); spec.linux = { ...spec.linux, seccomp }; } });
      const r = run(ctx);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, message);
      assertNothingLeft(ctx);
    }
  });

  it('features reports seccomp as enabled, with its actions, operators, architectures and flags', opts, () => {
    const r = spawnSync(BIN, ['features'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const s = (JSON.parse(r.stdout) as { linux: { seccomp: Record<string, unknown> } }).linux.seccomp;
    assert.equal(s.enabled, true);
    assert.ok((s.actions as string[]).includes('SCMP_ACT_ERRNO') && (s.actions as string[]).includes('SCMP_ACT_NOTIFY'));
    assert.ok((s.operators as string[]).includes('SCMP_CMP_MASKED_EQ'));
    assert.ok((s.archs as string[]).includes('SCMP_ARCH_X86_64'));
    assert.ok((s.knownFlags as string[]).includes('SECCOMP_FILTER_FLAG_LOG'));
  });
});
