/**
 * The npm packages as a user gets them (issue 14): scripts/pack.sh packs the main package and
 * the platform one, and they are installed offline from the tarballs (their dependencies from
 * npm's cache, which test/setup.sh's npm install filled) into a fresh prefix (`npm install -g`)
 * and a fresh project. Then:
 * `runts` on PATH is the compiled executable itself (install.cjs put it in place of the shim:
 * no JavaScript runtime starts in between), `runts --version`, `runts run` of a busybox bundle,
 * the engine verbs, the hardening (no bunfig.toml preload or .env from the working directory);
 * with install scripts skipped, the shim still runs it; and the README's library example
 * under Node, Bun and Deno from the project's node_modules.
 */
import { spawnSync } from 'node:child_process';
import type { SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

const repo = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
const root = (process.getuid?.() ?? 1) === 0;
const work = mkdtempSync(join(tmpdir(), 'runts-packages-'));
after(() => rmSync(work, { recursive: true, force: true }));

function sh(cmd: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, ...opts });
  assert.equal(r.error, undefined, `${cmd} ${args.join(' ')}: ${r.error}`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
  return String(r.stdout ?? '');
}

const isElf = (file: string) => readFileSync(file).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));

describe('the npm packages, installed from their tarballs', { skip: !root && 'needs root (it runs containers)' }, () => {
  const out = join(work, 'tarballs');
  let tarballs: string[] = [];
  const bundle = join(work, 'bundle');
  before(() => {
    tarballs = sh('bash', [join(repo, 'scripts/pack.sh'), out]).trim().split('\n');
    assert.deepEqual(tarballs.map((t) => t.replace(/.*\//, '')).sort(), ['runts-0.1.0.tgz', 'runts-linux-x64-gnu-0.1.0.tgz'].sort());
    sh('bash', [join(repo, 'test/fixtures/make-bundle.sh'), bundle]);
  });
  const npmInstall = (args: string[], cwd?: string) => sh('npm', ['install', '--no-audit', '--no-fund', '--offline', ...args, ...tarballs], { cwd });
  const config = (args: string[]) => {
    const c = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    c.process.args = args;
    c.process.terminal = false;
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
  };

  test('npm install -g: runts on PATH is the executable itself; run, the engine verbs, no code from the cwd', { timeout: 300_000 }, () => {
    const prefix = join(work, 'prefix');
    npmInstall(['-g', '--prefix', prefix]);
    const onPath = join(prefix, 'bin/runts');
    const target = sh('readlink', ['-f', onPath]).trim();
    assert.ok(isElf(target), `${onPath} -> ${target} is not the compiled executable`);
    const platformBin = join(prefix, 'lib/node_modules/runts-linux-x64-gnu/runts');
    const nested = join(prefix, 'lib/node_modules/runts/node_modules/runts-linux-x64-gnu/runts');
    const platform = existsSync(platformBin) ? platformBin : nested;
    assert.equal(statSync(target).size, statSync(platform).size, 'the platform package\'s executable');
    assert.match(sh(onPath, ['--version']), /^runts version 0\.1\.0\ncommit: [0-9a-f]{7,}/);
    const state = join(work, 'state-g');
    config(['sh', '-c', 'echo hello from $(hostname)']);
    assert.match(sh(onPath, ['--root', state, 'run', '-b', bundle, 'pkg-run']), /^hello from /m);
    config(['sleep', '100']);
    // (The created container keeps create's stdio: not pipes this test would wait on.)
    sh(onPath, ['--root', state, 'create', '-b', bundle, 'pkg-c'], { stdio: 'ignore' });
    assert.equal(JSON.parse(sh(onPath, ['--root', state, 'state', 'pkg-c'])).status, 'created');
    sh(onPath, ['--root', state, 'start', 'pkg-c']);
    assert.equal(JSON.parse(sh(onPath, ['--root', state, 'state', 'pkg-c'])).status, 'running');
    sh(onPath, ['--root', state, 'kill', 'pkg-c', 'KILL']);
    sh(onPath, ['--root', state, 'delete', '--force', 'pkg-c']);
    assert.equal(sh(onPath, ['--root', state, 'list', '-q']), '');
    // The installed binary takes nothing from its working directory (hardening.test.ts's check).
    const cwd = join(work, 'hostile');
    mkdirSync(cwd);
    const marker = join(cwd, 'preloaded');
    writeFileSync(join(cwd, 'bunfig.toml'), 'preload = ["./p.js"]\n[run]\npreload = ["./p.js"]\n');
    writeFileSync(join(cwd, 'p.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x');\n`);
    writeFileSync(join(cwd, '.env'), 'RUNTS_NATIVE=/nonexistent.node\n');
    sh(onPath, ['features'], { cwd });
    assert.equal(existsSync(marker), false, 'the bunfig.toml preload ran');
  });

  test('npm install -g --ignore-scripts: the shim starts the executable', { timeout: 300_000 }, () => {
    const prefix = join(work, 'prefix-noscripts');
    npmInstall(['-g', '--prefix', prefix, '--ignore-scripts']);
    const shim = sh('readlink', ['-f', join(prefix, 'bin/runts')]).trim();
    assert.equal(isElf(shim), false, 'without install scripts bin/runts is the shim');
    assert.match(sh(join(prefix, 'bin/runts'), ['--version']), /^runts version 0\.1\.0/);
    const r = spawnSync(join(prefix, 'bin/runts'), ['--root', join(work, 'state-shim'), 'state', 'nope'], { encoding: 'utf8' });
    assert.equal(r.status, 1, 'the exit status comes through');
    assert.match(r.stderr, /container does not exist/);
  });

  test('the library in a fresh project: the README example under Node, Bun and Deno', { timeout: 300_000 }, () => {
    const project = join(work, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-runts', version: '1.0.0', type: 'module', private: true }));
    npmInstall([], project);
    // The README's example, importing 'runts' as the README shows it.
    writeFileSync(join(project, 'lifecycle.mjs'), readFileSync(join(repo, 'build/examples/lifecycle.js'), 'utf8').replace('"../src/index.js"', '"runts"'));
    writeFileSync(join(project, 'lifecycle.ts'), readFileSync(join(repo, 'examples/lifecycle.ts'), 'utf8').replace("'../src/index.ts'", "'runts'"));
    config(['sleep', '100']);
    const runtimes: Array<[string, string[]]> = [
      ['node', [process.execPath, 'lifecycle.mjs']],
      ['bun', [join(repo, 'node_modules/.bin/bun'), 'run', 'lifecycle.ts']],
      ['deno', [join(repo, 'node_modules/.bin/deno'), 'run', '-A', '--quiet', 'lifecycle.ts']],
    ];
    for (const [name, argv] of runtimes) {
      const outText = sh(argv[0], [...argv.slice(1), bundle, join(work, `lib-${name}`)], { cwd: project });
      assert.match(outText, /: running, pid \d+/, `${name}: ${outText}`);
      assert.match(outText, /exec exited with 3/, name);
      assert.match(outText, /after delete: container does not exist/, name);
    }
  });
});
