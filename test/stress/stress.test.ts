// The stress test: STRESS_LIVES container lives (default 200), STRESS_PARALLEL
// at a time (default 8), each create → start → kill → wait → delete, with
// faults mixed in: the runtime SIGKILLed in the middle of create, two creates
// racing for one id, two starts racing, delete -f of a running container.
//
// Every call is bounded (STRESS_CALL_TIMEOUT_MS, default 20 s) and a call that
// reaches its deadline is SIGKILLed and counted as hung: runc 1.1.5's `start`
// blocks for ever on exec.fifo when the init it should release is gone. After
// the lives, `delete -f` of every id, then nothing may be left: no process in
// (or with its cwd in) the bundles, none with a recorded pid, no runtime-named
// process below our subreaper, no entry under --root, no mount under the
// bundles, no cgroup named after an id (walked under /sys/fs/cgroup/*/).
//
//   RUNTS_BIN=/usr/sbin/runc STRESS_LIVES=50 node --test build/test/stress/stress.test.js
//
// The summary line (`stress: lives=...`) is printed as a test diagnostic.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  BIN,
  MAKE_BUNDLE,
  SKIP_REASON,
  assertBinary,
  callAsync,
  ensureSubreaper,
  lines,
  procStat,
  raceCalls,
  readPidFile,
  sleep,
  startCall,
  subreaperPid,
} from '../integration/helpers.ts';
import type { CallResult, Ctx } from '../integration/helpers.ts';
import { leftoverCgroups, leftoverMounts, leftoverProcesses, leftoverState } from './scan.ts';

ensureSubreaper();

const LIVES = Number(process.env.STRESS_LIVES ?? 200);
const PARALLEL = Number(process.env.STRESS_PARALLEL ?? 8);
const CALL_TIMEOUT_MS = Number(process.env.STRESS_CALL_TIMEOUT_MS ?? 20_000);
/** How long a killed container may take to show as stopped. */
const STOP_TIMEOUT_MS = 10_000;

type Fault = 'none' | 'kill-create' | 'race-create' | 'race-start' | 'delete-running';

/** Deterministic mix: 6 plain lives and one of each fault in every 10. */
function faultOf(life: number): Fault {
  switch (life % 10) {
    case 2:
      return 'kill-create';
    case 4:
      return 'race-create';
    case 6:
      return 'race-start';
    case 8:
      return 'delete-running';
    default:
      return 'none';
  }
}

interface Stats {
  calls: number;
  hung: CallResult[];
  /** Results that no order of the calls explains (e.g. two racing creates both succeeding). */
  anomalies: string[];
  faults: Map<Fault, number>;
  /** Init pids read from pid files, with their start times. */
  recorded: Map<number, string>;
  ids: Set<string>;
  /** How long plain creates took (ms), to aim the kill inside one. */
  createMs: number[];
  kills: number;
}

function errMsg(stderr: string): string {
  const l = lines(stderr).filter((x) => x.trim() !== '');
  const last = l[l.length - 1] ?? '';
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(last);
  return m ? m[1] : last;
}

class LifeOver extends Error {}

/** One life; an unexpected exception (a bug in the test) is an anomaly too,
 * so that the sweep and the leftover checks still run. */
async function life(n: number, ctx: Ctx, stats: Stats): Promise<void> {
  try {
    await lifeSteps(n, ctx, stats);
  } catch (e) {
    if (!(e instanceof LifeOver)) stats.anomalies.push(`life ${n}: ${(e as Error).stack ?? e}`);
  }
}

