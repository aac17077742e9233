// The detached lifecycle the engines drive: create → state → start → kill →
// delete, plus list, run -d, features, version, --log and the error paths,
// with real containers, checked on the live processes (the init's /proc entry,
// files the container writes into its rootfs) and compared with runc on the
// same flow (pids, times and paths normalised).
//
// Container ids, bundles and --root dirs are per test (helpers.setup); every
// test ends with assertNothingLeft, so a leaked init, mount, state dir or
// cgroup fails it.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BIN,
  BIN_IS_RUNC,
  RFC3339_NANO,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  call,
  callOk,
  callRaw,
  cleanupId,
  describeCall,
  ensureSubreaper,
  lines,
  poll,
  procStat,
  processesRootedAt,
  readPidFile,
  requireRunc,
  setup,
  shell,
  stateOf,
  subreaperPid,
  uniqueId,
  waitBlockedInExecFifo,
  waitStatus,
} from './helpers.ts';
import type { CallResult, ContainerState, Ctx, Spec } from './helpers.ts';
import type { TestContext } from 'node:test';

// Detached inits are reparented: run beneath a reaping subreaper (see helpers).
ensureSubreaper();

const opts = { timeout: TEST_TIMEOUT_MS };

/** runc's state keys, in its order (cState in runc 1.1.5 list.go / state.go). */
const STATE_KEYS = ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner'];
const STATE_KEYS_ANNOTATED = ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner'];

/** A writable rootfs, so the container can leave marks the host can read. */
function writable(spec: Spec): void {
  spec.root.readonly = false;
}

/** Sets up a bundle whose process runs `script` on a writable rootfs. */
function bundle(t: TestContext, script: string, o: { bin?: string; mutate?: (s: Spec) => void; id?: string } = {}): Ctx {
  return setup(t, {
    bin: o.bin,
    id: o.id,
    mutate: (s) => {
      shell(script)(s);
      writable(s);
      o.mutate?.(s);
    },
  });
}

/** The message of the last stderr line: logrus' msg="..." in text format, or
 * the plain line (runc prints the bare message when --log goes to a file). */
function errMsg(stderr: string): string {
  const l = lines(stderr).filter((x) => x.trim() !== '');
  const last = l[l.length - 1] ?? '';
  const m = /level=error msg="((?:[^"\\]|\\.)*)"/.exec(last);
  if (!m) return last;
  try {
    return JSON.parse(`"${m[1]}"`) as string;
  } catch {
    return m[1];
  }
}

/** Asserts a failed call: exit status 1 and, when given, this last-line message
 * (with the binary's own name where runc says "runc"). */
function assertFails(r: CallResult, msg?: string | RegExp): void {
  assert.equal(r.timedOut, false, `call hung: ${describeCall(r)}`);
  assert.equal(r.status, 1, `expected exit 1: ${describeCall(r)}`);
  if (msg === undefined) {
    assert.notEqual(errMsg(r.stderr), '', `expected an error message: ${describeCall(r)}`);
    return;
  }
  const got = errMsg(r.stderr).replaceAll(path.basename(BIN), 'runc');
  if (typeof msg === 'string') assert.equal(got, msg, describeCall(r));
  else assert.match(got, msg, describeCall(r));
}

function assertOk(r: CallResult): void {
  assert.equal(r.timedOut, false, `call hung: ${describeCall(r)}`);
  assert.equal(r.status, 0, describeCall(r));
}

/** The spec version the runtime claims (`spec: X` in --version); runc prints
 * it as every container's ociVersion. */
function specVersion(bin: string): string {
  const r = callRaw(bin, ['--version']);
  const m = /^spec: (\S+)$/m.exec(r.stdout);
  assert.ok(m, `no "spec:" line in ${bin} --version:\n${r.stdout}`);
  return m[1];
}

