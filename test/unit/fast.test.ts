/**
 * The engine fast path (src/cli/fast.ts) and the commander program (src/cli/program.ts) read
 * the same verb definitions; here both parse every argv shape engines send and must hand the
 * verb the same arguments, options and globals. Anything else must go to commander.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { fastPath } from '../../src/cli/fast.ts';
import { buildProgram } from '../../src/cli/program.ts';

const split = (s: string) => s.split(' ').filter(Boolean);

/** What commander gives the verb's action for `argv` (the action itself is not run). */
async function viaCommander(argv: string[]): Promise<{ args: string[]; opts: Record<string, unknown>; globals: Record<string, unknown> }> {
  const program = buildProgram();
  let got: { args: string[]; opts: Record<string, unknown>; globals: Record<string, unknown> } | undefined;
  for (const c of program.commands) {
    c.action((...params: unknown[]) => {
      const cmd = params[params.length - 1] as Command;
      const args = (cmd.processedArgs as unknown[]).flat().filter((a): a is string => typeof a === 'string');
      got = { args, opts: cmd.opts(), globals: program.opts() };
    });
  }
  await program.parseAsync(argv, { from: 'user' });
  assert.ok(got, `commander ran no verb for ${argv.join(' ')}`);
  return got;
}

/** The shapes containerd's shim (go-runc), podman (conmon) and Docker send. */
const ENGINE_SHAPES: string[][] = [
  // containerd 1.6 io.containerd.runc.v2 (go-runc): --root, --log, --log-format json first.
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json create --bundle /b --pid-file /b/init.pid c1'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json create --bundle /b --pid-file /b/init.pid --console-socket /tmp/pty.sock c1'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json start c1'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json state c1'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json kill c1 15'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json kill --all c1 9'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json delete c1'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json delete --force c1'),
  split('--root /run/r --systemd-cgroup --log /b/log.json --log-format json create --bundle /b --pid-file /p --no-pivot c1'),
  // The shim's exec (ctr task exec, docker exec, crictl exec, Kubernetes probes).
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json exec --process /tmp/p.json --detach --pid-file /b/e.pid c1'),
  split('--root /run/containerd/runc/k8s.io --log /b/log.json --log-format json exec --process /tmp/p.json --console-socket /tmp/s --detach --pid-file /b/e.pid c1'),
  // podman 4.3 (conmon and libpod): --log-format=json, --log, --systemd-cgroup.
  ['--log-format=json', '--log', '/x/log', 'create', '--bundle', '/b', '--pid-file', '/p', '--console-socket', '/s', 'c2'],
  split('--root /run/runts --systemd-cgroup --log-format=json start c2'),
  split('--root /run/runts kill c2 9'),
  split('--root /run/runts delete --force c2'),
  split('--root /run/runts state c2'),
  // Docker 20.10 goes through containerd's shim (the shapes above); runc users and scripts:
  split('run -d --keep --no-subreaper -b /b c3'),
  split('run --preserve-fds 2 --pid-file=/p c3'),
  split('create -b /b --preserve-fds=1 --no-new-keyring c3'),
  split('kill -a c3 KILL'),
  split('delete -f c3'),
  // exec as users type it: the command's own flags are the command's.
  split('exec -e A=b -e C=d --user 1000:1000 -g 5 -g 6 --cwd /tmp c3 sh -c echo'),
  split('exec -t --cap CAP_NET_RAW --no-new-privs c3 ls -l /'),
  split('exec c3 true'),
  split('--debug --rootless true state c3'),
];

test('every engine-shaped argv takes the fast path, with what commander would give the verb', async () => {
  for (const argv of ENGINE_SHAPES) {
    const fast = await fastPath(argv);
    assert.ok(fast, `not on the fast path: ${argv.join(' ')}`);
    const cmd = await viaCommander(argv);
    const line = argv.join(' ');
    assert.deepEqual(fast.args, cmd.args, `arguments of ${line}`);
    assert.deepEqual(fast.opts, cmd.opts, `options of ${line}`);
    assert.deepEqual(fast.globals, cmd.globals, `globals of ${line}`);
  }
});

test('anything else goes to commander', async () => {
  for (const line of [
    '', '--help', 'state', 'state -h', 'state a b', 'kill', 'kill a b c', 'kill a -9', 'delete --force',
    'delete -x a', '--root', '--bogus state a', 'state --bogus a', 'list', 'run --pidfd-socket /s a', 'spec',
    '--log-format xml state a', 'create --bundle /b', 'create --bundle=/b --bundle=/c a',
    'delete --force=yes a', 'kill a --all', 'create --preserve-fds x a', 'exec', 'exec -d', 'exec --bogus c true',
  ]) {
    assert.equal(await fastPath(split(line)), undefined, line);
  }
});

test('flag notation: long, short, value, negation and the option key, as commander reads them', async () => {
  const { flagShape } = await import('../../src/cli/verb.ts');
  const f = (flags: string) => flagShape({ flags, description: '' });
  assert.deepEqual(f('-b, --bundle <path>'), { long: 'bundle', short: 'b', value: true, negate: false, key: 'bundle' });
  assert.deepEqual(f('--no-new-keyring'), { long: 'no-new-keyring', short: undefined, value: false, negate: true, key: 'newKeyring' });
  assert.deepEqual(f('--preserve-fds <n>'), { long: 'preserve-fds', short: undefined, value: true, negate: false, key: 'preserveFds' });
  assert.deepEqual(f('-a, --all'), { long: 'all', short: 'a', value: false, negate: false, key: 'all' });
  assert.deepEqual(f('--log-format <format>').key, 'logFormat');
  assert.throws(() => f('bundle'), /bad flag definition/);
});

test('the logging flags are read before parsing, from the global flags only', async () => {
  const { earlyLogOptions } = await import('../../src/cli/globals.ts');
  assert.deepEqual(earlyLogOptions(split('--root /r --log /l.json --log-format json state x')), { log: '/l.json', logFormat: 'json' });
  assert.deepEqual(earlyLogOptions(['--log=/l', '--debug', '--bogus', 'kill', '--log', '/not-global']), { log: '/l', debug: true });
  assert.deepEqual(earlyLogOptions(split('--root --log state')), {}, '--log is the value of --root here');
});
