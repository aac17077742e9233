/**
 * The compiled runtime must not take code or configuration from the directory it is started
 * in: Bun standalone executables autoload bunfig.toml (whose `preload` runs scripts) and .env
 * unless built without it, and a root runtime is started from directories others may write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, BIN_IS_RUNC } from './helpers.ts';

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
