// process.terminal: the pty the init opens in the container, sent to a
// --console-socket (received by crates/core/examples/recvtty, like runc's
// contrib/cmd/recvtty) or proxied by a foreground `run` (under util-linux
// `script`, which gives the runtime a terminal), checked from inside (tty,
// `[ -t N ]`, stty size, /dev/console) and compared with runc on the same
// bundle; and runc's errors for a terminal without a console socket and the
// reverse, leaving nothing behind.
//
// runc refuses `run --console-socket` in the foreground ("cannot use console
// socket if runc will not detach or allocate tty"); runts accepts it, so those
// tests compare with `runc run -d --console-socket`.

import { before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BIN_IS_RUNC,
  REPO,
  RUN_TIMEOUT_MS,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  call,
  callOk,
  describeCall,
  ensureSubreaper,
  lastLine,
  lines,
  poll,
  requireRunc,
  run,
  setup,
  shell,
  stateOf,
  waitStatus,
} from './helpers.ts';
import type { Ctx, Spec } from './helpers.ts';

// `create` and `run -d` leave inits to be reparented: run beneath a reaping subreaper.
ensureSubreaper();

const opts = { timeout: TEST_TIMEOUT_MS };

// ---------------------------------------------------------------------------
// recvtty

const RECVTTY = path.join(REPO, 'target/release/examples/recvtty');

/** Builds the recvtty example unless it is newer than its source. */
function recvttyBinary(): string {
  const src = path.join(REPO, 'crates/core/examples/recvtty.rs');
  try {
    if (fs.statSync(RECVTTY).mtimeMs >= fs.statSync(src).mtimeMs) return RECVTTY;
  } catch {
    // not built yet
  }
  const r = spawnSync('cargo', ['build', '--release', '--example', 'recvtty', '-p', 'runts-core'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`cargo build --example recvtty failed: ${r.error ?? r.stderr}`);
  return RECVTTY;
}

interface Received {
  status: number | null;
  /** What the container wrote to its terminal, "\r\n" turned into "\n". */
  output: string;
  /** The name sent with the master. */
  name: string;
  stderr: string;
}

/** A recvtty listening on `<ctx.dir>/<tag>.sock` (writing `input` into the
 * master once it has it); `done` resolves when the pty reports EIO. Killed by
 * the test's cleanup if still running. */
async function listen(t: TestContext, ctx: Ctx, tag: string, input?: string, extra: string[] = []): Promise<{ socket: string; done: Promise<Received> }> {
  const socket = path.join(ctx.dir, `${tag}.sock`);
  const nameFile = path.join(ctx.dir, `${tag}.name`);
  const args = ['--name-file', nameFile, ...(input === undefined ? [] : ['--input', input]), ...extra, socket];
  const child = spawn(recvttyBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let exited = false;
  t.after(() => {
    if (!exited) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  timer.unref();
  const done = new Promise<Received>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      exited = true;
      clearTimeout(timer);
      const name = fs.existsSync(nameFile) ? fs.readFileSync(nameFile, 'utf8') : '';
      resolve({ status, output: out.replace(/\r\n/g, '\n'), name, stderr: err });
    });
  });
  // recvtty renames the socket into place once it listens.
  await poll(`recvtty to listen on ${socket}`, () => (fs.existsSync(socket) ? true : undefined));
  return { socket, done };
}

// ---------------------------------------------------------------------------
// A terminal for the runtime: util-linux script(1)

interface ScriptResult {
  status: number | null;
  /** The terminal's output without "\r", NULs and "^@": at the end of its
   * input script(1) writes a byte into a pty in raw mode, which the
   * container's terminal echoes (with runc too). */
  output: string;
}

/** Runs the shell command `cmd` under `script`, on a new pty; exits with its status. */
function underScript(cmd: string, input = ''): ScriptResult {
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
    input,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
  });
  if (r.error) throw r.error;
  return { status: r.status, output: (r.stdout ?? '').replace(/[\r\0]|\^@/g, '') };
}

/** `BIN --root ROOT run -b BUNDLE ID` as a shell word list. */
function runCmd(ctx: Ctx, extra = ''): string {
  return `${ctx.bin} --root ${ctx.root} run ${extra} -b ${ctx.bundle} ${ctx.id}`;
}

// ---------------------------------------------------------------------------