/** One life of one container in its worker's bundle. */
async function lifeSteps(n: number, ctx: Ctx, stats: Stats): Promise<void> {
  const id = `st-${process.pid}-${n}`;
  const c: Ctx = { ...ctx, id };
  stats.ids.add(id);
  const pidFile = path.join(ctx.dir, `${id}.pid`);
  const fault = faultOf(n);
  stats.faults.set(fault, (stats.faults.get(fault) ?? 0) + 1);

  const note = (r: CallResult) => {
    stats.calls += 1;
    if (r.timedOut) stats.hung.push(r);
    return r;
  };
  const run = async (args: string[]) => note(await callAsync(c, args, { timeoutMs: CALL_TIMEOUT_MS }));
  const race = async (argsList: string[][]) => (await raceCalls(c, argsList, { timeoutMs: CALL_TIMEOUT_MS })).map(note);
  // The first unexplained result ends the life (what follows would only
  // repeat it); the final delete -f sweep cleans up after it. A hung call is
  // counted as hung, not as an anomaly.
  const anomaly = (what: string, rs: CallResult[] = []): never => {
    if (!rs.some((r) => r.timedOut)) {
      const calls = rs.map((r) => `\n    ${r.argv.join(' ')} -> exit ${r.status}${r.signal ? ` (${r.signal})` : ''}: ${errMsg(r.stderr) || '(no message)'}`);
      stats.anomalies.push(`life ${n} (${fault}): ${what}${calls.join('')}`);
    }
    throw new LifeOver();
  };
  const record = () => {
    const pid = readPidFile(pidFile);
    const st = pid === undefined ? undefined : procStat(pid);
    if (pid !== undefined && st) stats.recorded.set(pid, st.startTime);
  };
  const status = async (): Promise<string | undefined> => {
    const r = await run(['state', id]);
    if (r.status !== 0) return undefined;
    try {
      return (JSON.parse(r.stdout) as { status: string }).status;
    } catch {
      return 'unparsable';
    }
  };

  // create
  if (fault === 'kill-create') {
    // SIGKILL the runtime somewhere inside create, then do what an engine
    // does next: try to start, give up, delete -f.
    // The kill lands at a spread of points through a typical create: a
    // fraction (golden-ratio sequence, so evenly spread) of the median
    // duration of the plain creates so far.
    const sorted = [...stats.createMs].sort((a, b) => a - b);
    const typical = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 50;
    const frac = (stats.kills++ * 0.618034) % 1;
    const p = startCall(c, ['create', '-b', ctx.bundle, '--pid-file', pidFile, id], { timeoutMs: CALL_TIMEOUT_MS });
    await sleep(Math.round(frac * typical));
    p.child.kill('SIGKILL');
    note(await p.result);
    record();
    await run(['start', id]);
    const d = await run(['delete', '-f', id]);
    if (d.status !== 0) anomaly('delete -f after a killed create failed', [d]);
    return;
  }
  if (fault === 'race-create') {
    const rs = await race([
      ['create', '-b', ctx.bundle, '--pid-file', pidFile, id],
      ['create', '-b', ctx.bundle, '--pid-file', `${pidFile}.2`, id],
    ]);
    const ok = rs.filter((r) => r.status === 0).length;
    if (ok !== 1) anomaly(`${ok} of two racing creates succeeded`, rs);
    if (rs[0].status !== 0 && fs.existsSync(`${pidFile}.2`)) fs.renameSync(`${pidFile}.2`, pidFile);
    const r2 = rs.find((r) => r.status !== 0);
    if (r2 && !/\bexists\b/.test(errMsg(r2.stderr))) anomaly('the losing create did not say the id exists', [r2]);
  } else {
    const r = await run(['create', '-b', ctx.bundle, '--pid-file', pidFile, id]);
    if (r.status !== 0) anomaly('create failed', [r]);
    stats.createMs.push(r.ms);
  }
  record();

  // start
  if (fault === 'race-start') {
    const rs = await race([['start', id], ['start', id]]);
    const ok = rs.filter((r) => r.status === 0).length;
    if (ok !== 1) anomaly(`${ok} of two racing starts succeeded`, rs);
  } else {
    const r = await run(['start', id]);
    if (r.status !== 0) anomaly('start failed', [r]);
  }

  if (fault === 'delete-running') {
    const st = await status();
    if (st !== 'running') anomaly(`state before delete -f is ${st}`);
    const d = await run(['delete', '-f', id]);
    if (d.status !== 0) anomaly('delete -f of a running container failed', [d]);
    if ((await status()) !== undefined) anomaly('the container still exists after delete -f');
    return;
  }

  // kill, wait, delete
  const k = await run(['kill', id, 'KILL']);
  if (k.status !== 0) anomaly('kill failed', [k]);
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  let st = await status();
  while (st !== 'stopped' && st !== undefined && Date.now() < deadline) {
    await sleep(50);
    st = await status();
  }
  if (st !== 'stopped') anomaly(`not stopped after kill (state ${st})`);
  const d = await run(['delete', id]);
  if (d.status !== 0) anomaly('delete of the stopped container failed', [d]);
}

