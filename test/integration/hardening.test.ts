/**
 * The compiled runtime must not take code or configuration from the directory it is started
 * in: Bun standalone executables autoload bunfig.toml (whose `preload` runs scripts) and .env
 * unless built without it, and a root runtime is started from directories others may write.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { ADDON_CACHE } from '../../src/paths.ts';
import { BIN, BIN_IS_RUNC, SKIP_REASON, TEST_TIMEOUT_MS, callRaw, cleanupId, describeCall, lastLine, patchConfig, setup, shell } from './helpers.ts';

test('bunfig.toml preloads and .env in the working directory are ignored', { skip: BIN_IS_RUNC && 'runts-specific' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'runts-cwd-'));
  try {
    const marker = join(dir, 'preloaded');
    writeFileSync(join(dir, 'bunfig.toml'), 'preload = ["./p.js"]\n[run]\npreload = ["./p.js"]\n');
    writeFileSync(join(dir, 'p.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`);
    writeFileSync(join(dir, '.env'), 'RUNTS_NATIVE=/nonexistent.node\n');
    for (const args of [['--version'], ['--root', join(dir, 'root'), 'state', 'nope'], ['features']]) {
      const r = spawnSync(BIN, args, { cwd: dir, encoding: 'utf8', timeout: 20_000 });
      assert.ok(r.status === 0 || args[2] === 'state', `${args.join(' ')}: ${r.stderr}`);
      assert.equal(existsSync(marker), false, `${args.join(' ')} ran the bunfig.toml preload`);
      assert.doesNotMatch(r.stderr, /nonexistent\.node/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The compiled runts loads its embedded addon from a memfd (src/native/addon.ts), never from a
 * file: Bun's own load wrote a copy to $TMPDIR and kept it for good (one per build), and could
 * not map it from a noexec or read-only TMPDIR (CIS-hardened hosts). So every verb an engine
 * sends works with such a TMPDIR, and no verb leaves anything in any TMPDIR.
 */
