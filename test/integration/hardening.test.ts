/**
 * The compiled runtime must not take code or configuration from the directory it is started
 * in: Bun standalone executables autoload bunfig.toml (whose `preload` runs scripts) and .env
 * unless built without it, and a root runtime is started from directories others may write.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, BIN_IS_RUNC, SKIP_REASON, TEST_TIMEOUT_MS, callRaw, describeCall, lastLine, setup, shell } from './helpers.ts';

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
      const run = callRaw(BIN, ['--root', ctx.root, 'run', '-b', ctx.bundle, `${ctx.id}-run`], { env, timeoutMs: 20_000 });
      assert.match(run.stdout, /^out-42$/m, describeCall(run));
      const check = JSON.parse(ok(['check', '--format', 'json']).stdout) as { area: string; status: string; detail: string }[];
      const line = check.find((f) => f.area === 'TMPDIR');
      assert.equal(line?.status, 'ok', JSON.stringify(line));
      assert.match(line!.detail, /memfd/);
      assert.deepEqual(readdirSync(tmp), [], `left in TMPDIR (${kind})`);
    });
  }

  it('a running runts maps its addon from a memfd', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ctx = setup(t, { mutate: shell('sleep 30') });
    const child = spawn(BIN, ['--root', ctx.root, 'run', '-b', ctx.bundle, ctx.id], { stdio: 'ignore' });
    t.after(() => {
      child.kill('SIGKILL');
      callRaw(BIN, ['--root', ctx.root, 'delete', '--force', ctx.id]);
    });
    let maps = '';
    for (let i = 0; i < 200 && !maps.includes('runts-addon'); i++) {
      await new Promise((r) => setTimeout(r, 25));
      maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
    }
    const addon = maps.split('\n').filter((l) => /\.node|runts-addon/.test(l));
    assert.ok(addon.length > 0, 'no addon mapping');
    for (const l of addon) assert.match(l, /\/memfd:runts-addon \(deleted\)$/, l);
  });

  /**
   * vm.memfd_noexec=2 (Linux 6.3) forbids executable memfds; it is per pid namespace, so it is
   * set in one of the test's own. runts cannot start a container there (its init runs from a
   * sealed memfd), but `check` must still load to say so: the addon then comes from an
   * unnamed file in TMPDIR (O_TMPFILE), which leaves nothing either.
   */
  it('vm.memfd_noexec=2 (in a pid namespace of the test): check says FAIL and why, run fails cleanly, TMPDIR stays empty', { timeout: TEST_TIMEOUT_MS }, (t) => {
    if (!existsSync('/proc/sys/vm/memfd_noexec')) return t.skip('no vm.memfd_noexec (kernel before 6.3)');
    const ctx = setup(t);
    const tmp = join(ctx.dir, 'tmp');
    mkdirSync(tmp);
    const inNs = (args: string[]) =>
      spawnSync('unshare', ['--pid', '--fork', 'sh', '-c', 'echo 2 > /proc/sys/vm/memfd_noexec && exec "$@"', 'sh', BIN, '--root', ctx.root, ...args], {
        encoding: 'utf8',
        env: { ...process.env, TMPDIR: tmp },
        cwd: ctx.bundle,
        timeout: 20_000,
      });
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

/** A call that does not block the test's event loop (for calls made at once). */
function callAsync(bin: string, args: string[], env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}
