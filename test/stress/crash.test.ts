// Fault injection: `create` SIGKILLed at random instants, then `delete --force`, then nothing
// may be left (issue 8: a create killed inside its write of cgroup.json left an empty file,
// and `delete -f` failed on it for good).
//
// 1. Killed creates. A few whole creates first measure how long one takes; then
//    CRASH_ITERATIONS (default 1000) creates of one busybox bundle, each SIGKILLed after a
//    random delay spread over 0..1.2x that duration (so some finish first). After each kill:
//    every init the killed runtime left must die by itself (PR_SET_PDEATHSIG until it is
//    Ready, EOF on the sync socket after that), unless create had already released it to wait
//    on exec.fifo (then it is a created container, which delete -f kills); `state` of the
//    half-made container fails with a message naming state.json (or succeeds, once the state
//    is recorded) and `list` succeeds; then `delete --force` succeeds and leaves no state
//    directory, no process rooted in the rootfs, no runtime process below our subreaper, no
//    cgroup named after the id, no mount under the bundle, and `state` says "container does
//    not exist". The summary counts the kills that landed before and after the state was
//    recorded, and those that found an init alive.
// 2. Damaged records. A whole created container (init waiting in its cgroup) whose records
//    are then damaged as a crash or an older runts leaves them (empty, cut short, missing,
//    a temporary file left): `state` names the file, `list` skips it, `delete --force` still
//    kills the init and removes the cgroup and the directory.
//
//   CRASH_ITERATIONS=200 CRASH_SEED=42 RUNTS_BIN=/tmp/x/runts node --test build/test/stress/crash.test.js
//
// The delays come from a seeded generator: the seed is printed, CRASH_SEED replays a run.

import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
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
  call,
  callAsync,
  cgroupDirsFor,
  ensureSubreaper,
  lines,
  mountsUnder,
  procStat,
  processesRootedAt,
  sleep,
  startCall,
  subreaperPid,
} from '../integration/helpers.ts';
import type { CallResult, Ctx } from '../integration/helpers.ts';

ensureSubreaper();

const ITERATIONS = Number(process.env.CRASH_ITERATIONS ?? 1000);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);
const CALL_TIMEOUT_MS = 20_000;
/** How long a killed runtime's init may take to die (or to reach exec.fifo). */
const SETTLE_MS = 5_000;
/** Stop after this many failing iterations: the first ones say it all. */
const MAX_FAILURES = 10;

/** mulberry32: a small seeded PRNG, so that a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Sleeps `ms` (fractions too) without a timer's millisecond rounding: a futex wait. */
const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepExact(ms: number): void {
  if (ms > 0) Atomics.wait(sleeper, 0, 0, ms);
}

/** The message of the last stderr line (runc's logfmt `msg="..."`, or the plain line). */
function lastMsg(stderr: string): string {
  const l = lines(stderr).filter((x) => x.trim() !== '');
  const last = l[l.length - 1] ?? '';
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(last);
  return m ? m[1].replace(/\\(.)/g, '$1') : last;
}

