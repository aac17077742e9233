// `exec`: a process in a running container, checked from inside it and compared with runc
// on the same bundle (namespaces, cgroups, credentials, capabilities, environment, seccomp,
// exit statuses, errors, --process files, detached runs, --cgroup, paused containers).

import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import {
  BIN,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  call,
  callOk,
  describeCall,
  ensureSubreaper,
  lastLine,
  poll,
  procState,
  readPidFile,
  requireRunc,
  setup,
  shell,
} from './helpers.ts';
import type { Ctx, Spec } from './helpers.ts';

ensureSubreaper();
const opts = { timeout: TEST_TIMEOUT_MS };

/** A running container under `bin` (sleeping), its init's pid, deleted after the test. */
function running(t: TestContext, bin: string, mutate?: (s: Spec) => void): { ctx: Ctx; pid: number } {
  const ctx = setup(t, {
    bin,
    mutate: (s) => {
      shell('exec sleep 1000')(s);
      s.process.terminal = false;
      mutate?.(s);
    },
  });
  const pidFile = path.join(ctx.dir, 'init.pid');
  const r = call(ctx, ['run', '-d', '--pid-file', pidFile, '-b', ctx.bundle, ctx.id]);
  assert.equal(r.status, 0, describeCall(r));
  const pid = readPidFile(pidFile);
  assert.ok(pid, 'no init pid');
  t.after(() => {
    call(ctx, ['delete', '--force', ctx.id]);
  });
  return { ctx, pid };
}

/** The same running container under runts and runc. */
function both(t: TestContext, mutate?: (s: Spec) => void): Array<{ name: string; ctx: Ctx; pid: number }> {
  return [
    { name: 'runts', ...running(t, BIN, mutate) },
    { name: 'runc', ...running(t, requireRunc(), mutate) },
  ];
}

const exec = (ctx: Ctx, args: string[]) => call(ctx, ['exec', ...args]);