/** Whether `pid` is gone or a zombie (a zombie init counts as stopped). */
function gone(pid: number): boolean {
  const st = procStat(pid);
  return st === undefined || st.state === 'Z' || st.state === 'X';
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** What shows whether a sleeping task was woken (proc(5) status): its state, its voluntary
 * context switches (one more each time it goes back to sleep) and its pending signals. */
function wakeRecord(pid: number): { state: string; switches: string; pending: bigint } | undefined {
  const status = readProc(pid, 'status');
  if (status === undefined) return undefined;
  const field = (k: string) => new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(status)?.[1].trim() ?? '';
  return {
    state: field('State'),
    switches: field('voluntary_ctxt_switches'),
    pending: BigInt(`0x${field('SigPnd') || '0'}`) | BigInt(`0x${field('ShdPnd') || '0'}`),
  };
}

/** Waits until `pid` (running `sleep`) is in its long nanosleep, and returns its wake record
 * then: only a signal can wake it before the sleep ends. wchan is read before and after the
 * record, so the record is of that sleep, not of one on the way to it. */
function asleepInNanosleep(pid: number): Promise<NonNullable<ReturnType<typeof wakeRecord>>> {
  return poll(`${pid} to sleep in nanosleep (wchan hrtimer_nanosleep)`, () => {
    if (readProc(pid, 'comm')?.trim() !== 'sleep' || readProc(pid, 'wchan') !== 'hrtimer_nanosleep') return undefined;
    const rec = wakeRecord(pid);
    return rec?.state.startsWith('S') && readProc(pid, 'wchan') === 'hrtimer_nanosleep' ? rec : undefined;
  });
}

/** Go text/tabwriter as runc's list uses it: NewWriter(w, minwidth 12,
 * tabwidth 1, padding 3, ' ', 0). Every cell but the last of a line is a
 * column cell; a column is max(minwidth, widest cell + padding) wide. */
function tabwriter(rows: string[][], minwidth = 12, padding = 3): string {
  const ncols = Math.max(...rows.map((r) => r.length)) - 1;
  const widths: number[] = [];
  for (let c = 0; c < ncols; c++) {
    widths.push(Math.max(minwidth, ...rows.map((r) => (r[c] ?? '').length + padding)));
  }
  return rows.map((r) => r.map((cell, c) => (c < r.length - 1 ? cell.padEnd(widths[c]) : cell)).join('') + '\n').join('');
}

const LIST_HEADER = ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'];

/** Normalises runtime output for comparison with runc: pids, times, the
 * container's id and paths become placeholders. */
function normalise(text: string, ctx: Ctx, pids: number[]): string {
  let s = text.replaceAll(ctx.dir, '<DIR>').replaceAll(ctx.id, '<ID>');
  s = s.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, '<TIME>');
  for (const p of pids) if (p > 0) s = s.replace(new RegExp(`\\b${p}\\b`, 'g'), '<PID>');
  // table columns shift with the lengths of what was replaced (indentation
  // at the start of a line is kept)
  return s.replace(/(\S) {2,}/g, '$1  ');
}