function describeCall(r: CallResult): string {
  return `\`${r.argv.join(' ')}\` -> status ${r.status}${r.signal ? ` (${r.signal})` : ''}${r.timedOut ? ' (timed out)' : ''}: ${lastMsg(r.stderr) || '(no message)'}`;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function wholeJson(file: string): boolean {
  try {
    JSON.parse(fs.readFileSync(file, 'utf8'));
    return true;
  } catch {
    return false;
  }
}

/** The children of every thread of `pid` (/proc/<pid>/task/<tid>/children, proc(5)). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    for (const c of (readText(`/proc/${pid}/task/${t}/children`) ?? '').split(' ')) if (c) out.push(Number(c));
  }
  return out;
}

interface Proc {
  pid: number;
  comm: string;
  state: string;
  wchan: string;
}

function procInfo(pid: number): Proc | undefined {
  const st = procStat(pid);
  if (!st) return undefined;
  return { pid, comm: readText(`/proc/${pid}/comm`) ?? '?', state: st.state, wchan: readText(`/proc/${pid}/wchan`) ?? '?' };
}

const describeProc = (p: Proc) => `${p.pid} ${p.comm} (state ${p.state}, wchan ${p.wchan})`;

/** Whether `pid` is this process or one of its ancestors. */
function isOurAncestor(pid: number): boolean {
  for (let p = process.pid, n = 0; p > 1 && n < 64; n++) {
    if (p === pid) return true;
    const st = procStat(p);
    if (!st) return false;
    p = st.ppid;
  }
  return false;
}

/**
 * What the runtime left running below our subreaper (where a dead runtime's children go):
 * its children named like it (stage 1, the init, or a fork that has not named itself yet),
 * not zombies, not our own ancestors.
 */
function orphans(): Proc[] {
  const reaper = subreaperPid();
  if (reaper === undefined) throw new Error('no subreaper above the test (ensureSubreaper)');
  const name = path.basename(BIN).slice(0, 15);
  const out: Proc[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid || procStat(pid)?.ppid !== reaper || isOurAncestor(pid)) continue;
    const p = procInfo(pid);
    if (p && p.state !== 'Z' && p.state !== 'X' && p.comm.startsWith(name)) out.push(p);
  }
  return out;
}

/** An init that create released: blocked opening exec.fifo for writing until `start`. */
const waitsOnFifo = (p: Proc) => p.wchan === 'wait_for_partner';

/** What an id left: each entry is a problem. */
function leftovers(ctx: Ctx, id: string): string[] {
  const problems: string[] = [];
  const entries = fs.existsSync(ctx.root) ? fs.readdirSync(ctx.root) : [];
  if (entries.length) {
    const files = fs.existsSync(path.join(ctx.root, id)) ? fs.readdirSync(path.join(ctx.root, id)) : [];
    problems.push(`state left under --root: ${entries.join(', ')}${files.length ? ` (${id} holds ${files.join(', ')})` : ''}`);
  }
  const procs = processesRootedAt(ctx.rootfs);
  if (procs.length) problems.push(`processes rooted in the rootfs: ${procs.join(', ')}`);
  const orph = orphans();
  if (orph.length) problems.push(`runtime processes below the subreaper: ${orph.map(describeProc).join('; ')}`);
  const cgs = cgroupDirsFor(id).filter((d) => fs.existsSync(d));
  if (cgs.length) problems.push(`cgroups left: ${cgs.join(', ')}`);
  const mounts = mountsUnder(ctx.dir);
  if (mounts.length) problems.push(`mounts left: ${mounts.map((m) => m.mountPoint).join(', ')}`);
  return problems;
}

/** After a failed iteration (or the test): remove by hand what the runtime did not. */
async function scrub(ctx: Ctx, ids: Iterable<string>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const left = [...processesRootedAt(ctx.rootfs), ...orphans().map((p) => p.pid)];
    if (!left.length) break;
    for (const p of left) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await sleep(20);
  }
  for (const m of mountsUnder(ctx.dir).reverse()) spawnSync('umount', ['-l', m.mountPoint], { stdio: 'ignore' });
  for (const id of ids) {
    for (const d of cgroupDirsFor(id)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // absent, or busy
      }
    }
    fs.rmSync(path.join(ctx.root, id), { recursive: true, force: true });
  }
}

/** After delete -f: nothing left, and `state` says the container does not exist. */
async function checkDeleted(ctx: Ctx, id: string): Promise<string[]> {
  // Killed processes may need a moment to be reaped by the subreaper.
  let problems = leftovers(ctx, id);
  for (let i = 0; problems.length && i < 20; i++) {
    await sleep(25);
    problems = leftovers(ctx, id);
  }
  const st = await callAsync({ ...ctx, id }, ['state', id], { timeoutMs: CALL_TIMEOUT_MS });
  if (st.status === 0 || lastMsg(st.stderr) !== 'container does not exist') {
    problems.push(`after delete -f, ${describeCall(st)}`);
  }
  return problems;
}

/** Every id the tests used: the cleanup removes their cgroups even when their state is gone. */
const usedIds = new Set<string>();

