// `checkpoint` and `restore` on the host, where CRIU may not be able to run (Debian 12's CRIU
// 3.17.1 on a 6.x kernel fails `criu check` with "kerndat_vdso_fill_symtable failed"). What a
// working CRIU does is checked in the VM (test/vm/criu.sh); here: a failed dump names the step
// and CRIU's own error and leaves the container as it was, a failed restore leaves nothing
// (state, cgroup, process, mount), the flag and state checks that come before CRIU give runc's
// messages, and the help lists every flag runc has. Compared with runc on the same bundle.

import { before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BIN,
  BIN_IS_RUNC,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  call,
  callOk,
  callRaw,
  describeCall,
  ensureSubreaper,
  lastLine,
  mountsUnder,
  procState,
  processesNamed,
  readPidFile,
  requireRunc,
  setup,
  shell,
  startTime,
  stateOf,
  uniqueId,
  waitStatus,
} from './helpers.ts';
import type { CallResult, Ctx } from './helpers.ts';

// Detached inits are reparented: run beneath a reaping subreaper (see helpers).
ensureSubreaper();
const opts = { timeout: TEST_TIMEOUT_MS };

/** Whether CRIU can run here, from one `criu check` (criu found through PATH, as runts' default --criu). */
const CRIU: { state: 'missing' | 'broken' | 'works'; why: string } = (() => {
  if (SKIP_REASON) return { state: 'missing', why: SKIP_REASON };
  const r = spawnSync('criu', ['check'], { encoding: 'utf8', timeout: 30_000 });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { state: 'missing', why: 'criu is not installed' };
  return { state: r.status === 0 ? 'works' : 'broken', why: lastLine(`${r.stdout}\n${r.stderr}`) };
})();

/** The msg of the last log line (`time=... level=error msg="..."`), unquoted; else the line. */
function msgOf(r: CallResult): string {
  const last = lastLine(r.stderr);
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(last);
  return m ? (JSON.parse(`"${m[1]}"`) as string) : last;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Exit status 1 (not a signal, not a timeout). */
function fails(r: CallResult): void {
  assert.equal(r.signal, null, describeCall(r));
  assert.equal(r.status, 1, describeCall(r));
}

/** A running container under `bin` (sleeping, stdio to files), its init's pid and start time. */
function running(t: TestContext, bin: string = BIN): { ctx: Ctx; pid: number; start: string } {
  const ctx = setup(t, { bin, mutate: shell('exec sleep 1000') });
  const pidFile = path.join(ctx.dir, 'init.pid');
  const r = call(ctx, ['run', '-d', '--pid-file', pidFile, '-b', ctx.bundle, ctx.id]);
  assert.equal(r.status, 0, describeCall(r));
  const pid = readPidFile(pidFile);
  assert.ok(pid, 'no init pid');
  return { ctx, pid, start: startTime(pid)! };
}

/** The container is as it was: `status`, same init (pid and start time), not frozen unless
 * paused, and its state is the only one under --root. */
function untouched(c: { ctx: Ctx; pid: number; start: string }, status = 'running'): void {
  const s = stateOf(c.ctx);
  assert.equal(s?.status, status, `${c.ctx.id}: ${JSON.stringify(s)}`);
  assert.equal(s?.pid, c.pid);
  assert.equal(startTime(c.pid), c.start, 'the init is the same process');
  if (status === 'running') assert.match(procState(c.pid) ?? 'gone', /^[SR]$/, 'the init is not frozen');
  assert.deepEqual(fs.readdirSync(c.ctx.root), [c.ctx.id], 'no other state under --root');
}

/** Kills the container and deletes it the normal way (no --force); then nothing is left. */
async function killAndDelete(c: { ctx: Ctx }): Promise<void> {
  callOk(c.ctx, ['kill', c.ctx.id, 'KILL']);
  await waitStatus(c.ctx, 'stopped');
  callOk(c.ctx, ['delete', c.ctx.id]);
  assertNothingLeft(c.ctx);
}

/** criu processes (swrk sessions) now; a failed call must not leave one behind. */
const criuPids = () => new Set(processesNamed(/^criu( |$)/).map((p) => p.pid));

/** Nothing left by a failed restore of ctx.id: assertNothingLeft (state, mounts under the
 * bundle, processes in the rootfs, cgroups) and no mount under --root and no new criu. */
function restoreLeftNothing(ctx: Ctx, criuBefore: Set<number>): void {
  assertNothingLeft(ctx);
  assert.deepEqual(mountsUnder(ctx.root).map((m) => m.mountPoint), [], 'mounts under --root');
  assert.deepEqual([...criuPids()].filter((p) => !criuBefore.has(p)), [], 'criu processes left');
}

/** An images directory as far as runts reads it before CRIU: descriptors.json only. */
function fakeImages(ctx: Ctx): string {
  const dir = path.join(ctx.dir, 'images');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'descriptors.json'), JSON.stringify(['/dev/null', '/dev/null', '/dev/null']));
  return dir;
}