describe('lifecycle: create, start, state, kill, delete', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('create: the init waits detached, the pid file and state say created, start runs the process', opts, async (t) => {
    const ctx = bundle(t, 'touch /tmp/started; sleep 100');
    const pidFile = path.join(ctx.dir, 'init.pid');
    const started = path.join(ctx.rootfs, 'tmp/started');

    const r = call(ctx, ['create', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]);
    // create returned (status 0, not at its deadline) while the init waits.
    assertOk(r);
    assert.equal(r.stdout, '');

    // The pid file: the bare number, no newline (containerd's go-runc parses it with Atoi).
    const pidText = fs.readFileSync(pidFile, 'utf8');
    assert.match(pidText, /^[1-9]\d*$/);
    const pid = Number(pidText);

    // state, exactly as runc prints it: MarshalIndent with two spaces, no trailing newline.
    const sr = call(ctx, ['state', ctx.id]);
    assertOk(sr);
    const st = JSON.parse(sr.stdout) as ContainerState;
    assert.deepEqual(Object.keys(st), STATE_KEYS);
    assert.equal(sr.stdout, JSON.stringify(st, null, 2));
    assert.equal(st.ociVersion, specVersion(ctx.bin));
    assert.equal(st.id, ctx.id);
    assert.equal(st.pid, pid);
    assert.equal(st.status, 'created');
    assert.equal(st.bundle, ctx.bundle);
    assert.equal(st.rootfs, ctx.rootfs);
    assert.match(st.created, RFC3339_NANO);
    const created = Date.parse(st.created.replace(/(\.\d{3})\d+/, '$1'));
    assert.ok(Math.abs(Date.now() - created) < 60_000, `created ${st.created} is not now`);
    assert.equal(st.owner, '');

    // The init: alive and waiting (not a zombie, not running the user process),
    // already in the rootfs, reparented away from the runtime that exited, and
    // detached from our session and process group (runc's init calls setsid).
    const ps = procStat(pid);
    assert.ok(ps, `init ${pid} is gone after create`);
    assert.equal(ps.state, 'S', `init ${pid} state ${ps.state}`);
    assert.ok(processesRootedAt(ctx.rootfs).includes(pid), `init ${pid} is not rooted in the rootfs`);
    assert.equal(ps.ppid, subreaperPid(), 'the init was not reparented to the subreaper above us');
    const me = procStat(process.pid)!;
    assert.notEqual(ps.session, me.session, 'init shares our session');
    assert.notEqual(ps.pgrp, me.pgrp, 'init shares our process group');
    assert.equal(ps.session, pid, 'init is not a session leader (runc calls setsid)');
    assert.equal(ps.ttyNr, 0, 'init has a controlling terminal');

    // The user process has not run yet: the init waits in the exec fifo, which only start opens.
    await waitBlockedInExecFifo(pid);
    assert.equal(fs.existsSync(started), false, 'the process ran before start');

    assertOk(call(ctx, ['start', ctx.id]));
    await poll('the process to run after start', () => (fs.existsSync(started) ? true : undefined));
    const running = stateOf(ctx);
    assert.equal(running?.status, 'running');
    assert.equal(running?.pid, pid);

    // start again, delete without -f: refused, the container keeps running.
    assertFails(call(ctx, ['start', ctx.id]), 'cannot start an already running container');
    assertFails(call(ctx, ['delete', ctx.id]), `cannot delete container ${ctx.id} that is not stopped: running`);
    assert.equal(stateOf(ctx)?.status, 'running');
    assert.ok(!gone(pid));

    assertOk(call(ctx, ['kill', ctx.id, 'KILL']));
    const stopped = await waitStatus(ctx, 'stopped');
    assert.equal(stopped.pid, 0);
    assert.deepEqual(Object.keys(stopped), STATE_KEYS);
    assert.equal(stopped.created, st.created);
    assertFails(call(ctx, ['start', ctx.id]), 'cannot start a container that has stopped');
    assertFails(call(ctx, ['kill', ctx.id, 'KILL']), 'container not running');

    assertOk(call(ctx, ['delete', ctx.id]));
    assertFails(call(ctx, ['state', ctx.id]), 'container does not exist');
    assertNothingLeft(ctx);
  });

  it('state: annotations appear between created and owner', opts, (t) => {
    const annotations = { 'org.example.b': 'two', 'org.example.a': '1' };
    const ctx = bundle(t, 'sleep 100', { mutate: (s) => (s.annotations = annotations) });
    assertOk(call(ctx, ['create', '-b', ctx.bundle, ctx.id]));
    const r = call(ctx, ['state', ctx.id]);
    const st = JSON.parse(r.stdout) as ContainerState;
    assert.deepEqual(Object.keys(st), STATE_KEYS_ANNOTATED);
    // Go marshals a map with its keys sorted.
    assert.equal(r.stdout, JSON.stringify({ ...st, annotations: { 'org.example.a': '1', 'org.example.b': 'two' } }, null, 2));
    assertOk(call(ctx, ['delete', '-f', ctx.id]));
    assertNothingLeft(ctx);
  });

  it('kill: default SIGTERM, names with and without SIG, numbers, lower case; unknown signal fails', opts, async (t) => {
    // pid 1 of a pid namespace ignores signals it has no handler for, so the
    // container traps them and writes down each one it gets.
    const ctx = bundle(
      t,
      `for s in TERM USR1 HUP; do trap "echo $s >> /tmp/sigs" $s; done
       touch /tmp/ready
       while :; do sleep 1 & wait $!; done`,
    );
    const sigs = path.join(ctx.rootfs, 'tmp/sigs');
    const got = () => (fs.existsSync(sigs) ? lines(fs.readFileSync(sigs, 'utf8')) : []);
    assertOk(call(ctx, ['create', '-b', ctx.bundle, ctx.id]));
    assertOk(call(ctx, ['start', ctx.id]));
    await poll('the container to be ready', () => (fs.existsSync(path.join(ctx.rootfs, 'tmp/ready')) ? true : undefined));

    const forms: [string[], string][] = [
      [[], 'TERM'],
      [['TERM'], 'TERM'],
      [['SIGTERM'], 'TERM'],
      [['15'], 'TERM'],
      [['USR1'], 'USR1'],
      [['SIGUSR1'], 'USR1'],
      [['10'], 'USR1'],
      [['hup'], 'HUP'],
      [['sighup'], 'HUP'],
    ];
    for (const [args, name] of forms) {
      const before = got().length;
      const r = call(ctx, ['kill', ctx.id, ...args]);
      assertOk(r);
      // One at a time: standard signals do not queue.
      const after = await poll(`kill ${args.join(' ') || '(default)'} to arrive`, () => (got().length > before ? got() : undefined));
      assert.equal(after[after.length - 1], name, `kill ${args.join(' ') || '(default)'} delivered ${after[after.length - 1]}`);
    }

    assertFails(call(ctx, ['kill', ctx.id, 'FOO']), 'unknown signal "FOO"');
    assertFails(call(ctx, ['kill', ctx.id, 'SIGFOO']));
    assert.equal(stateOf(ctx)?.status, 'running');

    assertOk(call(ctx, ['kill', ctx.id, 'KILL']));
    assert.equal((await waitStatus(ctx, 'stopped')).pid, 0);
    assertOk(call(ctx, ['delete', ctx.id]));
    assertNothingLeft(ctx);
  });

  for (const args of [['SIGKILL'], ['9'], ['-a', '9'], ['--all', 'KILL']]) {
    const shown = args.join(' ');
    it(`kill ${shown} stops a running container (status stopped, pid 0)`, opts, async (t) => {
      const ctx = bundle(t, 'sleep 100');
      const pidFile = path.join(ctx.dir, 'init.pid');
      assertOk(call(ctx, ['create', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]));
      assertOk(call(ctx, ['start', ctx.id]));
      const pid = readPidFile(pidFile)!;
      const flags = args.filter((a) => a.startsWith('-'));
      const sig = args.filter((a) => !a.startsWith('-'));
      assertOk(call(ctx, ['kill', ...flags, ctx.id, ...sig]));
      const st = await waitStatus(ctx, 'stopped');
      assert.equal(st.pid, 0);
      await poll(`init ${pid} to die`, () => (gone(pid) ? true : undefined));
      assertOk(call(ctx, ['delete', ctx.id]));
      assertNothingLeft(ctx);
    });
  }

  it('delete of a created container kills the waiting init and removes it', opts, async (t) => {
    const ctx = bundle(t, 'touch /tmp/started; sleep 100');
    const pidFile = path.join(ctx.dir, 'init.pid');
    assertOk(call(ctx, ['create', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]));
    const pid = readPidFile(pidFile)!;
    // Killed while it waits in the exec fifo, the init can never run the process.
    await waitBlockedInExecFifo(pid);
    assertOk(call(ctx, ['delete', ctx.id]));
    await poll(`init ${pid} to die`, () => (gone(pid) ? true : undefined));
    assert.equal(fs.existsSync(path.join(ctx.rootfs, 'tmp/started')), false, 'the process ran');
    assertFails(call(ctx, ['state', ctx.id]), 'container does not exist');
    assertNothingLeft(ctx);
  });

  // CVE-2019-5736: a process that can reach the init's /proc/<pid>/exe must not find a host
  // binary to overwrite. The init program runs from a sealed memfd, not from the runts binary
  // (nor from a file in $TMPDIR), and is named for ps.
  it('the waiting init runs the init program from a sealed memfd, named runts:[2:INIT]', { ...opts, skip: BIN_IS_RUNC && 'runts-specific' }, async (t) => {
    const ctx = bundle(t, 'sleep 100');
    const pidFile = path.join(ctx.dir, 'init.pid');
    assertOk(call(ctx, ['create', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]));
    const pid = readPidFile(pidFile)!;
    await waitBlockedInExecFifo(pid);
    assert.equal(fs.readlinkSync(`/proc/${pid}/exe`), '/memfd:runts-init (deleted)');
    assert.equal(fs.readFileSync(`/proc/${pid}/comm`, 'utf8'), 'runts:[2:INIT]\n');
    // Not writable through the link: the kernel refuses a running executable (ETXTBSY), and
    // the seals refuse any write at all (the core's unit test checks those on the memfd).
    assert.throws(() => fs.openSync(`/proc/${pid}/exe`, 'r+'), /ETXTBSY|EPERM|EACCES/);
    assertOk(call(ctx, ['delete', '--force', ctx.id]));
    await poll(`init ${pid} to die`, () => (gone(pid) ? true : undefined));
    assertNothingLeft(ctx);
  });

  it('delete -f of a running container kills and removes it', opts, async (t) => {
    const ctx = bundle(t, 'sleep 100');
    const pidFile = path.join(ctx.dir, 'init.pid');
    assertOk(call(ctx, ['create', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]));
    assertOk(call(ctx, ['start', ctx.id]));
    const pid = readPidFile(pidFile)!;
    assertOk(call(ctx, ['delete', '-f', ctx.id]));
    await poll(`init ${pid} to die`, () => (gone(pid) ? true : undefined));
    assertFails(call(ctx, ['state', ctx.id]), 'container does not exist');
    assertNothingLeft(ctx);
  });

  it('run -d: create and start, returns at once with the container running', opts, async (t) => {
    const ctx = bundle(t, 'touch /tmp/started; sleep 100');
    const pidFile = path.join(ctx.dir, 'init.pid');
    const r = call(ctx, ['run', '-d', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]);
    assertOk(r);
    assert.equal(r.stdout, '');
    const st = stateOf(ctx);
    assert.equal(st?.status, 'running');
    assert.equal(st?.pid, readPidFile(pidFile));
    await poll('the process to run', () => (fs.existsSync(path.join(ctx.rootfs, 'tmp/started')) ? true : undefined));
    assert.equal(procStat(st!.pid)?.ppid, subreaperPid(), 'run -d left the init attached to a runtime process');
    assertOk(call(ctx, ['delete', '-f', ctx.id]));
    assertNothingLeft(ctx);
  });
});

