/**
 * The same TypeScript runs under Node (compiled by tsc into build/) and Deno (`deno run -A` on
 * the sources), loading the addon from disk: --version, spec and a real run for each.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

const repo = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
const deno = join(repo, 'node_modules/.bin/deno');

const runtimes: Array<[string, string[]]> = [
  ['node', [process.execPath, join(repo, 'build/src/main.js')]],
  ['deno', [deno, 'run', '-A', '--quiet', join(repo, 'src/main.ts')]],
];

const work = mkdtempSync(join(tmpdir(), 'runts-runtimes-'));
after(() => rmSync(work, { recursive: true, force: true }));

for (const [name, [bin, ...pre]] of runtimes) {
  describe(`under ${name}`, () => {
    const sh = (args: string[]) =>
      spawnSync(bin, [...pre, ...args], { encoding: 'utf8', timeout: 60_000, cwd: repo });

    test('--version', () => {
      const r = sh(['--version']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^runts version \d+\.\d+\.\d+\ncommit: .*\nspec: 1\.0\.2-dev\n$/);
    });

    test('spec writes a config.json', () => {
      const dir = join(work, `spec-${name}`);
      spawnSync('mkdir', ['-p', dir]);
      const r = sh(['spec', '-b', dir]);
      assert.equal(r.status, 0, r.stderr);
      const spec = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
      assert.deepEqual(spec.process.args, ['sh']);
    });

    test('run a container', () => {
      const bundle = join(work, `bundle-${name}`);
      const mk = spawnSync('bash', [join(repo, 'test/fixtures/make-bundle.sh'), bundle], { encoding: 'utf8' });
      assert.equal(mk.status, 0, mk.stderr);
      const cfgPath = join(bundle, 'config.json');
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
      cfg.process.terminal = false;
      cfg.process.args = ['sh', '-c', 'echo hello from $(hostname) pid $$; exit 7'];
      spawnSync('sh', ['-c', `cat > ${cfgPath}`], { input: JSON.stringify(cfg) });
      const root = join(work, `root-${name}`);
      const r = sh(['--root', root, 'run', '-b', bundle, `rt-${name}`]);
      assert.equal(r.status, 7, r.stderr);
      assert.equal(r.stdout, `hello from ${cfg.hostname} pid 1\n`);
      assert.equal(existsSync(join(root, `rt-${name}`)), false, 'state directory removed');
    });
  });
}