describe('exec', { skip: SKIP_REASON }, () => {
  it('joins every namespace and cgroup of the init, with the credentials, capabilities and environment runc gives', opts, (t) => {
    assertBinary();
    const seen = both(t).map(({ name, ctx, pid }) => {
      const script = 'for n in cgroup ipc mnt net pid uts user; do echo "$n $(readlink /proc/self/ns/$n) $(readlink /proc/1/ns/$n)"; done;'
        + ' echo "self $$"; grep -E "^(Cap|NoNewPrivs|Seccomp|Groups|Uid|Gid)" /proc/self/status; env | sort; pwd; ulimit -n; cat /proc/self/cgroup';
      const r = exec(ctx, [ctx.id, 'sh', '-c', script]);
      assert.equal(r.status, 0, describeCall(r));
      for (const l of r.stdout.split('\n').filter((x) => /^(cgroup|ipc|mnt|net|pid|uts|user) /.test(x))) {
        const [ns, mine, init] = l.split(' ');
        assert.equal(mine, init, `${name}: the ${ns} namespace is the init's`);
      }
      // The host's view of the exec'd process's cgroups is the init's.
      const ownCgroup = r.stdout.split('\n').filter((l) => /^\d+:/.test(l));
      assert.deepEqual(ownCgroup, fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n'), `${name}: cgroups`);
      // Not pid 1, and numbered in the container's pid namespace.
      assert.match(r.stdout, /^self ([2-9]|\d\d+)$/m);
      return r.stdout.replace(/^self \d+$/m, '').split('\n').filter((l) => !/^\d+:/.test(l) && !/^(cgroup|ipc|mnt|net|pid|uts|user) /.test(l)).join('\n');
    });
    assert.equal(seen[0], seen[1], 'what runts and runc give the exec\'d process');
  });

  it('the flags: user and groups, cwd, env, tty, capabilities, no-new-privs, as runc', opts, (t) => {
    const cases: string[][] = [
      ['-u', '1000:1000', '-g', '5', '-g', '7', '--cwd', '/tmp', '-e', 'A=b', '-e', 'PATH=/bin'],
      ['--user', '65534', '--env=HOME=/x'],
      // (runc 1.1's flag parser refuses -c beside --cap: "Cannot use two forms of the same flag".)
      ['--cap', 'CAP_SYS_ADMIN', '--cap', 'CAP_NET_RAW'],
      ['-c', 'CAP_SYS_ADMIN'],
    ];
    const out = both(t, (s) => {
      s.process.noNewPrivileges = false;
    }).map(({ ctx }) =>
      cases.map((flags) => {
        const r = exec(ctx, [...flags, ctx.id, 'sh', '-c', 'id; pwd; env | sort; grep -E "^(Cap|NoNewPrivs)" /proc/self/status']);
        assert.equal(r.status, 0, describeCall(r));
        return r.stdout;
      }),
    );
    assert.deepEqual(out[0], out[1]);
    const { ctx } = running(t, BIN);
    const nnp = callOk(ctx, ['exec', '--no-new-privs', ctx.id, 'grep', 'NoNewPrivs', '/proc/self/status']);
    assert.match(nnp, /NoNewPrivs:\t1/);
    // --tty without a console socket: runts allocates a pty in the container and proxies it
    // (runc would need a terminal on its own stdin for that).
    const tty = exec(ctx, ['-t', ctx.id, 'sh', '-c', 'tty; test -t 0 && echo in-a-tty']);
    assert.equal(tty.status, 0, describeCall(tty));
    assert.match(tty.stdout, /^\/dev\/pts\/\d+\r?$/m);
    assert.match(tty.stdout, /in-a-tty/);
  });

  it('exit statuses: the process\'s, 128+signal, and 255 when the exec itself fails, as runc', opts, (t) => {
    for (const { name, ctx } of both(t)) {
      assert.equal(exec(ctx, [ctx.id, 'true']).status, 0, name);
      assert.equal(exec(ctx, [ctx.id, 'sh', '-c', 'exit 3']).status, 3, name);
      assert.equal(exec(ctx, [ctx.id, 'sh', '-c', 'kill -9 $$']).status, 137, name);
      const missing = exec(ctx, [ctx.id, 'no-such-binary']);
      assert.equal(missing.status, 255, `${name}: ${describeCall(missing)}`);
      assert.match(lastLine(missing.stderr), /no-such-binary.*executable file not found in \$PATH/, name);
      const user = exec(ctx, ['-u', 'x', ctx.id, 'id']);
      assert.equal(user.status, 255, name);
      assert.match(user.stderr, /parsing x as int for uid failed/, name);
      const none = exec(ctx, ['no-such-container', 'true']);
      assert.equal(none.status, 255, name);
      assert.match(lastLine(none.stderr), /does not exist/, name);
    }
  });

  it('refuses a paused container without --ignore-paused, with runc\'s words; with it, the process runs once thawed', opts, async (t) => {
    for (const { name, ctx } of both(t)) {
      assert.equal(call(ctx, ['pause', ctx.id]).status, 0, name);
      const paused = exec(ctx, [ctx.id, 'true']);
      assert.equal(paused.status, 255, name);
      assert.match(lastLine(paused.stderr), /cannot exec in a paused container \(use --ignore-paused to override\)/, name);
      // Started while frozen, it runs once thawed.
      const p = spawn(ctx.bin, ['--root', ctx.root, 'exec', '--ignore-paused', ctx.id, 'sh', '-c', 'exit 4'], { stdio: 'ignore' });
      const done = new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
      assert.equal(call(ctx, ['resume', ctx.id]).status, 0, name);
      assert.equal(await done, 4, name);
    }
  });

  it('a stopped container: "cannot exec in a stopped container"', opts, async (t) => {
    for (const { name, ctx, pid } of both(t)) {
      callOk(ctx, ['kill', ctx.id, 'KILL']);
      await poll(`${name} init gone`, () => (procState(pid) === undefined || procState(pid) === 'Z' ? true : undefined));
      const r = exec(ctx, [ctx.id, 'true']);
      assert.equal(r.status, 255, `${name}: ${describeCall(r)}`);
      assert.match(lastLine(r.stderr), /cannot exec in a stopped container/, name);
    }
  });

  it('--detach with --pid-file: returns once the process runs; it is in the container, reparented to the caller', opts, async (t) => {
    for (const { name, ctx, pid } of both(t)) {
      const pidFile = path.join(ctx.dir, 'exec.pid');
      const r = exec(ctx, ['--detach', '--pid-file', pidFile, ctx.id, 'sleep', '100']);
      assert.equal(r.status, 0, `${name}: ${describeCall(r)}`);
      const p = readPidFile(pidFile);
      assert.ok(p, name);
      assert.equal(fs.readlinkSync(`/proc/${p}/ns/pid`), fs.readlinkSync(`/proc/${pid}/ns/pid`), name);
      const cmdline = () => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      // runts returns once the process has exec'd; runc 1.1 may return while its setns init is
      // still on its way to execve (seen in CI: '/usr/sbin/runc init'), so runc is given time.
      if (name === 'runc') await poll('runc exec -d process exec\'d', () => (cmdline()[0] === 'sleep' ? true : undefined));
      assert.deepEqual(cmdline(), ['sleep', '100', ''], name);
      process.kill(p, 'SIGKILL');
    }
  });

  it('--process FILE: the process as written; what it leaves out comes from the container; every problem named', opts, (t) => {
    const out = both(t).map(({ name, ctx }) => {
      const file = path.join(ctx.dir, 'process.json');
      fs.writeFileSync(file, JSON.stringify({ args: ['sh', '-c', 'id; pwd; env; grep -E "^Cap(Eff|Bnd)" /proc/self/status'], cwd: '/etc', env: ['X=1', 'PATH=/bin'], user: { uid: 2, gid: 3 } }));
      const r = exec(ctx, ['--process', file, ctx.id]);
      assert.equal(r.status, 0, `${name}: ${describeCall(r)}`);
      fs.writeFileSync(file, JSON.stringify({ args: [], cwd: 'relative' }));
      const bad = exec(ctx, ['-p', file, ctx.id]);
      assert.equal(bad.status, 255, name);
      if (name === 'runts') {
        assert.match(bad.stderr, /process\.args.*must not be empty/);
        assert.match(bad.stderr, /process\.cwd.*absolute/);
      }
      return r.stdout;
    });
    assert.equal(out[0], out[1]);
  });

  it('the container\'s seccomp filter applies to the exec\'d process, as with runc', opts, (t) => {
    const filter = (s: Spec) => {
      s.linux = {
        ...s.linux,
        seccomp: { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['mkdirat', 'mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] },
      };
    };
    const out = both(t, filter).map(({ name, ctx }) => {
      const r = exec(ctx, [ctx.id, 'sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; echo $?']);
      assert.equal(r.status, 0, `${name}: ${describeCall(r)}`);
      return r.stdout;
    });
    assert.match(out[0], /^Seccomp:\t2$/m);
    assert.match(out[0], /Operation not permitted/);
    assert.equal(out[0], out[1]);
  });

  it('--cgroup: the process enters a sub-cgroup of the container\'s', opts, (t) => {
    const out = both(t).map(({ name, ctx, pid }) => {
      const pids = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /^\d+:pids:/.test(l));
      if (!pids) {
        t.skip('no v1 pids hierarchy');
        return '';
      }
      const dir = path.join('/sys/fs/cgroup/pids', pids.split(':')[2], 'sub');
      fs.mkdirSync(dir, { recursive: true });
      t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
      const r = exec(ctx, ['--cgroup', 'pids:sub', ctx.id, 'sh', '-c', 'grep :pids: /proc/self/cgroup']);
      assert.equal(r.status, 0, `${name}: ${describeCall(r)}`);
      assert.match(r.stdout, /:pids:.*\/sub$/m, name);
      return r.stdout.replace(ctx.id, 'ID');
    });
    assert.equal(out[0], out[1]);
  });

  it('the cgroup v2 hierarchy (this host\'s unified one) is joined at birth (CLONE_INTO_CGROUP); the v1 ones by cgroup.procs', opts, (t) => {
    const unified = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => / - cgroup2 /.test(l));
    if (!unified) {
      t.skip('no cgroup2 mount on this host (pure v1): nothing is joined by CLONE_INTO_CGROUP');
      return;
    }
    for (const userns of [false, true]) {
      const { ctx, pid } = running(t, BIN, userns ? (s) => {
        s.linux = {
          ...s.linux,
          namespaces: [...(s.linux?.namespaces ?? []).filter((n) => n.type !== 'user'), { type: 'user' }],
          uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
          gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        };
      } : undefined);
      const r = call(ctx, ['--debug', 'exec', ctx.id, 'cat', '/proc/self/cgroup']);
      assert.equal(r.status, 0, describeCall(r));
      assert.match(r.stderr, /level=debug msg="cgroup \S+: spawned into it \(CLONE_INTO_CGROUP\)"/, `userns ${userns}`);
      // Every hierarchy's line as the init's (the container has no cgroup namespace here).
      assert.equal(r.stdout, fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8'), `userns ${userns}`);
    }
  });

  it('a user-namespaced container: the exec\'d process is in its user namespace, mapped as the init', opts, (t) => {
    const userns = (s: Spec) => {
      s.linux = {
        ...s.linux,
        namespaces: [...(s.linux?.namespaces ?? []).filter((n) => n.type !== 'user'), { type: 'user' }],
        uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
        gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
      };
    };
    const out = both(t, userns).map(({ name, ctx, pid }) => {
      const r = exec(ctx, [ctx.id, 'sh', '-c', 'cat /proc/self/uid_map; id -u; readlink /proc/self/ns/user']);
      assert.equal(r.status, 0, `${name}: ${describeCall(r)}`);
      assert.match(r.stdout, new RegExp(fs.readlinkSync(`/proc/${pid}/ns/user`).replace(/[[\]]/g, '\\$&')), name);
      return r.stdout.split('\n').slice(0, 2).join('\n');
    });
    assert.equal(out[0], out[1]);
  });

  it('forwards signals to the process in the foreground; nothing is left once it exits', opts, async (t) => {
    const { ctx } = running(t, BIN);
    const p = spawn(BIN, ['--root', ctx.root, 'exec', ctx.id, 'sh', '-c', 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let outText = '';
    p.stdout.on('data', (d: Buffer) => (outText += d.toString()));
    const done = new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
    await poll('ready', () => (outText.includes('ready') ? true : undefined));
    p.kill('SIGTERM');
    assert.equal(await done, 7);
    assert.match(outText, /got-term/);
    callOk(ctx, ['delete', '--force', ctx.id]);
    assertNothingLeft(ctx);
  });

  it('exec while the container is deleted: the process dies with it (137), as runc; a racing exec fails or is killed; nothing is left', opts, async (t) => {
    for (const { name, ctx } of both(t)) {
      const p = spawn(ctx.bin, ['--root', ctx.root, 'exec', ctx.id, 'sh', '-c', 'echo ready; exec sleep 1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const done = new Promise<number | null>((resolve) => p.on('exit', (c, sig) => resolve(c ?? (sig ? -1 : null))));
      await poll(`${name} exec ready`, () => (out.includes('ready') ? true : undefined));
      callOk(ctx, ['delete', '--force', ctx.id]);
      assert.equal(await done, 137, `${name}: the exec'd process is killed with the container`);
      assertNothingLeft(ctx);
    }
    // An exec racing a delete --force: it runs and is killed, or is refused with runc's words;
    // either way the runtime exits and leaves nothing behind.
    for (let i = 0; i < 5; i++) {
      const { ctx } = running(t, BIN);
      const p = spawn(BIN, ['--root', ctx.root, 'exec', ctx.id, 'sleep', '1000'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const done = new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
      await new Promise((r) => setTimeout(r, i * 4));
      callOk(ctx, ['delete', '--force', ctx.id]);
      const status = await done;
      if (status === 255) assert.match(lastLine(err), /does not exist|stopped container|container not running|no such process|exec/, err);
      else assert.equal(status, 137, `exec racing delete: status ${status}: ${err}`);
      assertNothingLeft(ctx);
    }
  });
});