describe('lifecycle: list', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('list on an empty root: the header, nothing with -q, null with -f json', opts, (t) => {
    const ctx = setup(t);
    assert.equal(callOk(ctx, ['list']), tabwriter([LIST_HEADER]));
    assert.equal(callOk(ctx, ['list', '-q']), '');
    assert.equal(callOk(ctx, ['list', '-f', 'json']), 'null\n');
    assert.equal(callOk(ctx, ['list', '--format', 'json']), 'null\n');
  });

  it('list: table in runc\'s tabwriter layout, -q, -f json; sorted by id', opts, async (t) => {
    const ctx = bundle(t, 'sleep 100', { mutate: (s) => (s.annotations = { 'org.example': 'x' }) });
    // Ids of different lengths (one wider than the 12-column minimum), created
    // in reverse order: runc lists them sorted by name.
    const ids = [`b-${ctx.id}-with-a-long-name`, `a-${ctx.id}`];
    for (const id of ids) t.after(() => cleanupId(ctx, id));
    for (const id of ids) assertOk(call(ctx, ['create', '-b', ctx.bundle, id]));
    assertOk(call(ctx, ['start', ids[0]]));
    await waitStatus(ctx, 'running', 10_000, ids[0]);
    const sorted = [...ids].sort();

    const js = call(ctx, ['list', '-f', 'json']);
    assertOk(js);
    assert.ok(js.stdout.endsWith(']\n') && !js.stdout.slice(0, -1).includes('\n'), `list -f json is not one line: ${js.stdout}`);
    const entries = JSON.parse(js.stdout) as ContainerState[];
    assert.deepEqual(entries.map((e) => e.id), sorted);
    for (const e of entries) {
      assert.deepEqual(Object.keys(e), STATE_KEYS_ANNOTATED);
      const st = stateOf(ctx, e.id)!;
      // list's owner is the state dir's owner by name; state's is empty.
      assert.deepEqual(e, { ...st, owner: 'root' });
      assert.equal(e.status, e.id === ids[0] ? 'running' : 'created');
    }

    assert.equal(callOk(ctx, ['list', '-q']), sorted.map((id) => `${id}\n`).join(''));
    const table = callOk(ctx, ['list']);
    const rows = entries.map((e) => [e.id, String(e.pid), e.status, e.bundle, e.created, e.owner]);
    assert.equal(table, tabwriter([LIST_HEADER, ...rows]));
    assert.equal(callOk(ctx, ['list', '--format', 'table']), table);

    for (const id of ids) assertOk(call(ctx, ['delete', '-f', id]));
    assert.equal(callOk(ctx, ['list', '-f', 'json']), 'null\n');
    assertNothingLeft({ ...ctx, id: ids[0] });
    assertNothingLeft({ ...ctx, id: ids[1] });
  });
});