/** The flags a command's help lists (`--name`, and short `-x`). */
function helpFlags(bin: string, verb: string): Set<string> {
  const r = callRaw(bin, [verb, '--help']);
  assert.equal(r.status, 0, describeCall(r));
  return new Set(r.stdout.match(/(?<![\w-])--?[a-z][a-z-]*/g) ?? []);
}

describe('checkpoint and restore on the host', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('a checkpoint CRIU cannot do exits 1 naming the step and CRIU\'s error; the container runs on (as with runc)', opts, async (t) => {
    if (CRIU.state === 'works') return t.skip(`criu check passes on this host (${CRIU.why}): the failing case cannot be made here; test/vm/criu.sh covers the working one`);
    const c = running(t);
    const images = path.join(c.ctx.dir, 'images');
    const work = path.join(c.ctx.dir, 'work');
    // [flags, the step runts names, where its log is]
    const variants: Array<[string[], string, string | undefined]> = [
      [[], 'criu dump', path.join(images, 'dump.log')],
      [['--leave-running'], 'criu dump', path.join(images, 'dump.log')],
      [['--work-path', work], 'criu dump', path.join(work, 'dump.log')],
      // CRIU cannot check for MemTrack here: runts names why (its CHECK, logged beside the
      // images); runc says "CRIU feature check failed".
      [['--pre-dump'], 'criu check', path.join(images, 'check.log')],
    ];
    for (const [flags, step, log] of variants) {
      const r = call(c.ctx, ['checkpoint', '--image-path', images, ...flags, c.ctx.id]);
      fails(r);
      const msg = msgOf(r);
      if (!BIN_IS_RUNC && CRIU.state === 'missing') assert.match(msg, /^exec `criu` .*is criu installed\?.*ENOENT/, msg);
      else if (!BIN_IS_RUNC) {
        assert.ok(msg.startsWith(step), `${flags.join(' ')}: ${msg}`);
        if (log) {
          // e.g. criu dump `DIR/dump.log` (Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.)
          const criuSaid = new RegExp(`^${escape(`${step} \`${log}\` (`)}(Error \\(criu/.*)\\)$`).exec(msg);
          assert.ok(criuSaid, `${flags.join(' ')}: ${msg}`);
          assert.ok(fs.readFileSync(log, 'utf8').includes(criuSaid[1]), `CRIU's log ${log} has "${criuSaid[1]}"`);
        }
      }
      untouched(c);
    }
    // Paused: the failed dump leaves it paused (frozen), and it resumes.
    callOk(c.ctx, ['pause', c.ctx.id]);
    fails(call(c.ctx, ['checkpoint', '--image-path', images, c.ctx.id]));
    untouched(c, 'paused');
    callOk(c.ctx, ['resume', c.ctx.id]);
    untouched(c);
    await killAndDelete(c);

    // runc's checkpoint fails here too, and its container runs on.
    const rc = running(t, requireRunc());
    fails(call(rc.ctx, ['checkpoint', '--image-path', path.join(rc.ctx.dir, 'images'), rc.ctx.id]));
    untouched(rc);
    await killAndDelete(rc);
  });

  it('a criu that cannot be executed (--criu /nonexistent/criu): exit 1 naming it, the container untouched, restore leaves nothing', opts, async (t) => {
    const c = running(t);
    const r = call(c.ctx, ['--criu', '/nonexistent/criu', 'checkpoint', '--image-path', path.join(c.ctx.dir, 'images'), c.ctx.id]);
    fails(r);
    // runc: CRIU version check failed: fork/exec /nonexistent/criu: no such file or directory
    if (!BIN_IS_RUNC) assert.equal(msgOf(r), 'exec `/nonexistent/criu` (criu swrk: is criu installed? --criu gives its path): ENOENT (No such file or directory)');
    untouched(c);
    await killAndDelete(c);

    const ctx = setup(t);
    const images = fakeImages(ctx);
    const criuBefore = criuPids();
    const rr = call(ctx, ['--criu', '/nonexistent/criu', 'restore', '-d', '-b', ctx.bundle, '--image-path', images, ctx.id]);
    fails(rr);
    if (!BIN_IS_RUNC) assert.match(msgOf(rr), /^exec `\/nonexistent\/criu` .*ENOENT/);
    restoreLeftNothing(ctx, criuBefore);
  });

  it('a restore CRIU cannot do exits 1 with CRIU\'s error and leaves nothing: no state, cgroup, process or mount (detached and foreground)', opts, (t) => {
    for (const detach of [['-d'], []]) {
      const ctx = setup(t, { id: uniqueId('restore') });
      const images = fakeImages(ctx);
      const criuBefore = criuPids();
      const r = call(ctx, ['restore', ...detach, '-b', ctx.bundle, '--image-path', images, ctx.id]);
      fails(r);
      const msg = msgOf(r);
      if (!BIN_IS_RUNC && CRIU.state === 'missing') assert.match(msg, /^exec `criu` .*ENOENT/, msg);
      else if (!BIN_IS_RUNC) {
        // e.g. criu restore `DIR/restore.log` (Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.)
        assert.ok(msg.startsWith(`criu restore \`${images}/restore.log\` (`), msg);
        if (CRIU.state === 'broken') assert.match(msg, /\(Error \(criu\/.*\)$/, msg);
      }
      restoreLeftNothing(ctx, criuBefore);
    }
  });

  it('restore from a missing --image-path (or one without descriptors.json): exit 1 naming it, nothing made', opts, (t) => {
    const ctx = setup(t);
    const missing = path.join(ctx.dir, 'no-such-images');
    const empty = path.join(ctx.dir, 'empty');
    fs.mkdirSync(empty);
    const criuBefore = criuPids();
    const r = call(ctx, ['restore', '-d', '-b', ctx.bundle, '--image-path', missing, ctx.id]);
    fails(r);
    // runc: open DIR/descriptors.json: no such file or directory (and it makes DIR). Both check
    // CRIU's version first: without criu, that is the error.
    const noCriu = CRIU.state === 'missing' ? 'exec `criu` (criu swrk: is criu installed? --criu gives its path): ENOENT (No such file or directory)' : undefined;
    if (!BIN_IS_RUNC) assert.equal(msgOf(r), noCriu ?? `open \`${missing}\`: ENOENT (No such file or directory)`);
    if (!BIN_IS_RUNC) assert.ok(!fs.existsSync(missing), 'the images directory is not made');
    const e = call(ctx, ['restore', '-d', '-b', ctx.bundle, '--image-path', empty, ctx.id]);
    fails(e);
    if (!BIN_IS_RUNC) assert.equal(msgOf(e), noCriu ?? `read \`${empty}/descriptors.json\`: ENOENT (No such file or directory)`);
    restoreLeftNothing(ctx, criuBefore);
  });

  it('checkpoint\'s flag checks fail before CRIU with runc\'s messages; the container runs on', opts, async (t) => {
    // [flags, runts' message (a function of the images dir), whether runc 1.1.5 says the same]
    const cases: Array<[string[], (images: string) => string, boolean]> = [
      [['--parent-path', '/abs'], () => '--parent-path must be relative', true],
      // runc: "... stat DIR/missing: no such file or directory" (compared below up to the errno).
      [['--parent-path', 'missing'], (i) => `invalid --parent-path: stat ${i}/missing: ENOENT (no such file or directory)`, false],
      [['--empty-ns', 'pid'], () => 'namespace "pid" is not supported', true],
      [['--empty-ns', 'network', '--empty-ns', 'ipc'], () => 'namespace "ipc" is not supported', true],
      // runc 1.1.5: "Invalid manage cgroups mode" (later runc: runts' words); it makes the images dir first.
      [['--manage-cgroups-mode', 'bogus'], () => 'Invalid manage-cgroups-mode value', false],
      [['--page-server', 'foo'], () => 'Use --page-server ADDRESS:PORT to specify page server', true],
      [['--page-server', ':5'], () => 'Use --page-server ADDRESS:PORT to specify page server', true],
      [['--page-server', 'foo:bar'], () => 'Invalid port number', true],
      [['--page-server', '[::1]:x'], () => 'Invalid port number', true],
      // runc: invalid value "x" for flag -status-fd: parse error (and "Incorrect Usage" on stdout).
      [['--status-fd', 'x'], () => 'invalid value "x" for flag --status-fd', false],
    ];
    const ours = running(t);
    const runc = running(t, requireRunc());
    for (const [i, [flags, expected, same]] of cases.entries()) {
      const said = [ours, runc].map((c) => {
        const images = path.join(c.ctx.dir, `images-${i}`);
        const r = call(c.ctx, ['checkpoint', '--image-path', images, ...flags, c.ctx.id]);
        fails(r);
        untouched(c);
        return { images, msg: msgOf(r) };
      });
      if (!BIN_IS_RUNC) assert.equal(said[0].msg, expected(said[0].images), flags.join(' '));
      if (same) assert.equal(said[0].msg, said[1].msg, `${flags.join(' ')}: runts and runc`);
      if (flags[1] === 'missing') {
        for (const s of said) assert.ok(s.msg.startsWith(`invalid --parent-path: stat ${s.images}/missing: `) && /no such file or directory/i.test(s.msg), s.msg);
      }
    }
    await killAndDelete(ours);
    await killAndDelete(runc);
  });

  it('checkpoint of a created, a stopped or an unknown container: runc\'s messages, the container left as it was', opts, async (t) => {
    const said = await Promise.all([BIN, requireRunc()].map(async (bin) => {
      const ctx = setup(t, { bin, mutate: shell('exec sleep 1000') });
      callOk(ctx, ['create', '--pid-file', path.join(ctx.dir, 'init.pid'), '-b', ctx.bundle, ctx.id]);
      const pid = readPidFile(path.join(ctx.dir, 'init.pid'))!;
      const c = { ctx, pid, start: startTime(pid)! };
      const checkpoint = (id: string) => {
        const r = call(ctx, ['checkpoint', '--image-path', path.join(ctx.dir, 'images'), id]);
        fails(r);
        return msgOf(r);
      };
      const created = checkpoint(ctx.id);
      untouched(c, 'created');
      const unknown = checkpoint('no-such-container');
      callOk(ctx, ['kill', ctx.id, 'KILL']);
      await waitStatus(ctx, 'stopped');
      const stopped = checkpoint(ctx.id);
      assert.equal(stateOf(ctx)?.status, 'stopped');
      assert.deepEqual(fs.readdirSync(ctx.root), [ctx.id]);
      callOk(ctx, ['delete', ctx.id]);
      assertNothingLeft(ctx);
      return [created, stopped, unknown];
    }));
    if (!BIN_IS_RUNC) {
      assert.deepEqual(said[0], ['Container cannot be checkpointed in created state', 'Container cannot be checkpointed in stopped state', 'container does not exist']);
    }
    assert.deepEqual(said[0], said[1], 'runts and runc');
  });

  it('restore into an existing id, and a terminal restore with -d and no --console-socket: exit 1, nothing new', opts, async (t) => {
    const c = running(t);
    const images = fakeImages(c.ctx);
    const r = call(c.ctx, ['restore', '-d', '-b', c.ctx.bundle, '--image-path', images, c.ctx.id]);
    fails(r);
    // runc 1.1.5: "container with given ID already exists"; runts gives its create's words.
    if (!BIN_IS_RUNC) assert.equal(msgOf(r), `container with id exists: ${c.ctx.id}`);
    untouched(c);
    await killAndDelete(c);

    const said = [BIN, requireRunc()].map((bin) => {
      const ctx = setup(t, { bin, mutate: (s) => (s.process.terminal = true) });
      const criuBefore = criuPids();
      const tr = call(ctx, ['restore', '-d', '-b', ctx.bundle, '--image-path', fakeImages(ctx), ctx.id]);
      fails(tr);
      restoreLeftNothing(ctx, criuBefore);
      return msgOf(tr);
    });
    if (!BIN_IS_RUNC) assert.equal(said[0], 'cannot allocate tty if runts will detach without setting console socket');
    assert.equal(said[0].replace(/\brunts\b/g, 'runc'), said[1], 'runts and runc');
  });

  it('--help lists every flag runc\'s checkpoint and restore take', opts, () => {
    const expected: Record<string, string[]> = {
      checkpoint: ['--image-path', '--work-path', '--parent-path', '--leave-running', '--tcp-established', '--ext-unix-sk', '--shell-job', '--lazy-pages',
        '--status-fd', '--page-server', '--file-locks', '--pre-dump', '--manage-cgroups-mode', '--empty-ns', '--auto-dedup'],
      restore: ['--console-socket', '--image-path', '--work-path', '--tcp-established', '--ext-unix-sk', '--shell-job', '--file-locks', '--manage-cgroups-mode',
        '--bundle', '-b', '--detach', '-d', '--pid-file', '--no-subreaper', '--no-pivot', '--empty-ns', '--auto-dedup', '--lazy-pages', '--lsm-profile', '--lsm-mount-context'],
    };
    for (const [verb, flags] of Object.entries(expected)) {
      const ours = helpFlags(BIN, verb);
      const runcs = helpFlags(requireRunc(), verb);
      assert.deepEqual(flags.filter((f) => !ours.has(f)), [], `${verb}: flags missing from runts' help`);
      assert.deepEqual([...runcs].filter((f) => !ours.has(f)), [], `${verb}: flags runc's help lists and runts' does not`);
      // (The list above is runc 1.1.5's: a check that its help was parsed.)
      assert.deepEqual(flags.filter((f) => !runcs.has(f)), [], `${verb}: runc's help parsed (${[...runcs].join(' ')})`);
    }
  });
});