function killAll(pids: number[]): void {
  for (const p of pids) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** After the checks (pass or fail): kill what is left of the run, unmount,
 * remove its cgroups and its dir, so one bad run does not poison the next. */
async function sweep(dir: string, ids: Set<string>): Promise<void> {
  const rootfses = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((d) => d.startsWith('bundle-')).map((d) => path.join(dir, d, 'rootfs'))
    : [];
  for (let i = 0; i < 20; i++) {
    const left = leftoverProcesses({ dir, rootfses, recorded: new Map(), ancestor: subreaperPid(), self: process.pid }).filter((p) => p.state !== 'Z');
    if (left.length === 0) break;
    killAll(left.map((p) => p.pid));
    await sleep(100);
  }
  for (const m of leftoverMounts(dir).reverse()) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  for (const c of leftoverCgroups(ids)) {
    try {
      fs.rmdirSync(c);
    } catch {
      // still busy
    }
  }
  if (leftoverMounts(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true });
}

describe('stress: container lives with faults', { skip: SKIP_REASON }, () => {
  it(`${LIVES} lives, ${PARALLEL} at a time, leave nothing behind`, { timeout: 15 * 60_000 }, async (t) => {
    assertBinary();
    const t0 = Date.now();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-stress-'));
    fs.chmodSync(dir, 0o755);
    const root = path.join(dir, 'root');
    fs.mkdirSync(root, { mode: 0o700 });
    const ids = new Set<string>();
    t.after(() => sweep(dir, ids));
    // One bundle per worker: the rootfs is read-only, so the worker's lives
    // can share it, and a process in it belongs to that worker.
    const template = path.join(dir, 'template');
    const mk = spawnSync('bash', [MAKE_BUNDLE, template], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const workers: Ctx[] = [];
    for (let w = 0; w < PARALLEL; w++) {
      const bundle = path.join(dir, `bundle-${w}`);
      const cp = spawnSync('cp', ['-a', template, bundle], { encoding: 'utf8' });
      assert.equal(cp.status, 0, cp.stderr);
      const cfg = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
      cfg.process.args = ['sleep', '100'];
      fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(cfg, null, 2));
      workers.push({ bin: BIN, dir: bundle, root, bundle, rootfs: path.join(bundle, 'rootfs'), id: '' });
    }

    const stats: Stats = { calls: 0, hung: [], anomalies: [], faults: new Map(), recorded: new Map(), ids, createMs: [], kills: 0 };
    let next = 0;
    await Promise.all(
      workers.map(async (ctx) => {
        for (let n = next++; n < LIVES; n = next++) await life(n, ctx, stats);
      }),
    );
    const livesDone = Date.now();

    // delete -f of every id, 8 at a time, each bounded like every other call.
    const idList = [...ids];
    let cleanupHung = 0;
    for (let i = 0; i < idList.length; i += PARALLEL) {
      const rs = await Promise.all(idList.slice(i, i + PARALLEL).map((id) => callAsync({ ...workers[0], id }, ['delete', '-f', id], { timeoutMs: CALL_TIMEOUT_MS })));
      cleanupHung += rs.filter((r) => r.timedOut).length;
    }
    // Processes a runtime killed (or delete -f) go once the subreaper has reaped them: wait
    // for that (bounded) rather than for a fixed time; what is still there then is left over.
    const scan = () =>
      leftoverProcesses({
        dir,
        rootfses: workers.map((w) => w.rootfs),
        recorded: stats.recorded,
        ancestor: subreaperPid(),
        self: process.pid,
      });
    let procs = scan();
    for (const reapBy = Date.now() + 10_000; procs.length > 0 && Date.now() < reapBy; procs = scan()) await sleep(50);
    const state = leftoverState(root);
    const mounts = leftoverMounts(dir);
    const cgroups = leftoverCgroups(stats.ids);

    const hungByVerb = new Map<string, number>();
    for (const r of stats.hung) {
      const verb = r.argv.find((a) => ['create', 'start', 'kill', 'delete', 'state'].includes(a)) ?? '?';
      hungByVerb.set(verb, (hungByVerb.get(verb) ?? 0) + 1);
    }
    const summary =
      `stress: lives=${LIVES} parallel=${PARALLEL} calls=${stats.calls} ` +
      `faults=${[...stats.faults].filter(([f]) => f !== 'none').map(([f, k]) => `${f}:${k}`).join(',')} ` +
      `hung=${stats.hung.length}${hungByVerb.size ? ` (${[...hungByVerb].map(([v, k]) => `${v} ${k}`).join(', ')})` : ''} ` +
      `cleanup-hung=${cleanupHung} anomalies=${stats.anomalies.length} ` +
      `leftover processes=${procs.length} state=${state.length} mounts=${mounts.length} cgroups=${cgroups.length} ` +
      `lives-time=${((livesDone - t0) / 1000).toFixed(1)}s total-time=${((Date.now() - t0) / 1000).toFixed(1)}s ` +
      `bin=${BIN}`;
    t.diagnostic(summary);
    const details = [
      ...stats.anomalies.slice(0, 20).map((a) => `anomaly: ${a}`),
      ...stats.hung.slice(0, 10).map((r) => `hung: ${r.argv.join(' ')} (after ${r.ms} ms)`),
      ...procs.map((p) => `process ${p.pid} ${p.comm} state ${p.state}: ${p.why}`),
      ...state.map((s) => {
        let files: string[] = [];
        try {
          files = fs.readdirSync(path.join(root, s));
        } catch {
          // not a directory
        }
        return `state entry: ${path.join(root, s)} (holding: ${files.join(', ') || 'nothing'})`;
      }),
      ...mounts.map((m) => `mount: ${m}`),
      ...cgroups.map((c) => `cgroup: ${c}`),
    ];
    for (const d of details) t.diagnostic(d);

    assert.equal(stats.hung.length + cleanupHung, 0, `${summary}\n${details.join('\n')}`);
    assert.equal(procs.length + state.length + mounts.length + cgroups.length, 0, `${summary}\n${details.join('\n')}`);
    assert.equal(stats.anomalies.length, 0, `${summary}\n${details.join('\n')}`);
  });
});