/** Inside the container: what its terminal looks like. */
const PROBE = [
  'tty',
  'stty size',
  '[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo "tty on 0 1 2"',
  "for f in 0 1 2; do readlink /proc/self/fd/$f; done",
  // /dev/console is a bind mount of the slave: the same device
  '[ "$(stat -c %t:%T /dev/console)" = "$(stat -c %t:%T "$(tty)")" ] && echo "console is the pty"',
  // pid 1's descriptors: only the pty (no pipeline, which would give pid 1 a
  // pipe for a moment)
  'ls -1 /proc/1/fd',
  'echo out',
  'exit 5',
].join('; ');

const EXPECTED = [
  '/dev/pts/0',
  '33 101',
  'tty on 0 1 2',
  '/dev/pts/0',
  '/dev/pts/0',
  '/dev/pts/0',
  'console is the pty',
  '0',
  '1',
  '2',
  'out',
];

function terminalBundle(t: TestContext, script: string, o: { bin?: string; mutate?: (s: Spec) => void } = {}): Ctx {
  return setup(t, {
    bin: o.bin,
    mutate: (s) => {
      shell(script)(s);
      s.process.terminal = true;
      s.process.consoleSize = { height: 33, width: 101 };
      o.mutate?.(s);
    },
  });
}

describe('terminal: --console-socket', { skip: SKIP_REASON }, () => {
  before(() => {
    assertBinary();
    recvttyBinary();
  });

  it('create --pidfd-socket: the receiver gets a pidfd of the init, which reports its exit', { ...opts, skip: BIN_IS_RUNC && 'runc 1.1 has no --pidfd-socket' }, async (t) => {
    const ctx = setup(t, { mutate: shell('sleep 100') });
    const { socket, done } = await listen(t, ctx, 'pidfd', undefined, ['--pidfd']);
    callOk(ctx, ['create', '--pidfd-socket', socket, '-b', ctx.bundle, ctx.id]);
    const pid = stateOf(ctx)?.pid;
    callOk(ctx, ['kill', ctx.id, 'KILL']);
    const got = await done;
    assert.equal(got.status, 0, got.stderr);
    assert.deepEqual(lines(got.output), [`pidfd:${pid}`, `Pid:\t${pid}`, 'exited']);
    callOk(ctx, ['delete', ctx.id]);
    assertNothingLeft(ctx);
  });

  for (const verb of ['create', 'run -d'] as const) {
    it(`${verb} --console-socket: same terminal, same name and output as runc`, opts, async (t) => {
      const flow = async (bin?: string) => {
        const ctx = terminalBundle(t, PROBE, { bin });
        const { socket, done } = await listen(t, ctx, 'console');
        if (verb === 'create') {
          callOk(ctx, ['create', '--console-socket', socket, '-b', ctx.bundle, ctx.id]);
          assert.equal(stateOf(ctx)?.status, 'created');
          callOk(ctx, ['start', ctx.id]);
        } else {
          callOk(ctx, ['run', '-d', '--console-socket', socket, '-b', ctx.bundle, ctx.id]);
        }
        const got = await done;
        await waitStatus(ctx, 'stopped');
        callOk(ctx, ['delete', ctx.id]);
        assert.equal(got.status, 0, got.stderr);
        assertNothingLeft(ctx);
        return got;
      };
      const ours = await flow();
      assert.deepEqual(lines(ours.output), EXPECTED);
      assert.equal(ours.name, '/dev/ptmx');
      const theirs = await flow(requireRunc());
      assert.deepEqual(lines(ours.output), lines(theirs.output));
      assert.equal(ours.name, theirs.name);
    });
  }

  it('the receiver can write to the container (input through the master)', opts, async (t) => {
    const ctx = terminalBundle(t, 'read x; echo "got:$x"');
    const { socket, done } = await listen(t, ctx, 'console', 'hello\n');
    callOk(ctx, ['run', '-d', '--console-socket', socket, '-b', ctx.bundle, ctx.id]);
    const got = await done;
    await waitStatus(ctx, 'stopped');
    callOk(ctx, ['delete', ctx.id]);
    assert.match(got.output, /^got:hello$/m);
    assertNothingLeft(ctx);
  });
});