describe('lifecycle: features, version, --log, errors', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('features prints JSON with at least what runc lists', opts, () => {
    const r = callRaw(BIN, ['features']);
    assertOk(r);
    const f = JSON.parse(r.stdout) as {
      ociVersionMin: string;
      ociVersionMax: string;
      hooks: string[];
      mountOptions: string[];
      linux: { namespaces: string[]; capabilities: string[] };
    };
    assert.match(f.ociVersionMin, /^1\.\d+\.\d+/);
    assert.match(f.ociVersionMax, /^1\.\d+\.\d+/);
    for (const k of ['hooks', 'mountOptions'] as const) {
      assert.ok(Array.isArray(f[k]) && f[k].every((x) => typeof x === 'string'), `${k} is not a list of strings`);
    }
    assert.ok(f.mountOptions.includes('bind') && f.mountOptions.includes('nosuid'), 'mountOptions lacks bind/nosuid');
    assert.ok(f.linux.capabilities.length > 0 && f.linux.capabilities.every((c) => /^CAP_[A-Z_]+$/.test(c)));
    assert.ok(f.linux.capabilities.includes('CAP_SYS_ADMIN'));
    const runcNs = (JSON.parse(callRaw(requireRunc(), ['features']).stdout) as typeof f).linux.namespaces;
    for (const ns of runcNs) assert.ok(f.linux.namespaces.includes(ns), `features lacks namespace ${ns}`);
  });

  it('--version and -v print the version; version works as well (runts only: runc has no such verb)', opts, () => {
    const v = callRaw(BIN, ['--version']);
    assertOk(v);
    assert.match(v.stdout, /^\S+ version \S+\n/);
    assert.match(v.stdout, /^spec: \d+\.\d+\.\d+\S*$/m);
    const short = callRaw(BIN, ['-v']);
    assertOk(short);
    assert.equal(short.stdout, v.stdout);
    if (!BIN_IS_RUNC) {
      const verb = callRaw(BIN, ['version']);
      assertOk(verb);
      assert.equal(verb.stdout, v.stdout);
    }
  });

  it('--log FILE --log-format json: a failing call writes a JSON error line to FILE', opts, (t) => {
    const ctx = setup(t);
    for (const global of [
      (f: string) => ['--log', f, '--log-format', 'json'],
      (f: string) => [`--log-format=json`, `--log=${f}`],
    ]) {
      const log = path.join(ctx.dir, `log-${Math.random().toString(36).slice(2)}.json`);
      const r = callRaw(ctx.bin, [...global(log), '--root', ctx.root, 'state', 'no-such-container']);
      assertFails(r, 'container does not exist');
      const l = lines(fs.readFileSync(log, 'utf8'));
      assert.equal(l.length, 1, `log lines: ${l.join('\n')}`);
      const entry = JSON.parse(l[0]) as Record<string, string>;
      assert.deepEqual(Object.keys(entry).sort(), ['level', 'msg', 'time']);
      assert.equal(entry.level, 'error');
      assert.equal(entry.msg, 'container does not exist');
      assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
      // runc also prints the bare message on stderr when logging to a file.
      assert.equal(lines(r.stderr).pop(), 'container does not exist');
    }
  });

  it('an unknown id fails for each verb with "container does not exist"; delete -f of it succeeds', opts, (t) => {
    const ctx = setup(t);
    const id = uniqueId('nope');
    for (const args of [['state', id], ['start', id], ['kill', id], ['kill', id, '9'], ['kill', '-a', id, 'KILL'], ['delete', id]]) {
      assertFails(call(ctx, args), 'container does not exist');
    }
    // containerd's shim sends `delete --force` after `delete`; runc answers 0.
    assertOk(call(ctx, ['delete', '-f', id]));
    assertOk(call(ctx, ['delete', '--force', id]));
    assertNothingLeft(ctx);
  });

  it('bad ids are refused by every verb and leave nothing', opts, (t) => {
    const ctx = bundle(t, 'sleep 100');
    for (const id of ['../escape', 'a/b', 'a b', '.', '..', 'x\ny']) {
      assertFails(call(ctx, ['create', '-b', ctx.bundle, id]), /^run[ct]s? create failed: invalid container ID format$/);
      for (const verb of [['state'], ['start'], ['kill'], ['delete'], ['delete', '-f']]) {
        const r = call(ctx, [...verb, id]);
        assertFails(r, 'invalid container ID format');
      }
    }
    assertFails(call(ctx, ['create', '-b', ctx.bundle, '']), /run[ct]s? create failed: container id cannot be empty/);
    assert.deepEqual(fs.readdirSync(ctx.root), []);
    assert.deepEqual(fs.readdirSync(ctx.dir).sort(), ['bundle', 'root']);
    assert.equal(fs.existsSync(path.join(path.dirname(ctx.dir), 'escape')), false);
  });
});

