// Racing calls on one container, as engines produce them (a retry that
// overlaps the first attempt, a stop that overlaps a start): the runtime must
// serialise them on the container's lock and end in a state that one of the
// orders would have produced, with no stray init, state dir or mount.
//
// The racing calls are released together through a FIFO barrier
// (helpers.startCallsTogether), so they really overlap. Iterations:
// RACE_ITERATIONS (default 20) for the races that need many tries.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  SKIP_REASON,
  assertBinary,
  assertNothingLeft,
  call,
  callOk,
  cleanupId,
  describeCall,
  ensureSubreaper,
  lines,
  poll,
  procStat,
  processesRootedAt,
  raceCalls,
  readPidFile,
  setup,
  shell,
  stateOf,
  uniqueId,
} from './helpers.ts';
import type { CallResult, Ctx } from './helpers.ts';
import type { TestContext } from 'node:test';

ensureSubreaper();

const ITERATIONS = Number(process.env.RACE_ITERATIONS ?? 20);
/** Racing calls get a shorter deadline than usual: a hung call is a failure
 * either way, and a hang per iteration must not run into the test's budget. */
const CALL_TIMEOUT_MS = 10_000;
const opts = { timeout: 10 * 60_000 };

function errMsg(stderr: string): string {
  const l = lines(stderr).filter((x) => x.trim() !== '');
  const last = l[l.length - 1] ?? '';
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(last);
  return m ? m[1] : last;
}

function show(rs: CallResult[]): string {
  return rs.map(describeCall).join('\n');
}

function gone(pid: number): boolean {
  const st = procStat(pid);
  return st === undefined || st.state === 'Z' || st.state === 'X';
}

/** delete -f, then nothing may be left: no state dir, no mount under the
 * bundle, no process in the rootfs, no cgroup named after the id. */
async function finish(ctx: Ctx, id: string = ctx.id): Promise<void> {
  const r = call(ctx, ['delete', '-f', id]);
  assert.equal(r.status, 0, describeCall(r));
  // delete -f waits for the init to die; give a zombie's reaping a moment.
  await poll('the container processes to be gone', () => (processesRootedAt(ctx.rootfs).length === 0 ? true : undefined), 5_000).catch(() => {});
  assertNothingLeft({ ...ctx, id });
}

/**
 * Runs `rounds` iterations of a race and records what went wrong in each
 * instead of stopping at the first: the summary (how often each outcome
 * happened, how many calls hung) is what tells a rare race from a broken one.
 * Every iteration ends with finish(), whose leaks are problems too.
 */
async function iterate(
  t: TestContext,
  what: string,
  rounds: number,
  body: (i: number, hung: (rs: CallResult[]) => void) => Promise<{ ctx: Ctx; outcome?: string }>,
): Promise<void> {
  const problems: string[] = [];
  const outcomes = new Map<string, number>();
  let hungCalls = 0;
  for (let i = 0; i < rounds; i++) {
    let ctx: Ctx | undefined;
    const hung = (rs: CallResult[]) => {
      const h = rs.filter((r) => r.timedOut);
      hungCalls += h.length;
      assert.equal(h.length, 0, `calls hung (killed after ${CALL_TIMEOUT_MS} ms):\n${show(h)}`);
    };
    try {
      const r = await body(i, hung);
      ctx = r.ctx;
      if (r.outcome) outcomes.set(r.outcome, (outcomes.get(r.outcome) ?? 0) + 1);
    } catch (e) {
      problems.push(`iteration ${i}: ${(e as Error).message}`);
      outcomes.set('failed', (outcomes.get('failed') ?? 0) + 1);
      ctx = (e as { ctx?: Ctx }).ctx;
    }
    if (ctx) {
      try {
        await finish(ctx);
      } catch (e) {
        problems.push(`iteration ${i}, after delete -f: ${(e as Error).message}`);
      }
    }
  }
  const summary = `${what}: ${rounds} iterations, ${[...outcomes].map(([k, v]) => `${k} ${v}`).join(', ')}; hung calls ${hungCalls}; problems ${problems.length}`;
  t.diagnostic(summary);
  assert.equal(problems.length, 0, `${summary}\n${problems.slice(0, 5).join('\n\n')}${problems.length > 5 ? '\n...' : ''}`);
}

/** Runs `fn`; a failure carries `ctx` along so iterate() can still clean up. */
async function withCtx<T>(ctx: Ctx, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    (e as { ctx?: Ctx }).ctx = ctx;
    throw e;
  }
}

function sleeper(t: TestContext): Ctx {
  return setup(t, { mutate: shell('sleep 100') });
}

