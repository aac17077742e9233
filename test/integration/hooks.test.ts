// Runtime-spec hooks: every kind at its point, in its namespaces, with the state runc gives it
// on stdin, compared with runc on the same bundle; failures of the aborting kinds leave nothing
// behind, poststart and poststop failures are warnings.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import {
  BIN,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  call,
  callOk,
  lines,
  requireRunc,
  run,
  setup,
  shell,
} from './helpers.ts';
import type { Ctx, Spec } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };
const KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
type Kind = (typeof KINDS)[number];

/**
 * A bundle whose hooks each append "<kind> <mount ns> <state>" to one log: the host's hooks at
 * <dir>/hooks.log, startContainer (which runs inside the container, after pivot_root) at the
 * same file through a bind mount on /hooklog. `fail` makes that kind exit 1 after logging.
 */
function hookBundle(t: TestContext, bin: string, fail?: Kind, extra?: (spec: Spec) => void): { ctx: Ctx; log: string } {
  const ctx = setup(t, { bin, id: undefined });
  const logDir = path.join(ctx.dir, 'hooklog');
  fs.mkdirSync(logDir);
  const script = (logPath: string) =>
    `#!/bin/sh\nread -r state\necho "$1 $(readlink /proc/self/ns/mnt) $state" >> ${logPath}\necho "ran $1"\n[ "$1" != "$FAIL" ]\n`;
  const host = path.join(ctx.dir, 'hook.sh');
  fs.writeFileSync(host, script(path.join(logDir, 'hooks.log')), { mode: 0o755 });
  fs.writeFileSync(path.join(ctx.rootfs, 'hook.sh'), script('/hooklog/hooks.log'), { mode: 0o755 });
  const hook = (kind: Kind) => ({
    path: kind === 'startContainer' ? '/hook.sh' : host,
    args: ['hook.sh', kind],
    env: [`FAIL=${fail ?? ''}`, 'PATH=/usr/bin:/bin'],
  });
  const mutate = (spec: Spec) => {
    shell('echo in-container')(spec);
    spec.hooks = Object.fromEntries(KINDS.map((k) => [k, [hook(k)]]));
    spec.mounts = [...(spec.mounts ?? []), { destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw'] }];
    extra?.(spec);
  };
  const spec = JSON.parse(fs.readFileSync(path.join(ctx.bundle, 'config.json'), 'utf8')) as Spec;
  mutate(spec);
  fs.writeFileSync(path.join(ctx.bundle, 'config.json'), JSON.stringify(spec, null, 2));
  return { ctx, log: path.join(logDir, 'hooks.log') };
}

/** The log as (kind, where, state) with the id and the host pid made comparable. */
function entries(log: string, ctx: Ctx): Array<{ kind: string; inContainer: boolean; state: Record<string, unknown> }> {
  if (!fs.existsSync(log)) return [];
  const hostNs = fs.readlinkSync('/proc/self/ns/mnt');
  return lines(fs.readFileSync(log, 'utf8')).map((l) => {
    const [kind, ns, ...rest] = l.split(' ');
    const state = JSON.parse(rest.join(' ')) as Record<string, unknown>;
    assert.equal(state.id, ctx.id);
    assert.equal(state.bundle, fs.realpathSync(ctx.bundle));
    return { kind: kind!, inContainer: ns !== hostNs, state: { ...state, id: 'ID', bundle: 'B', pid: state.pid === 1 || state.pid === undefined ? state.pid : 'HOST' } };
  });
}

describe('hooks', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('every kind runs at its point, in its namespaces, with the state runc gives it', opts, (t) => {
    const seen = [BIN, requireRunc()].map((bin) => {
      const { ctx, log } = hookBundle(t, bin);
      const r = run(ctx);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'in-container\n');
      return entries(log, ctx);
    });
    // In the order the spec gives; createContainer and startContainer in the container's mount
    // namespace with the container's view of the pid (1), the others in the runtime's.
    assert.deepEqual(seen[0]!.map((e) => e.kind), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    assert.deepEqual(seen[0]!.map((e) => e.inContainer), [false, false, true, true, false, false]);
    assert.deepEqual(seen[0]!.map((e) => e.state.status), ['creating', 'creating', 'creating', 'created', 'created', 'stopped']);
    // runc's `start` runs poststart once the init has opened the exec fifo, while the init
    // runs startContainer: the two race there (poststart came first in runs here). runts's
    // `start` returns, and runs poststart, only once the process is exec'd, after
    // startContainer. So the two are compared kind by kind.
    const byKind = (list: (typeof seen)[0]) => Object.fromEntries(list.map((e) => [e.kind, e]));
    assert.deepEqual(byKind(seen[0]!), byKind(seen[1]!));
  });

  it('create, start and delete as engines call them: poststart at start, poststop at delete', opts, (t) => {
    const { ctx, log } = hookBundle(t, BIN, undefined, (spec) => {
      spec.process.args = ['sleep', '30'];
    });
    const created = call(ctx, ['create', '-b', ctx.bundle, ctx.id]);
    assert.equal(created.status, 0, created.stderr);
    assert.deepEqual(entries(log, ctx).map((e) => e.kind), ['prestart', 'createRuntime', 'createContainer']);
    // What the hooks print reaches runts's log (stderr here) at level info.
    for (const kind of ['prestart', 'createRuntime', 'createContainer']) {
      assert.match(created.stderr, new RegExp(`level=info msg="${kind} hook #0 \\(\\S+\\): ran ${kind}"`));
    }
    callOk(ctx, ['start', ctx.id]);
    assert.deepEqual(entries(log, ctx).map((e) => e.kind).slice(3), ['startContainer', 'poststart']);
    callOk(ctx, ['delete', '--force', ctx.id]);
    assert.deepEqual(entries(log, ctx).map((e) => e.kind).slice(5), ['poststop']);
    assertNothingLeft(ctx);
  });

  for (const kind of ['prestart', 'createRuntime', 'createContainer', 'startContainer'] as const) {
    it(`a failing ${kind} hook fails the container and leaves nothing behind`, opts, (t) => {
      const { ctx, log } = hookBundle(t, BIN, kind);
      const r = run(ctx);
      assert.equal(r.status, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${kind} hook #0 .*exit status 1, stdout: ran ${kind}`));
      assert.equal(r.stdout, '', 'the process never ran');
      const ran = entries(log, ctx).map((e) => e.kind);
      assert.equal(ran[ran.length - 1], kind, `nothing after the failing hook ran: ${ran.join(', ')}`);
      assertNothingLeft(ctx);
    });
  }

  for (const kind of ['poststart', 'poststop'] as const) {
    it(`a failing ${kind} hook is a warning and the lifecycle goes on`, opts, (t) => {
      const { ctx, log } = hookBundle(t, BIN, kind);
      const r = run(ctx);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'in-container\n');
      assert.match(r.stderr, new RegExp(`level=warning msg="${kind} hook #0 .*exit status 1`));
      assert.deepEqual(entries(log, ctx).map((e) => e.kind), [...KINDS]);
      assertNothingLeft(ctx);
    });
  }

  it('a hook past its timeout is killed and fails the create', opts, (t) => {
    const ctx = setup(t, {
      mutate: (spec) => {
        shell('true')(spec);
        spec.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] };
      },
    });
    const t0 = Date.now();
    const r = call(ctx, ['run', '-b', ctx.bundle, ctx.id]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /createRuntime hook #0 `\/bin\/sleep` \(timed out after 1 s\)/);
    assert.ok(Date.now() - t0 < 10_000);
    assertNothingLeft(ctx);
  });

  it('features lists the six kinds', opts, () => {
    const r = spawnSync(BIN, ['features'], { encoding: 'utf8' });
    assert.deepEqual((JSON.parse(r.stdout) as { hooks: string[] }).hooks, [...KINDS]);
  });
});