// ---------------------------------------------------------------------------
// The exact call shapes engines send, and the same flows under runc

interface Step {
  args: string[];
  status: number | null;
  stdout: string;
  msg: string;
}

type Flow = (t: TestContext, bin: string) => Promise<{ steps: Step[]; ctx: Ctx; pids: number[] }>;

function step(steps: Step[], r: CallResult, bin: string): CallResult {
  assert.equal(r.timedOut, false, `call hung: ${describeCall(r)}`);
  steps.push({ args: r.argv, status: r.status, stdout: r.stdout, msg: r.status === 0 ? '' : errMsg(r.stderr).replaceAll(path.basename(bin), 'runc') });
  return r;
}

/** A container that exits on SIGTERM, as an engine's workload would. */
const TERM_EXITS = `trap 'exit 0' TERM; touch /tmp/ready; while :; do sleep 1 & wait $!; done`;

/** containerd 1.6's runc shim (go-runc): every call carries --root, --log
 * B/log.json and --log-format json; create writes B/init.pid; after the exit
 * the shim sends `delete` and then `delete --force`. */
const containerdFlow: Flow = async (t, bin) => {
  const ctx = bundle(t, TERM_EXITS, { bin });
  const steps: Step[] = [];
  const g = ['--root', ctx.root, '--log', path.join(ctx.bundle, 'log.json'), '--log-format', 'json'];
  const pidFile = path.join(ctx.bundle, 'init.pid');
  const c = (args: string[]) => step(steps, callRaw(bin, [...g, ...args]), bin);
  assertOk(c(['create', '--bundle', ctx.bundle, '--pid-file', pidFile, ctx.id]));
  const pid = Number(fs.readFileSync(pidFile, 'utf8')); // strconv.Atoi: no whitespace
  assert.ok(pid > 0, 'init.pid');
  assert.equal(JSON.parse(c(['state', ctx.id]).stdout).status, 'created');
  assertOk(c(['start', ctx.id]));
  assert.equal(JSON.parse(c(['state', ctx.id]).stdout).status, 'running');
  await poll('ready', () => (fs.existsSync(path.join(ctx.rootfs, 'tmp/ready')) ? true : undefined));
  assertOk(c(['kill', ctx.id, '15']));
  await poll(`init ${pid} to exit`, () => (gone(pid) ? true : undefined));
  assert.equal(JSON.parse(c(['state', ctx.id]).stdout).status, 'stopped');
  assertOk(c(['delete', ctx.id]));
  assertOk(c(['delete', '--force', ctx.id]));
  assertFails(c(['state', ctx.id]), 'container does not exist');
  // Whatever the runtime logged is JSON, one object a line.
  const logFile = path.join(ctx.bundle, 'log.json');
  for (const l of fs.existsSync(logFile) ? lines(fs.readFileSync(logFile, 'utf8')) : []) {
    const e = JSON.parse(l) as Record<string, unknown>;
    assert.ok(typeof e.level === 'string' && typeof e.msg === 'string' && typeof e.time === 'string', l);
  }
  fs.rmSync(logFile, { force: true });
  fs.rmSync(pidFile, { force: true });
  assertNothingLeft(ctx);
  return { steps, ctx, pids: [pid] };
};

