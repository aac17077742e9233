import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fastPath } from '../../src/cli/fast.ts';

const split = (s: string) => s.split(' ').filter(Boolean);

test('the shapes engines send take the fast path, with their globals', () => {
  const shim = fastPath(split('--root /run/r --log /b/log.json --log-format json kill c1 15'));
  assert.ok(shim);
  assert.equal(shim.verb, 'kill');
  assert.deepEqual(shim.args, ['c1', '15']);
  assert.deepEqual(
    { root: shim.globals.root, log: shim.globals.log, logFormat: shim.globals.logFormat },
    { root: '/run/r', log: '/b/log.json', logFormat: 'json' },
  );
  const create = fastPath(split('--root /r --log /b/log.json --log-format json create --bundle /b --pid-file /b/init.pid c1'));
  assert.deepEqual(create?.flags, { bundle: '/b', 'pid-file': '/b/init.pid' });
  const podman = fastPath(['--log-format=json', '--log', '/x/log', 'create', '--bundle', '/b', '--pid-file', '/p', '--console-socket', '/s', 'c2']);
  assert.equal(podman?.globals.logFormat, 'json');
  assert.deepEqual(podman?.flags, { bundle: '/b', 'pid-file': '/p', 'console-socket': '/s' });
  assert.deepEqual(fastPath(split('delete --force c1'))?.flags, { force: true });
  assert.deepEqual(fastPath(split('delete -f c1'))?.flags, { force: true });
  assert.deepEqual(fastPath(split('kill -a c1 KILL'))?.flags, { all: true });
  assert.deepEqual(fastPath(split('create -b /b c1'))?.flags, { bundle: '/b' });
  assert.deepEqual(fastPath(split('state c1'))?.args, ['c1']);
  assert.deepEqual(fastPath(['state', ''])?.args, ['']);
  assert.equal(fastPath(split('--debug --systemd-cgroup start c1'))?.globals.debug, true);
  assert.deepEqual(fastPath(split('run -d --keep --no-subreaper -b /b c1'))?.flags, {
    detach: true, keep: true, 'no-subreaper': true, bundle: '/b',
  });
});

test('anything else goes to commander', () => {
  for (const line of [
    '', '--help', 'state', 'state -h', 'state a b', 'kill', 'kill a b c', 'kill a -9', 'delete --force',
    'delete -x a', '--root', '--bogus state a', 'state --bogus a', 'list', 'run --pidfd-socket /s a', 'spec',
    '--log-format xml state a', 'create --bundle /b', 'create --bundle=/b --bundle=/c a',
    'delete --force=yes a', 'kill a --all',
  ]) {
    assert.equal(fastPath(split(line)), undefined, line);
  }
});