describe('terminal: foreground run proxies the pty', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('CVE-2025-52565: /dev/console is never bound through a symlink the rootfs put there', { ...opts, skip: BIN_IS_RUNC && 'runc 1.1.5 has the bug' }, (t) => {
    // The container's /dev is a directory of its own: a working ptmx and pts, and a console
    // that links to a file of the host.
    let evilDev = '';
    const ctx = terminalBundle(t, 'echo ran', {
      mutate: (s) => {
        s.mounts = (s.mounts ?? []).map((m) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: evilDev, options: ['rbind'] } : m));
      },
    });
    evilDev = path.join(ctx.dir, 'evil-dev');
    const victim = path.join(ctx.dir, 'victim');
    fs.writeFileSync(victim, 'host file\n');
    fs.mkdirSync(path.join(evilDev, 'pts'), { recursive: true });
    fs.symlinkSync('pts/ptmx', path.join(evilDev, 'ptmx'));
    fs.symlinkSync(victim, path.join(evilDev, 'console'));
    const spec = JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8')) as Spec;
    spec.mounts = (spec.mounts ?? []).map((m) => (m.destination === '/dev' ? { ...m, source: evilDev } : m));
    fs.writeFileSync(path.join(ctx.bundle, 'config.json'), JSON.stringify(spec));
    const r = underScript(runCmd(ctx));
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /mount `\/dev\/console` \(not a file or a character device \(a symlink\?\)\)/);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'host file\n');
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${victim} `));
    assertNothingLeft(ctx);
  });

  it('the container has the pty on 0, 1, 2; output and status come through', opts, (t) => {
    // runc copies script's 0x0 window size over consoleSize, racing the
    // container's `stty size` ("stty: standard input: ..."); runts keeps
    // consoleSize when the host terminal has no size. Compare without that line.
    const drop = (l: string[]) => l.filter((_, i) => i !== 1);
    const ours = terminalBundle(t, PROBE);
    const r = underScript(runCmd(ours));
    assert.equal(r.status, 5, r.output);
    if (BIN_IS_RUNC) assert.deepEqual(drop(lines(r.output)), drop(EXPECTED));
    else assert.deepEqual(lines(r.output), EXPECTED);
    assertNothingLeft(ours);
    const theirs = terminalBundle(t, PROBE, { bin: requireRunc() });
    const rr = underScript(runCmd(theirs));
    assert.equal(rr.status, 5, rr.output);
    assert.deepEqual(drop(lines(r.output)), drop(lines(rr.output)));
  });

  it('input reaches the container', opts, (t) => {
    const ctx = terminalBundle(t, 'read x; echo "got:$x"; exit 3');
    const r = underScript(runCmd(ctx), 'hello\n');
    assert.equal(r.status, 3, r.output);
    assert.match(r.output, /^got:hello$/m);
    assertNothingLeft(ctx);
  });

  it('all output is flushed before run exits', opts, (t) => {
    const ctx = terminalBundle(t, 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done; echo END');
    const r = underScript(runCmd(ctx));
    assert.equal(r.status, 0, r.output.slice(-500));
    const l = lines(r.output);
    assert.equal(l.length, 2001);
    assert.equal(l[1999], 'line 1999');
    assert.equal(l[2000], 'END');
    assertNothingLeft(ctx);
  });

  it('raw mode while it runs, the host terminal restored after; SIGWINCH resizes the pty', opts, (t) => {
    const ctx = terminalBundle(
      t,
      'stty size; i=0; while [ "$(stty size)" != "50 120" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size',
    );
    const before = path.join(ctx.dir, 'before');
    const during = path.join(ctx.dir, 'during');
    const after = path.join(ctx.dir, 'after');
    // No job control in `sh -c`: the runtime stays in the terminal's foreground
    // process group, so the kernel sends it SIGWINCH when stty changes the size.
    const inner = [
      'stty rows 40 cols 90',
      `stty -g > ${before}`,
      `${runCmd(ctx)} &`,
      // until the runtime has put the terminal in raw mode (it proxies), then a
      // moment for the container's first `stty size`
      `i=0; while [ "$(stty -g)" = "$(cat ${before})" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done`,
      `stty -g > ${during}`,
      'sleep 0.3',
      'stty rows 50 cols 120',
      'wait $!; echo "status $?"',
      'stty rows 40 cols 90',
      `stty -g > ${after}`,
    ].join('\n');
    const r = underScript(`sh -c '${inner}'`);
    assert.equal(r.status, 0, r.output);
    // The host size at start replaces consoleSize (runc's tty.resize after start).
    assert.deepEqual(lines(r.output), ['40 90', '50 120', 'status 0']);
    const read = (f: string) => fs.readFileSync(f, 'utf8').trim();
    assert.notEqual(read(during), read(before), 'the host terminal should be in raw mode while the container runs');
    assert.equal(read(after), read(before), 'the host terminal settings should be restored');
    assertNothingLeft(ctx);
  });

  it('in a user namespace, as a non-root user: the pty is the process user\'s (as runc)', opts, (t) => {
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const mutate = (s: Spec) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = map;
      s.linux!.gidMappings = map;
      s.process.user = { uid: 1000, gid: 1000 };
    };
    const probe = 'tty; id -u; stat -c "%u %a" "$(tty)"; [ "$(stat -c %t:%T /dev/console)" = "$(stat -c %t:%T "$(tty)")" ] && echo console; exit 2';
    const expected = ['/dev/pts/0', '1000', '1000 620', 'console'];
    const ours = terminalBundle(t, probe, { mutate });
    const r = underScript(runCmd(ours));
    assert.equal(r.status, 2, r.output);
    assert.deepEqual(lines(r.output), expected);
    assertNothingLeft(ours);
    const theirs = terminalBundle(t, probe, { bin: requireRunc(), mutate });
    const rr = underScript(runCmd(theirs));
    assert.equal(rr.status, 2, rr.output);
    assert.deepEqual(lines(rr.output), expected);
  });

  it('without a host terminal the pty is still proxied (runc needs one)', { ...opts, skip: BIN_IS_RUNC && 'runc needs a host terminal' }, (t) => {
    const ctx = terminalBundle(t, '[ -t 0 ] && [ -t 1 ] && echo tty; stty size; exit 4');
    const r = run(ctx);
    assert.equal(r.status, 4, r.stderr);
    // ONLCR is cleared on the pty (as runc does before proxying): plain "\n".
    assert.equal(r.stdout, 'tty\n33 101\n');
    assertNothingLeft(ctx);
  });
});

describe('terminal: errors', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  /** Expects status 1 and nothing left; returns the last stderr line. */
  function failsCleanly(ctx: Ctx, args: string[]): string {
    const r = call(ctx, args);
    assert.equal(r.status, 1, describeCall(r));
    assertNothingLeft(ctx);
    return lastLine(r.stderr);
  }

  it('a console socket without process.terminal', opts, (t) => {
    for (const verb of [['run'], ['run', '-d'], ['create']]) {
      const ctx = setup(t, { mutate: shell('true') });
      const socket = path.join(ctx.dir, 'nobody.sock');
      const last = failsCleanly(ctx, [...verb, '--console-socket', socket, '-b', ctx.bundle, ctx.id]);
      assert.match(last, /cannot use console socket if (runts|runc) will not detach or allocate tty/);
    }
  });

  it('run --console-socket in the foreground is refused, as runc refuses it', opts, (t) => {
    const ctx = terminalBundle(t, PROBE);
    const socket = path.join(ctx.dir, 'console.sock');
    const last = failsCleanly(ctx, ['run', '--console-socket', socket, '-b', ctx.bundle, ctx.id]);
    assert.match(last, /cannot use console socket if (runts|runc) will not detach or allocate tty/);
  });

  it('process.terminal on a detached container without a console socket', opts, (t) => {
    for (const verb of [['run', '-d'], ['create']]) {
      const ctx = terminalBundle(t, 'true');
      const last = failsCleanly(ctx, [...verb, '-b', ctx.bundle, ctx.id]);
      assert.match(last, /cannot allocate tty if (runts|runc) will detach without setting console socket/);
    }
  });

  it('a console socket nobody listens on', opts, (t) => {
    const ctx = terminalBundle(t, 'true');
    const socket = path.join(ctx.dir, 'missing.sock');
    const last = failsCleanly(ctx, ['create', '--console-socket', socket, '-b', ctx.bundle, ctx.id]);
    if (!BIN_IS_RUNC) assert.match(last, /connect console socket `.*missing\.sock`: ENOENT/);
  });

  it('a spec without a devpts instance fails create naming /dev/ptmx', { ...opts, skip: BIN_IS_RUNC && 'runts message' }, async (t) => {
    const ctx = terminalBundle(t, 'true', {
      mutate: (s) => {
        s.mounts = (s.mounts ?? []).filter((m) => m.destination !== '/dev/pts');
      },
    });
    const { socket } = await listen(t, ctx, 'console');
    const last = failsCleanly(ctx, ['create', '--console-socket', socket, '-b', ctx.bundle, ctx.id]);
    assert.match(last, /\/dev\/ptmx/);
  });
});