/** podman 4.3 through conmon: --log-format=json --log F before the verb;
 * SIGTERM, then SIGKILL when it is ignored, then delete --force. */
const podmanFlow: Flow = async (t, bin) => {
  const ctx = bundle(t, 'touch /tmp/ready; exec sleep 100', { bin }); // pid 1 ignores SIGTERM
  const steps: Step[] = [];
  const log = path.join(ctx.dir, 'oci-log');
  const pidFile = path.join(ctx.dir, 'pidfile');
  const c = (args: string[]) => step(steps, callRaw(bin, [`--root=${ctx.root}`, ...args]), bin);
  assertOk(c(['--log-format=json', '--log', log, 'create', '--bundle', ctx.bundle, '--pid-file', pidFile, ctx.id]));
  const pid = readPidFile(pidFile)!;
  assertOk(c(['start', ctx.id]));
  assert.equal(JSON.parse(c(['state', ctx.id]).stdout).status, 'running');
  await poll('ready', () => (fs.existsSync(path.join(ctx.rootfs, 'tmp/ready')) ? true : undefined));
  const asleep = await asleepInNanosleep(pid);
  assertOk(c(['kill', ctx.id, '15']));
  // kill(2) has returned: a SIGTERM that reached pid 1 would be pending or would have woken it
  // (signal_wake_up happens in the sender's call). Still asleep, in the same sleep, nothing
  // pending: the kernel dropped it, as it does for a namespace's init without a handler
  // (sig_task_ignored, SIGNAL_UNKILLABLE). No need to wait and see.
  const after = wakeRecord(pid);
  assert.deepEqual(after, asleep, 'pid 1 without a handler must ignore SIGTERM: it was woken or has a signal pending');
  assert.equal(JSON.parse(c(['state', ctx.id]).stdout).status, 'running', 'pid 1 without a handler must ignore SIGTERM');
  assertOk(c(['kill', ctx.id, '9']));
  await poll(`init ${pid} to die`, () => (gone(pid) ? true : undefined));
  assert.equal(JSON.parse(c(['state', ctx.id]).stdout).status, 'stopped');
  assertOk(c(['delete', '--force', ctx.id]));
  assertFails(c(['state', ctx.id]), 'container does not exist');
  assertNothingLeft(ctx);
  return { steps, ctx, pids: [pid] };
};