describe('concurrency: racing calls on one container', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('five concurrent creates of one id: exactly one succeeds, one container exists', opts, (t) =>
    iterate(t, 'five creates', Math.max(1, Math.ceil(ITERATIONS / 4)), async (_i, hung) => {
      const ctx = sleeper(t);
      return withCtx(ctx, async () => {
        const pidFiles = [0, 1, 2, 3, 4].map((n) => path.join(ctx.dir, `pid${n}`));
        const rs = await raceCalls(ctx, pidFiles.map((p) => ['create', '-b', ctx.bundle, '--pid-file', p, ctx.id]), { timeoutMs: CALL_TIMEOUT_MS });
        hung(rs);
        const ok = rs.filter((r) => r.status === 0);
        assert.equal(ok.length, 1, `${ok.length} creates succeeded:\n${show(rs)}`);
        for (const r of rs.filter((x) => x.status !== 0)) {
          assert.equal(r.status, 1, describeCall(r));
          // runc: "container with given ID already exists"
          assert.match(errMsg(r.stderr), /\bexists\b/, describeCall(r));
        }
        // One container: listed once, created, its init the only process in
        // the rootfs, its pid the one the winner wrote.
        assert.equal(callOk(ctx, ['list', '-q']), `${ctx.id}\n`, `list after the race; the calls were:\n${show(rs)}`);
        const st = stateOf(ctx);
        assert.equal(st?.status, 'created', `state ${JSON.stringify(st)}`);
        assert.equal(st?.pid, readPidFile(pidFiles[rs.indexOf(ok[0])]), "state pid vs the winner's pid file");
        assert.deepEqual(processesRootedAt(ctx.rootfs), [st!.pid], 'processes in the rootfs');
        // ...and it works.
        const s = call(ctx, ['start', ctx.id], { timeoutMs: CALL_TIMEOUT_MS });
        assert.equal(s.status, 0, describeCall(s));
        assert.equal(stateOf(ctx)?.status, 'running');
        return { ctx, outcome: 'ok' };
      });
    }),
  );

  it('delete racing start: one wins, the end is consistent, nothing leaks', opts, (t) =>
    iterate(t, 'delete vs start', ITERATIONS, async (_i, hung) => {
      const ctx = sleeper(t);
      return withCtx(ctx, async () => {
        const pidFile = path.join(ctx.dir, 'pid');
        callOk(ctx, ['create', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]);
        const pid = readPidFile(pidFile)!;
        const both = await raceCalls(ctx, [['start', ctx.id], ['delete', ctx.id]], { timeoutMs: CALL_TIMEOUT_MS });
        const [start, del] = both;
        hung(both);
        const st = stateOf(ctx);
        if (start.status === 0) {
          // start first: delete (no -f) must refuse a running container.
          assert.equal(del.status, 1, `start won but delete answered:\n${show(both)}`);
          assert.equal(st?.status, 'running', `start won, state ${JSON.stringify(st)}\n${show(both)}`);
          assert.ok(!gone(pid), `start won but the init ${pid} is gone`);
          return { ctx, outcome: 'start won' };
        }
        // delete first: start finds nothing.
        assert.equal(del.status, 0, `neither call succeeded:\n${show(both)}`);
        assert.equal(start.status, 1, describeCall(start));
        assert.match(errMsg(start.stderr), /does not exist/, `delete won, start said:\n${describeCall(start)}`);
        assert.equal(st, undefined, `delete won but state says ${JSON.stringify(st)}`);
        await poll(`init ${pid} to die`, () => (gone(pid) ? true : undefined), 5_000);
        return { ctx, outcome: 'delete won' };
      });
    }),
  );

  it('two starts racing: exactly one succeeds, the process runs once', opts, (t) =>
    iterate(t, 'start vs start', Math.max(1, Math.ceil(ITERATIONS / 2)), async (_i, hung) => {
      const ctx = setup(t, {
        mutate: (s) => {
          shell('echo x >> /tmp/runs; sleep 100')(s);
          s.root.readonly = false;
        },
      });
      return withCtx(ctx, async () => {
        callOk(ctx, ['create', '-b', ctx.bundle, ctx.id]);
        const rs = await raceCalls(ctx, [['start', ctx.id], ['start', ctx.id]], { timeoutMs: CALL_TIMEOUT_MS });
        hung(rs);
        const ok = rs.filter((r) => r.status === 0);
        assert.equal(ok.length, 1, `${ok.length} starts succeeded:\n${show(rs)}`);
        const loser = rs.find((r) => r.status !== 0)!;
        assert.equal(loser.status, 1, describeCall(loser));
        assert.equal(stateOf(ctx)?.status, 'running');
        const runs = path.join(ctx.rootfs, 'tmp/runs');
        await poll('the process to run', () => (fs.existsSync(runs) ? true : undefined));
        assert.equal(fs.readFileSync(runs, 'utf8'), 'x\n', 'the process ran more than once');
        return { ctx, outcome: 'ok' };
      });
    }),
  );

  it('creates of different ids racing in one --root all succeed', opts, async (t) => {
    const ctx = sleeper(t);
    const ids = [0, 1, 2, 3, 4].map(() => uniqueId('par'));
    for (const id of ids) t.after(() => cleanupId(ctx, id));
    const rs = await raceCalls(ctx, ids.map((id) => ['create', '-b', ctx.bundle, id]), { timeoutMs: CALL_TIMEOUT_MS });
    for (const r of rs) assert.ok(r.status === 0 && !r.timedOut, describeCall(r));
    assert.equal(callOk(ctx, ['list', '-q']), [...ids].sort().map((id) => `${id}\n`).join(''));
    const dels = await raceCalls(ctx, ids.map((id) => ['delete', '-f', id]), { timeoutMs: CALL_TIMEOUT_MS });
    for (const r of dels) assert.ok(r.status === 0 && !r.timedOut, describeCall(r));
    await poll('the container processes to be gone', () => (processesRootedAt(ctx.rootfs).length === 0 ? true : undefined), 5_000).catch(() => {});
    for (const id of ids) assertNothingLeft({ ...ctx, id });
  });
});
