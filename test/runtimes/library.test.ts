/**
 * The library from the three JavaScript runtimes: the README's example (examples/lifecycle.ts)
 * drives a real busybox container — create, start, state, a few stats, kill, wait, delete —
 * under Node (compiled by tsc), Bun (`bun run` on the sources) and Deno (`deno run -A`), and the
 * README shows exactly that example.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';

const repo = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../..');
const example = join(repo, 'examples/lifecycle.ts');

const runtimes: Array<[string, string[]]> = [
  ['node', [process.execPath, join(repo, 'build/examples/lifecycle.js')]],
  ['bun', [join(repo, 'node_modules/.bin/bun'), 'run', example]],
  ['deno', [join(repo, 'node_modules/.bin/deno'), 'run', '-A', '--quiet', example]],
];

const work = mkdtempSync(join(tmpdir(), 'runts-library-'));
after(() => rmSync(work, { recursive: true, force: true }));
const root = (process.getuid?.() ?? 1) === 0;

describe('the library example', { skip: !root && 'needs root (it runs a container)' }, () => {
  const bundle = join(work, 'bundle');
  const mk = spawnSync('bash', [join(repo, 'test/fixtures/make-bundle.sh'), bundle], { encoding: 'utf8' });
  assert.equal(mk.status, 0, mk.stderr);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.args = ['sleep', '100'];
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));

  for (const [name, argv] of runtimes) {
    test(`under ${name}`, { timeout: 60_000 }, () => {
      const state = join(work, `root-${name}`);
      const r = spawnSync(argv[0], [...argv.slice(1), bundle, state], { encoding: 'utf8', timeout: 50_000, cwd: repo });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      const out = r.stdout.split('\n');
      assert.match(out[0], /^example-\d+: running, pid \d+$/);
      assert.match(out[1], /^exec: pid ([2-9]|\d\d+) in the container$/);
      assert.equal(out[2], 'exec exited with 3');
      assert.deepEqual(out.slice(3, 6), ['stats: 1 process(es)', 'stats: 1 process(es)', 'stats: 1 process(es)']);
      assert.match(out[6], /^example-\d+: stopped$/);
      assert.equal(out[7], 'after delete: container does not exist');
      assert.deepEqual(readdirSync(state), [], 'the example left state behind');
    });
  }

  test('create returns the state `state` reports for the new container (under node)', { timeout: 60_000 }, async () => {
    const { Runtime } = await import(join(repo, 'build/src/index.js'));
    const rt = new Runtime({ root: join(work, 'root-view') });
    const id = `view-${process.pid}`;
    try {
      const made = await rt.create(id, { bundle });
      assert.equal(made.status, 'created');
      assert.deepEqual(made, await rt.state(id));
    } finally {
      await rt.delete(id, { force: true });
    }
  });

  test('the README shows this example', () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const block = /## Library[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    assert.ok(block, 'no ts code block in the README\'s Library section');
    const code = readFileSync(example, 'utf8')
      .replace(/^\/\/.*\n/gm, '')
      .replace("from '../src/index.ts'", "from 'runts'");
    assert.equal(block, code);
  });
});