/** create (annotated) → state, list → start → state, list → kill → state → delete. */
const stateListFlow: Flow = async (t, bin) => {
  const ctx = bundle(t, 'touch /tmp/ready; sleep 100', { bin, mutate: (s) => (s.annotations = { 'org.example.z': 'last', 'org.example.a': 'first' }) });
  const steps: Step[] = [];
  const pidFile = path.join(ctx.dir, 'pid');
  const c = (args: string[]) => step(steps, call(ctx, args), bin);
  const views = () => {
    c(['state', ctx.id]);
    c(['list']);
    c(['list', '-q']);
    c(['list', '-f', 'json']);
  };
  assertOk(c(['create', '-b', ctx.bundle, '--pid-file', pidFile, ctx.id]));
  const pid = readPidFile(pidFile)!;
  views();
  assertOk(c(['start', ctx.id]));
  views();
  c(['start', ctx.id]);
  c(['delete', ctx.id]);
  c(['kill', ctx.id, 'BOGUS']);
  assertOk(c(['kill', ctx.id, 'KILL']));
  await waitStatus(ctx, 'stopped');
  views();
  c(['kill', ctx.id, 'KILL']);
  c(['start', ctx.id]);
  assertOk(c(['delete', ctx.id]));
  views();
  c(['delete', ctx.id]);
  assertNothingLeft(ctx);
  return { steps, ctx, pids: [pid] };
};

/** Runs `flow` under BIN and under runc and compares every call's status,
 * normalised stdout and error message; reports every differing call. */
async function compareWithRunc(t: TestContext, flow: Flow): Promise<void> {
  const ours = await flow(t, BIN);
  // Under RUNTS_BIN=runc the flow above was runc's: comparing it with itself proves nothing.
  if (BIN_IS_RUNC) return t.skip('RUNTS_BIN is runc: the flow ran under runc; a comparison with itself is redundant');
  const theirs = await flow(t, requireRunc());
  const norm = (f: Awaited<ReturnType<Flow>>) =>
    f.steps.map((s) => ({
      args: normalise(s.args.join(' '), f.ctx, []),
      status: s.status,
      stdout: normalise(s.stdout, f.ctx, f.pids),
      msg: normalise(s.msg, f.ctx, f.pids),
    }));
  const a = norm(ours);
  const b = norm(theirs);
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (!x || !y) {
      diffs.push(`call ${i}: only one runtime made it: ${JSON.stringify(x ?? y)}`);
      continue;
    }
    for (const k of ['status', 'stdout', 'msg'] as const) {
      if (x[k] !== y[k]) diffs.push(`call ${i} \`${x.args}\`: ${k}\n  ours: ${JSON.stringify(x[k])}\n  runc: ${JSON.stringify(y[k])}`);
    }
  }
  assert.equal(diffs.length, 0, `differences from runc:\n${diffs.join('\n')}`);
}

describe('lifecycle: engine call shapes, compared with runc', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('containerd 1.6 shim: create/state/start/kill 15/delete/delete --force', opts, (t) => compareWithRunc(t, containerdFlow));
  it('podman 4.3 (conmon): create/start/state/kill 15/kill 9/delete --force', opts, (t) => compareWithRunc(t, podmanFlow));
  it('state and list output match runc through a whole life', opts, (t) => compareWithRunc(t, stateListFlow));
});
