/**
 * The compiled runtime must not take code or configuration from the directory it is started
 * in: Bun standalone executables autoload bunfig.toml (whose `preload` runs scripts) and .env
 * unless built without it, and a root runtime is started from directories others may write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, BIN_IS_RUNC, SKIP_REASON, TEST_TIMEOUT_MS, callRaw, describeCall, setup, shell } from './helpers.ts';

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
 * A noexec or read-only TMPDIR (CIS-hardened hosts): Bun cannot map the embedded addon from its
 * copy there, and runts loads it from a memfd instead (src/native/addon.ts). Every verb an
 * engine sends works, and `check` says what it costs.
 */
describe('TMPDIR noexec or read-only: the addon comes from a memfd', { skip: (BIN_IS_RUNC && 'runts-specific') || SKIP_REASON }, () => {
  for (const [kind, options] of [['noexec', 'noexec,size=8m'], ['read-only', 'ro,size=8m']] as const) {
    it(`${kind}: run, create/start/state/kill/delete, check`, { timeout: TEST_TIMEOUT_MS }, (t) => {
      const ctx = setup(t, { mutate: shell('echo out-$((6*7)); sleep 30') });
      const tmp = join(ctx.dir, 'tmp');
      mkdirSync(tmp);
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', tmp], { encoding: 'utf8' });
      assert.equal(m.status, 0, m.stderr);
      t.after(() => spawnSync('umount', ['-l', tmp]));
      const env = { TMPDIR: tmp, BUN_TMPDIR: '' };
      const rt = (args: string[]) => callRaw(BIN, ['--root', ctx.root, ...args], { env });
      const ok = (args: string[]) => {
        const r = rt(args);
        assert.equal(r.status, 0, describeCall(r));
        return r;
      };
      // Without the fallback, Bun's own error: "...node: failed to map segment from shared object".
      ok(['create', '-b', ctx.bundle, ctx.id]);
      assert.equal(JSON.parse(ok(['state', ctx.id]).stdout).status, 'created');
      ok(['start', ctx.id]);
      ok(['kill', ctx.id, 'KILL']);
      for (let i = 0; i < 100 && JSON.parse(ok(['state', ctx.id]).stdout).status !== 'stopped'; i++) spawnSync('sleep', ['0.05']);
      ok(['delete', ctx.id]);
      const run = callRaw(BIN, ['--root', ctx.root, 'run', '-b', ctx.bundle, `${ctx.id}-run`], { env, timeoutMs: 20_000 });
      assert.match(run.stdout, /^out-42$/m, describeCall(run));
      const check = JSON.parse(ok(['check', '--format', 'json']).stdout) as { area: string; status: string; detail: string }[];
      const line = check.find((f) => f.area === 'TMPDIR');
      assert.equal(line?.status, 'warn', JSON.stringify(line));
      assert.match(line!.detail, /memfd/);
    });
  }
});