/** A temp dir with --root and a busybox bundle whose process would be `sleep 100`. */
function world(t: TestContext, name: string): Ctx {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `runts-crash-${name}-`));
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, 'root');
  const bundle = path.join(dir, 'bundle');
  fs.mkdirSync(root, { mode: 0o700 });
  const mk = spawnSync('bash', [MAKE_BUNDLE, bundle], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(mk.status, 0, mk.stderr);
  const cfgFile = path.join(bundle, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8')) as { process: { args: string[] } };
  cfg.process.args = ['sleep', '100'];
  fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2));
  const ctx: Ctx = { bin: BIN, dir, root, bundle, rootfs: path.join(bundle, 'rootfs'), id: '' };
  t.after(async () => {
    for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) {
      spawnSync(BIN, ['--root', root, 'delete', '--force', id], { stdio: 'ignore', timeout: 10_000 });
    }
    await scrub(ctx, usedIds);
    if (mountsUnder(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true });
  });
  return ctx;
}

type Phase = 'before-claim' | 'before-state' | 'after-state' | 'completed';

describe('crash: create killed at any instant, then delete --force', { skip: SKIP_REASON }, () => {
  it(`${ITERATIONS} creates SIGKILLed at random delays leave nothing after delete -f`, { timeout: 10 * 60_000 }, async (t) => {
    assertBinary();
    const t0 = Date.now();
    const ctx = world(t, 'kill');
    const random = prng(SEED);

    // How long a whole create takes here (and that a whole one cleans up too).
    const durations: number[] = [];
    for (let i = 0; i < 9; i++) {
      const id = `crash-${process.pid}-cal${i}`;
      usedIds.add(id);
      const r = await callAsync({ ...ctx, id }, ['create', '-b', ctx.bundle, id], { timeoutMs: CALL_TIMEOUT_MS });
      assert.equal(r.status, 0, describeCall(r));
      durations.push(r.ms);
      const d = await callAsync({ ...ctx, id }, ['delete', '--force', id], { timeoutMs: CALL_TIMEOUT_MS });
      assert.equal(d.status, 0, describeCall(d));
      assert.deepEqual(await checkDeleted(ctx, id), []);
    }
    const typical = [...durations].sort((a, b) => a - b)[4];
    const span = 1.2 * typical;

    const phases = new Map<Phase, number>();
    /** Kills that found an init (or stage 1) alive, by phase: these had to die by themselves. */
    const withInit = new Map<Phase, number>();
    let released = 0;
    /** What the half-made directories held: nothing yet, a temporary file, cgroup.json. */
    const halfMade = new Map<string, number>();
    const failures: string[] = [];
    for (let n = 0; n < ITERATIONS && failures.length < MAX_FAILURES; n++) {
      const id = `crash-${process.pid}-${n}`;
      usedIds.add(id);
      const c: Ctx = { ...ctx, id };
      const dir = path.join(ctx.root, id);
      const delay = random() * span;
      const problems: string[] = [];

      const p = startCall(c, ['create', '-b', ctx.bundle, id], { timeoutMs: CALL_TIMEOUT_MS });
      sleepExact(delay);
      const kids = p.child.pid ? childrenOf(p.child.pid) : [];
      p.child.kill('SIGKILL');
      const r = await p.result;

      const stateFile = path.join(dir, 'state.json');
      const phase: Phase =
        r.status === 0 ? 'completed' : !fs.existsSync(dir) ? 'before-claim' : fs.existsSync(stateFile) ? 'after-state' : 'before-state';
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
      if (r.status !== 0 && r.signal !== 'SIGKILL') problems.push(`create failed by itself: ${describeCall(r)}`);
      const files = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
      // Written atomically, a record is whole or absent whenever the writer dies.
      const partial = ['state.json', 'cgroup.json'].filter((f) => files.includes(f) && !wholeJson(path.join(dir, f)));
      for (const f of partial) problems.push(`the kill left a partial ${f} (${fs.statSync(path.join(dir, f)).size} bytes)`);
      if (phase === 'before-state') {
        const k = partial.includes('cgroup.json')
          ? 'partial cgroup.json'
          : files.includes('cgroup.json')
            ? 'cgroup.json'
            : files.some((f) => f.startsWith('.'))
              ? 'temp file only'
              : files.length
                ? files.join('+')
                : 'nothing';
        halfMade.set(k, (halfMade.get(k) ?? 0) + 1);
      }
      const what = `iteration ${n} (${id}, killed after ${delay.toFixed(2)} ms, ${phase}, dir holding: ${files.join(' ') || '-'})`;

      // The runtime's children die with it, unless create had released the init to wait
      // on exec.fifo: only possible once the state is recorded.
      if (kids.length) withInit.set(phase, (withInit.get(phase) ?? 0) + 1);
      const deadline = Date.now() + SETTLE_MS;
      let alive = orphans();
      while (alive.some((o) => !waitsOnFifo(o)) && Date.now() < deadline) {
        await sleep(5);
        alive = orphans();
      }
      for (const o of alive) {
        if (!waitsOnFifo(o)) problems.push(`init outlived its runtime by ${SETTLE_MS} ms: ${describeProc(o)}`);
        else if (phase !== 'after-state' && phase !== 'completed') problems.push(`init waits on exec.fifo but no state was recorded: ${describeProc(o)}`);
      }
      if (alive.some(waitsOnFifo)) released += 1;

      // `state` and `list` of what the killed create left must not fail with a raw error.
      if (phase !== 'before-claim') {
        const st = await callAsync(c, ['state', id], { timeoutMs: CALL_TIMEOUT_MS });
        if (fs.existsSync(stateFile)) {
          let status: string | undefined;
          try {
            status = (JSON.parse(st.stdout) as { status?: string }).status;
          } catch {
            // reported below
          }
          if (st.status !== 0 || (status !== 'created' && status !== 'stopped')) problems.push(`state of a recorded container: ${describeCall(st)} ${st.stdout}`);
        } else if (st.status === 0 || !/^container does not exist: no \S*state\.json\b/.test(lastMsg(st.stderr))) {
          problems.push(`state of a half-made container: ${describeCall(st)}`);
        }
        const ls = await callAsync(c, ['list', '-q'], { timeoutMs: CALL_TIMEOUT_MS });
        if (ls.status !== 0) problems.push(`list: ${describeCall(ls)}`);
      }

      const d = await callAsync(c, ['delete', '--force', id], { timeoutMs: CALL_TIMEOUT_MS });
      if (d.status !== 0) problems.push(`delete --force: ${describeCall(d)}`);
      problems.push(...(await checkDeleted(ctx, id)));

      if (problems.length) {
        failures.push(`${what}:\n    ${problems.join('\n    ')}`);
        await scrub(ctx, [id]);
      }
    }

    const count = (m: Map<Phase, number>, k: Phase) => m.get(k) ?? 0;
    const done = [...phases.values()].reduce((a, b) => a + b, 0);
    const summary =
      `crash: iterations=${done}/${ITERATIONS} seed=${SEED} create≈${typical} ms delays=0..${span.toFixed(1)} ms ` +
      `killed-before-state=${count(phases, 'before-claim') + count(phases, 'before-state')} ` +
      `(before-claim=${count(phases, 'before-claim')} half-made=${count(phases, 'before-state')}: ` +
      `${[...halfMade].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}) ` +
      `killed-after-state=${count(phases, 'after-state')} completed=${count(phases, 'completed')} ` +
      `init-alive-at-kill: before-state=${count(withInit, 'before-state')} after-state=${count(withInit, 'after-state')} ` +
      `released-to-exec.fifo=${released} failures=${failures.length} time=${((Date.now() - t0) / 1000).toFixed(1)}s bin=${BIN}`;
    t.diagnostic(summary);
    for (const f of failures) t.diagnostic(f);
    assert.equal(failures.length, 0, `${summary}\n${failures.join('\n')}`);
  });

  // Damage that a runts writing atomically never leaves, but a crash of an older one, a full
  // disk or a hand did: delete --force must still find the cgroup (from cgroup.json, else
  // derived from the id) and kill the init in it.
  const damages: { name: string; damage: (dir: string) => void; stateNames: RegExp }[] = [
    {
      name: 'no state.json, empty cgroup.json (issue 8)',
      damage: (dir) => {
        fs.rmSync(path.join(dir, 'state.json'));
        fs.writeFileSync(path.join(dir, 'cgroup.json'), '');
      },
      stateNames: /^container does not exist: no \S*state\.json\b/,
    },
    {
      name: 'no state.json, cgroup.json cut in half',
      damage: (dir) => {
        fs.rmSync(path.join(dir, 'state.json'));
        const f = path.join(dir, 'cgroup.json');
        const text = fs.readFileSync(f, 'utf8');
        fs.writeFileSync(f, text.slice(0, text.length >> 1));
      },
      stateNames: /^container does not exist: no \S*state\.json\b/,
    },
    {
      name: 'no records at all, a temporary file left (the cgroup is derived from the id)',
      damage: (dir) => {
        const text = fs.readFileSync(path.join(dir, 'cgroup.json'), 'utf8');
        fs.rmSync(path.join(dir, 'state.json'));
        fs.rmSync(path.join(dir, 'cgroup.json'));
        fs.writeFileSync(path.join(dir, '.cgroup.json.12345'), text.slice(0, 10));
      },
      stateNames: /^container does not exist: no \S*state\.json\b/,
    },
    {
      name: 'state.json cut short, cgroup.json whole',
      damage: (dir) => {
        const f = path.join(dir, 'state.json');
        fs.writeFileSync(f, fs.readFileSync(f, 'utf8').slice(0, 40));
      },
      stateNames: /^read \S*state\.json: not a whole record/,
    },
    {
      name: 'state.json and cgroup.json both empty',
      damage: (dir) => {
        fs.writeFileSync(path.join(dir, 'state.json'), '');
        fs.writeFileSync(path.join(dir, 'cgroup.json'), '');
      },
      stateNames: /^read \S*state\.json: empty/,
    },
    {
      name: 'state.json valid JSON but not a state record',
      damage: (dir) => fs.writeFileSync(path.join(dir, 'state.json'), '{"id":1}'),
      stateNames: /^read \S*state\.json: not a state record/,
    },
  ];

  for (const [k, { name, damage, stateNames }] of damages.entries()) {
    it(`damaged records: ${name}`, { timeout: 60_000 }, async (t) => {
      assertBinary();
      const ctx = world(t, `damage${k}`);
      const id = `crash-${process.pid}-damage${k}`;
      usedIds.add(id);
      const c: Ctx = { ...ctx, id };
      const r = call(c, ['create', '-b', ctx.bundle, id], { timeoutMs: CALL_TIMEOUT_MS });
      assert.equal(r.status, 0, describeCall(r));
      const dir = path.join(ctx.root, id);
      const pid = (JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as { pid: number }).pid;
      assert.ok(cgroupDirsFor(id).some((d) => fs.existsSync(d)), 'the created container has a cgroup');
      damage(dir);

      // Every check is made and reported, then asserted at once.
      const problems: string[] = [];
      const st = call(c, ['state', id]);
      if (st.status === 0 || !stateNames.test(lastMsg(st.stderr))) problems.push(`state: expected a message matching ${stateNames}, got ${describeCall(st)}`);
      const ls = call(c, ['list', '-q']);
      if (ls.status !== 0) problems.push(`list: ${describeCall(ls)}`);
      else if (lines(ls.stdout).includes(id)) problems.push(`list shows ${id}, which has no usable state`);

      const d = call(c, ['delete', '--force', id], { timeoutMs: CALL_TIMEOUT_MS });
      if (d.status !== 0) problems.push(`delete --force: ${describeCall(d)}`);
      const init = procInfo(pid);
      if (init && init.state !== 'Z' && init.state !== 'X') problems.push(`the init still runs: ${describeProc(init)}`);
      problems.push(...(await checkDeleted(ctx, id)));
      assert.deepEqual(problems, []);
    });
  }
});