describe('the addon comes from a memfd: nothing in TMPDIR, whatever it is', { skip: (BIN_IS_RUNC && 'runts-specific') || SKIP_REASON }, () => {
  for (const [kind, options] of [['exec-able', 'size=8m'], ['noexec', 'noexec,size=8m'], ['read-only', 'ro,size=8m']] as const) {
    it(`${kind}: run, create/start/state/kill/delete, concurrent calls, check; TMPDIR stays empty`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
      const ctx = setup(t, { mutate: shell('echo out-$((6*7)); sleep 30') });
      const tmp = join(ctx.dir, 'tmp');
      mkdirSync(tmp);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', tmp], { encoding: 'utf8' });
      assert.equal(m.status, 0, m.stderr);
      t.after(() => spawnSync('umount', ['-l', tmp]));
      const env = { TMPDIR: tmp, BUN_TMPDIR: tmp };
      const rt = (args: string[]) => callRaw(BIN, ['--root', ctx.root, ...args], { env });
      const ok = (args: string[]) => {
        const r = rt(args);
        assert.equal(r.status, 0, describeCall(r));
        return r;
      };
      // Bun's own load failed here with "...node: failed to map segment from shared object".
      ok(['create', '-b', ctx.bundle, ctx.id]);
      assert.equal(JSON.parse(ok(['state', ctx.id]).stdout).status, 'created');
      ok(['start', ctx.id]);
      // Calls at once (Bun's load left a temporary copy behind when two raced).
      const together = await Promise.all(
        Array.from({ length: 6 }, () => callAsync(BIN, ['--root', ctx.root, 'kill', ctx.id, 'CONT'], env)),
      );
      for (const r of together) assert.equal(r.status, 0, r.stderr);
      ok(['kill', ctx.id, 'KILL']);
      for (let i = 0; i < 100 && JSON.parse(ok(['state', ctx.id]).stdout).status !== 'stopped'; i++) spawnSync('sleep', ['0.05']);
      ok(['delete', ctx.id]);
      // This one exits by itself (a run cut off by the timeout would leave its container).
      patchConfig(ctx, shell('echo out-$((6*7))'));
      t.after(() => cleanupId(ctx, `${ctx.id}-run`));
      const run = callRaw(BIN, ['--root', ctx.root, 'run', '-b', ctx.bundle, `${ctx.id}-run`], { env, timeoutMs: 20_000 });
      assert.equal(run.status, 0, describeCall(run));
      assert.match(run.stdout, /^out-42$/m, describeCall(run));
      const check = JSON.parse(ok(['check', '--format', 'json']).stdout) as { area: string; status: string; detail: string }[];
      const line = check.find((f) => f.area === 'TMPDIR');
      assert.equal(line?.status, 'ok', JSON.stringify(line));
      assert.match(line!.detail, /memfd/);
      assert.deepEqual(readdirSync(tmp), [], `left in TMPDIR (${kind})`);
    });
  }

  it('as root, runts maps its build\'s copy in /var/lib/runts/addon; older builds\' copies beyond three are removed', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ctx = setup(t, { mutate: shell('sleep 30') });
    // Copies of four older builds (same mode, older mtimes) and none of ours: ours is made
    // anew, and the oldest two of the others go.
    for (const f of readdirSync(ADDON_CACHE)) rmSync(join(ADDON_CACHE, f));
    const old = ['a', 'b', 'c', 'd'].map((x, i) => {
      const f = join(ADDON_CACHE, `1-runts.linux-x64-gnu-old${x}.node`);
      writeFileSync(f, 'x', { mode: 0o500 });
      const when = new Date(Date.now() - (i + 1) * 3600_000);
      utimesSync(f, when, when);
      return f;
    });
    const { maps } = await mapsOfRun(t, ['--root', ctx.root, 'run', '-b', ctx.bundle, ctx.id]);
    const addon = maps.filter((l) => /\.node|runts-addon/.test(l));
    assert.ok(addon.length > 0, 'no addon mapping');
    for (const l of addon) assert.match(l, /\/var\/lib\/runts\/addon\/\d+-runts\.linux-x64-gnu-\w+\.node$/, l);
    const ours = addon[0].replace(/.* (\/var\/lib\/runts\/addon\/.*)$/, '$1');
    assert.deepEqual(readdirSync(ADDON_CACHE).map((f) => join(ADDON_CACHE, f)).sort(), [ours, old[0], old[1]].sort());
    const st = statSync(ours);
    assert.equal(st.uid, 0);
    assert.equal(st.mode & 0o777, 0o500);
    assert.equal(statSync(ADDON_CACHE).mode & 0o777, 0o700);
    for (const f of old.slice(0, 2)) rmSync(f);
  });

  it('a cache on a noexec filesystem is not used: the addon comes from a memfd, and nothing is written there', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ctx = setup(t, { mutate: shell('sleep 30') });
    const { maps, pid } = await mapsOfRun(t, ['--root', ctx.root, 'run', '-b', ctx.bundle, ctx.id], `mount -t tmpfs -o noexec,size=8m tmpfs ${ADDON_CACHE} &&`);
    const addon = maps.filter((l) => /\.node|runts-addon/.test(l));
    assert.ok(addon.length > 0, 'no addon mapping');
    for (const l of addon) assert.match(l, /\/memfd:runts-addon \(deleted\)$/, l);
    // The noexec cache as runts's mount namespace has it.
    assert.deepEqual(readdirSync(`/proc/${pid}/root${ADDON_CACHE}`), []);
  });

  /**
   * vm.memfd_noexec=2 (Linux 6.3) forbids executable memfds; it is per pid namespace, so it is
   * set in one of the test's own, with a noexec tmpfs over the cache in a mount namespace of
   * its own: the last way left. runts cannot start a container there (its init runs from a
   * sealed memfd), but `check` must still load to say so: the addon comes from an unnamed
   * file in TMPDIR (O_TMPFILE), which leaves nothing either.
   */
  it('vm.memfd_noexec=2 and no cache (namespaces of the test): check says FAIL and why, run fails cleanly, TMPDIR stays empty', { timeout: TEST_TIMEOUT_MS }, (t) => {
    if (!existsSync('/proc/sys/vm/memfd_noexec')) return t.skip('no vm.memfd_noexec (kernel before 6.3)');
    const ctx = setup(t);
    const tmp = join(ctx.dir, 'tmp');
    mkdirSync(tmp);
    const inNs = (args: string[]) =>
      spawnSync(
        'unshare',
        ['--pid', '--fork', '--mount', 'sh', '-c', `echo 2 > /proc/sys/vm/memfd_noexec && mount -t tmpfs -o noexec,size=8m tmpfs ${ADDON_CACHE} && exec "$@"`, 'sh', BIN, '--root', ctx.root, ...args],
        { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp }, cwd: ctx.bundle, timeout: 20_000 },
      );
    const check = inNs(['check', '--format', 'json']);
    assert.equal(check.status, 1, check.stderr);
    const found = JSON.parse(check.stdout) as { area: string; status: string; detail: string }[];
    const memfd = found.find((f) => f.area === 'memfd');
    assert.equal(memfd?.status, 'fail', JSON.stringify(memfd));
    assert.match(memfd!.detail, /vm\.memfd_noexec=2.*EACCES/);
    assert.equal(found.find((f) => f.area === 'TMPDIR')?.status, 'warn');
    const run = inNs(['run', ctx.id]);
    assert.equal(run.status, 1, run.stderr);
    assert.match(lastLine(run.stderr), /memfd_create `runts-init` \(vm\.memfd_noexec=2 forbids executable memfds\): EACCES/);
    assert.equal(existsSync(join(ctx.root, ctx.id)), false, 'a state directory was left');
    assert.deepEqual(readdirSync(tmp), []);
    assert.equal(readFileSync('/proc/sys/vm/memfd_noexec', 'utf8').trim(), '0', 'the host\'s value changed');
  });
});

/**
 * The mappings of a `runts run` (foreground, its container sleeping) once its addon is loaded;
 * with `prelude`, run by `unshare --mount sh -c` after that shell command (sh execs runts: the
 * child is runts itself).
 */
async function mapsOfRun(t: TestContext, args: string[], prelude?: string): Promise<{ maps: string[]; pid: number }> {
  const child = prelude
    ? spawn('unshare', ['--mount', 'sh', '-c', `${prelude} exec "$@"`, 'sh', BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const id = args[args.length - 1];
  const root = args[args.indexOf('--root') + 1];
  t.after(() => {
    child.kill('SIGKILL');
    callRaw(BIN, ['--root', root, 'delete', '--force', id]);
  });
  let maps: string[] = [];
  for (let i = 0; i < 200 && !maps.some((l) => /\.node|runts-addon/.test(l)); i++) {
    await new Promise((r) => setTimeout(r, 25));
    try {
      maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8').split('\n');
    } catch {
      break;
    }
  }
  assert.equal(child.exitCode, null, `runts exited: ${stderr}`);
  return { maps, pid: child.pid! };
}

/** A call that does not block the test's event loop (for calls made at once). */
function callAsync(bin: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}
