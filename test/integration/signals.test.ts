// Exit status, signals and reaping: the runtime must report a killed container
// the way a shell does (128+signal), forward signals it receives to the
// container's init, and leave no process or zombie behind.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Background,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  poll,
  procState,
  processesRootedAt,
  readPidFile,
  requireRunc,
  setup,
  shell,
  startTime,
} from './helpers.ts';
import type { Ctx, RunResult, Spec } from './helpers.ts';
import type { TestContext } from 'node:test';

const opts = { timeout: TEST_TIMEOUT_MS };

async function startWithPidFile(t: TestContext, script: string, bin?: string, mutate?: (s: Spec) => void) {
  const ctx = setup(t, {
    bin,
    mutate: (s) => {
      shell(script)(s);
      mutate?.(s);
    },
  });
  const pidFile = path.join(ctx.dir, 'init.pid');
  const bg = new Background(ctx, { runArgs: ['--pid-file', pidFile] });
  await bg.waitFor('ready');
  const pid = await poll('the pid file', () => readPidFile(pidFile));
  return { ctx, bg, pid };
}

/** Container processes (host pid -> start time) while it runs. */
function snapshot(ctx: Ctx): Map<number, string> {
  const m = new Map<number, string>();
  for (const p of processesRootedAt(ctx.rootfs)) {
    const st = startTime(p);
    if (st !== undefined) m.set(p, st);
  }
  return m;
}

/** Which of the snapshot's processes still exist (alive or zombie). */
function survivors(snap: Map<number, string>): string[] {
  const out: string[] = [];
  for (const [pid, st] of snap) {
    if (startTime(pid) === st) out.push(`${pid} (state ${procState(pid)})`);
  }
  return out;
}

/** Direct children of `pid` (any state). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

describe('run: signals, exit status, reaping', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('exits 137 when the container\'s init is SIGKILLed from outside', opts, async (t) => {
    const { ctx, bg, pid } = await startWithPidFile(t, 'echo ready; exec sleep 100');
    process.kill(pid, 'SIGKILL');
    const r: RunResult = await bg.wait();
    assert.equal(r.signal, null, 'the runtime itself was killed');
    assert.equal(r.status, 137, r.stderr);
    assertNothingLeft(ctx);
  });

  it('exits 128+n when the init dies of another signal (SIGTERM -> 143)', opts, async (t) => {
    // The init of a pid namespace ignores signals it has no handler for, even
    // from an ancestor namespace, except SIGKILL and SIGSTOP (pid_namespaces(7),
    // kernel/signal.c sig_task_ignored): use a container without a pid namespace,
    // whose init is an ordinary process that SIGTERM kills.
    const noPidns = (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid'));
    const { ctx, bg, pid } = await startWithPidFile(t, 'echo ready; exec sleep 100', undefined, noPidns);
    process.kill(pid, 'SIGTERM');
    const r = await bg.wait();
    assert.equal(r.signal, null, 'the runtime itself was killed');
    assert.equal(r.status, 143, r.stderr);
    assertNothingLeft(ctx);
  });

  it('forwards SIGTERM it receives to the container (trap runs, exit 42)', opts, async (t) => {
    const { ctx, bg } = await startWithPidFile(
      t,
      "trap 'echo got-term; exit 42' TERM; echo ready; while true; do sleep 0.1; done",
    );
    process.kill(bg.pid, 'SIGTERM');
    const r = await bg.wait();
    assert.equal(r.signal, null, 'the runtime died of the signal instead of forwarding it');
    assert.equal(r.status, 42, r.stderr);
    assert.match(r.stdout, /got-term/);
    assertNothingLeft(ctx);
  });

  it('forwards other signals too (SIGUSR1, SIGHUP, SIGINT)', opts, async (t) => {
    const script =
      "trap 'echo got-usr1' USR1; trap 'echo got-hup' HUP; trap 'echo got-int; exit 7' INT; " +
      'echo ready; while true; do sleep 0.1; done';
    const { ctx, bg } = await startWithPidFile(t, script);
    process.kill(bg.pid, 'SIGUSR1');
    await bg.waitFor('got-usr1');
    process.kill(bg.pid, 'SIGHUP');
    await bg.waitFor('got-hup');
    process.kill(bg.pid, 'SIGINT');
    const r = await bg.wait();
    assert.equal(r.signal, null);
    assert.equal(r.status, 7, r.stderr);
    assertNothingLeft(ctx);
  });

  it('leaves no process or zombie behind when init exits with children running', opts, async (t) => {
    // A direct child, an orphan (reparented to the container's init) and a
    // grandchild in its own session; init then exits without waiting.
    const script = 'sleep 100 & (sleep 100 &); setsid sleep 100 & echo ready; read x; exit 5';
    const { ctx, bg, pid } = await startWithPidFile(t, script);
    const snap = await poll('the container processes', () => {
      const s = snapshot(ctx);
      return s.size >= 4 ? s : undefined;
    });
    assert.ok(snap.has(pid), 'the pid file does not name a container process');
    bg.write('go\n');
    const r = await bg.wait();
    assert.equal(r.status, 5, r.stderr);
    assert.deepEqual(survivors(snap), [], 'container processes outlived run');
    assert.deepEqual(childrenOf(bg.pid), [], 'processes still parented to the (gone) runtime');
    assertNothingLeft(ctx);
  });

  it('reaps the init: no zombie child of the runtime while it runs or after', opts, async (t) => {
    const { ctx, bg, pid } = await startWithPidFile(t, 'echo ready; read x; exit 0');
    // While running, the runtime's children are alive (init, maybe helpers), none zombie.
    for (const c of childrenOf(bg.pid)) assert.notEqual(procState(c), 'Z', `zombie child ${c} of the runtime`);
    const st = startTime(pid);
    bg.write('go\n');
    const r = await bg.wait();
    assert.equal(r.status, 0, r.stderr);
    assert.notEqual(startTime(pid), st, 'the init is still around (zombie or alive)');
    assertNothingLeft(ctx);
  });

  it('kills the remaining processes when the container shares the host pid namespace, like runc', opts, async (t) => {
    // Without a pid namespace the kernel does not kill the others when init
    // exits; runc kills everything in the container's cgroup (destroy ->
    // signalAllProcesses). runts must not leak them either.
    const noPidns = (s: Spec) => (s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid'));
    for (const bin of [undefined, requireRunc()]) {
      const { ctx, bg } = await startWithPidFile(t, 'sleep 100 & (sleep 100 &); echo ready; read x; exit 0', bin, noPidns);
      const snap = await poll('the container processes', () => {
        const s = snapshot(ctx);
        return s.size >= 3 ? s : undefined;
      });
      bg.write('go\n');
      const r = await bg.wait();
      assert.equal(r.status, 0, `${bin ?? 'runts'}: ${r.stderr}`);
      await poll('the container processes to go', () => (survivors(snap).length === 0 ? true : undefined), 5_000).catch(
        () => assert.fail(`${bin ?? 'BIN'} left ${survivors(snap).join(', ')}`),
      );
      assertNothingLeft(ctx);
    }
  });
});
