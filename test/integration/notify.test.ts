// NOTIFY_SOCKET and LISTEN_FDS for create/start and run, as runc: the container's sd_notify
// READY= relayed to the caller's socket with MAINPID=, `start` returning only once it has
// been, and socket activation's descriptors and variables passed on. Compared with runc.

import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  BIN,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  callRaw,
  describeCall,
  ensureSubreaper,
  poll,
  requireRunc,
  sdNotifyHelper,
  setup,
  shell,
} from './helpers.ts';
import type { Ctx } from './helpers.ts';

ensureSubreaper();
const opts = { timeout: TEST_TIMEOUT_MS };

/** A host socket that prints the first `n` datagrams it gets. */
function listen(t: TestContext, dir: string, n: number): { path: string; lines: () => string[]; proc: ChildProcess } {
  const sock = path.join(dir, 'host.sock');
  let out = '';
  const proc = spawn(sdNotifyHelper(), ['listen', sock, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  t.after(() => proc.kill('SIGKILL'));
  return { path: sock, lines: () => out.split('\n').filter(Boolean), proc };
}

function container(t: TestContext, bin: string, script: string): Ctx {
  const ctx = setup(t, { bin, mutate: (s) => { shell(script)(s); s.process.terminal = false; } });
  fs.copyFileSync(sdNotifyHelper(), path.join(ctx.rootfs, 'sd-notify'));
  fs.chmodSync(path.join(ctx.rootfs, 'sd-notify'), 0o755);
  t.after(() => {
    callRaw(ctx.bin, ['--root', ctx.root, 'delete', '--force', ctx.id]);
  });
  return ctx;
}

function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const pidOf = (ctx: Ctx) => JSON.parse(callRaw(ctx.bin, ['--root', ctx.root, 'state', ctx.id]).stdout).pid as number;

const READY_LATE = 'cat /proc/self/mountinfo | grep -c " /run/notify ro," ; echo "env $NOTIFY_SOCKET"; sleep 0.5; /sd-notify send "READY=1\nSTATUS=up"; exec sleep 100';

describe('NOTIFY_SOCKET and LISTEN_FDS', { skip: SKIP_REASON }, () => {
  it('create + start: start returns once the container\'s READY= is relayed, with MAINPID, as runc', opts, async (t) => {
    assertBinary();
    for (const bin of [BIN, requireRunc()]) {
      const name = path.basename(bin);
      const ctx = container(t, bin, READY_LATE);
      const host = listen(t, ctx.dir, 2);
      const log = path.join(ctx.dir, 'out');
      const outFd = fs.openSync(log, 'w');
      const created = withEnv({ NOTIFY_SOCKET: host.path }, () =>
        spawnSync(bin, ['--root', ctx.root, 'create', '-b', ctx.bundle, ctx.id], { stdio: ['ignore', outFd, outFd], timeout: 20_000 }),
      );
      fs.closeSync(outFd);
      assert.equal(created.status, 0, `${name} create: ${fs.readFileSync(log, 'utf8')}`);
      const started = withEnv({ NOTIFY_SOCKET: host.path }, () => callRaw(bin, ['--root', ctx.root, 'start', ctx.id]));
      assert.equal(started.status, 0, describeCall(started));
      // When start returns, the host has it all (the listener may still be printing).
      await poll(`${name}: two datagrams`, () => (host.lines().length >= 2 ? true : undefined), 2000);
      assert.deepEqual(host.lines(), ['READY=1\\n', `MAINPID=${pidOf(ctx)}\\n`], name);
      const out = fs.readFileSync(log, 'utf8');
      assert.match(out, /^1$/m, `${name}: /run/notify is a read-only mount`);
      assert.match(out, /^env \/run\/notify\/notify\.sock$/m, name);
    }
  });

  it('run -d: returns once READY= is relayed; a container that never sends it does not hold start', opts, async (t) => {
    for (const bin of [BIN, requireRunc()]) {
      const name = path.basename(bin);
      const ctx = container(t, bin, READY_LATE);
      const host = listen(t, ctx.dir, 2);
      const r = withEnv({ NOTIFY_SOCKET: host.path }, () => callRaw(bin, ['--root', ctx.root, 'run', '-d', '-b', ctx.bundle, ctx.id]));
      assert.equal(r.status, 0, describeCall(r));
      await poll(`${name}: two datagrams`, () => (host.lines().length >= 2 ? true : undefined), 2000);
      assert.deepEqual(host.lines(), ['READY=1\\n', `MAINPID=${pidOf(ctx)}\\n`], name);

      // (runc 1.1.5 hangs here: its init stays its zombie child, which it takes for alive.)
      if (bin !== BIN) continue;
      const quiet = container(t, bin, 'sleep 0.3');
      const host2 = listen(t, quiet.dir, 1);
      const q = withEnv({ NOTIFY_SOCKET: host2.path }, () => callRaw(bin, ['--root', quiet.root, 'run', '-d', '-b', quiet.bundle, quiet.id]));
      assert.equal(q.status, 0, `${name}: the init exits without READY=: ${describeCall(q)}`);
      assert.deepEqual(host2.lines(), [], name);
    }
  });

  it('LISTEN_FDS: the descriptors after stdio pass to the process, with LISTEN_FDS and LISTEN_PID=1, as runc', opts, (t) => {
    const seen = [BIN, requireRunc()].map((bin) => {
      const ctx = container(t, bin, 'echo "fds $LISTEN_FDS pid $LISTEN_PID"; echo through-fd-3 >&3');
      const extra = path.join(ctx.dir, 'fd3');
      const fd3 = fs.openSync(extra, 'w');
      const out = path.join(ctx.dir, 'out');
      const outFd = fs.openSync(out, 'w');
      // LISTEN_PID must name the runtime itself (sd_listen_fds(3)): set by a shell that execs it.
      const r = withEnv({ LISTEN_FDS: '1' }, () =>
        spawnSync('sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', bin, '--root', ctx.root, 'run', '-b', ctx.bundle, ctx.id], {
          stdio: ['ignore', outFd, outFd, fd3],
          timeout: 20_000,
        }),
      );
      fs.closeSync(fd3);
      fs.closeSync(outFd);
      assert.equal(r.status, 0, fs.readFileSync(out, 'utf8'));
      assert.equal(fs.readFileSync(extra, 'utf8'), 'through-fd-3\n');
      return fs.readFileSync(out, 'utf8');
    });
    assert.match(seen[0], /^fds 1 pid 1$/m);
    assert.equal(seen[0], seen[1]);
    // Another process's LISTEN_PID: nothing is passed (runc's go-systemd ignores it too).
    const ctx = container(t, BIN, 'echo "fds ${LISTEN_FDS:-none}"; ls /proc/self/fd/3 2>&1 | grep -c "No such"');
    const r = withEnv({ LISTEN_FDS: '1', LISTEN_PID: '1' }, () => callRaw(BIN, ['--root', ctx.root, 'run', '-b', ctx.bundle, ctx.id]));
    assert.equal(r.status, 0, describeCall(r));
    assert.equal(r.stdout, 'fds none\n1\n');
  });
});
