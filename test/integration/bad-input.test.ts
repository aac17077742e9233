// Bad input: the runtime must fail with status 1, leave nothing behind (no
// state dir under --root, no mount under the bundle, no process, no cgroup) and,
// for runts, say what was wrong on the last line of stderr (containerd and
// podman show users only that line; STYLE.md habit 3).
//
// runc's messages differ from ours, so message content is asserted only when
// the binary under test is not runc.

import { before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BIN_IS_RUNC,
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  lastLine,
  run,
  setup,
  shell,
} from './helpers.ts';
import type { Ctx, RunResult, SetupOptions } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };

/** Runs, expects status 1 and nothing left; returns the result for message checks. */
function failsCleanly(t: TestContext, setupOpts: SetupOptions, prepare?: (ctx: Ctx) => void): { ctx: Ctx; r: RunResult } {
  const ctx = setup(t, setupOpts);
  prepare?.(ctx);
  const r = run(ctx);
  assert.equal(r.signal, null, `runtime killed by ${r.signal}`);
  assert.equal(r.status, 1, `expected exit status 1, got ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assertNothingLeft(ctx);
  return { ctx, r };
}

/** Message checks apply to runts only. */
function lastLineMentions(r: RunResult, ...anyOf: string[]): void {
  if (BIN_IS_RUNC) return;
  const last = lastLine(r.stderr);
  assert.ok(
    anyOf.some((s) => last.includes(s)),
    `stderr's last line should name ${anyOf.map((s) => JSON.stringify(s)).join(' or ')}; it is ${JSON.stringify(last)}\nfull stderr:\n${r.stderr}`,
  );
}

describe('run: bad input', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('malformed config.json', opts, (t) => {
    const { r } = failsCleanly(t, {}, (ctx) => {
      fs.writeFileSync(path.join(ctx.bundle, 'config.json'), '{"ociVersion": "1.0.2", "process": {');
    });
    lastLineMentions(r, 'config.json');
  });

  it('config.json that is not an object', opts, (t) => {
    const { r } = failsCleanly(t, {}, (ctx) => fs.writeFileSync(path.join(ctx.bundle, 'config.json'), '[]'));
    lastLineMentions(r, 'config.json');
  });

  it('missing config.json', opts, (t) => {
    const { r } = failsCleanly(t, {}, (ctx) => fs.rmSync(path.join(ctx.bundle, 'config.json')));
    lastLineMentions(r, 'config.json');
  });

  it('missing rootfs', opts, (t) => {
    const { ctx, r } = failsCleanly(t, { mutate: shell('true') }, (c) => fs.rmSync(c.rootfs, { recursive: true }));
    lastLineMentions(r, ctx.rootfs);
  });

  it('unknown namespace type', opts, (t) => {
    let index = -1;
    const { r } = failsCleanly(t, {
      mutate: (s) => {
        s.process.args = ['true'];
        index = s.linux!.namespaces!.push({ type: 'bogus' }) - 1;
      },
    });
    lastLineMentions(r, `linux.namespaces[${index}].type`, 'bogus');
  });

  it('a device cgroup rule with a negative major other than -1 (it used to mean any major)', opts, (t) => {
    const { r } = failsCleanly(t, {
      mutate: (s) => {
        s.process.args = ['true'];
        s.linux!.resources = { ...(s.linux!.resources ?? {}), devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: -5, minor: 3, access: 'rw' }] };
      },
    });
    lastLineMentions(r, 'linux.resources.devices[1].major: must be -1 (any) or a device number (got -5)');
  });

  it('a linux.devices entry that would redefine the runtime\'s /dev/null', opts, (t) => {
    const { r } = failsCleanly(t, {
      mutate: (s) => {
        s.process.args = ['true'];
        s.linux!.devices = [{ path: '/dev//null', type: 'b', major: 7, minor: 0 }];
      },
    });
    lastLineMentions(r, "linux.devices[0]: /dev/null is the runtime's own device (c 1:3); it cannot be redefined as b 7:0");
  });

  it('missing binary', opts, (t) => {
    const { r } = failsCleanly(t, { mutate: (s) => (s.process.args = ['/bin/nope']) });
    lastLineMentions(r, 'nope');
  });

  it('binary not found in PATH', opts, (t) => {
    const { r } = failsCleanly(t, { mutate: (s) => (s.process.args = ['nope-not-here']) });
    lastLineMentions(r, 'nope-not-here');
  });

  it('process.cwd that is not a directory', opts, (t) => {
    const { r } = failsCleanly(t, {
      mutate: (s) => {
        s.process.args = ['true'];
        s.process.cwd = '/bin/busybox';
      },
    });
    lastLineMentions(r, '/bin/busybox', 'cwd');
  });

  it('empty container id', opts, (t) => {
    failsCleanly(t, { id: '', mutate: shell('true') });
  });

  it('container id with a slash', opts, (t) => {
    failsCleanly(t, { id: 'a/b', mutate: shell('true') });
  });

  it('container id that climbs out of --root', opts, (t) => {
    const { ctx } = failsCleanly(t, { id: '../escaped', mutate: shell('true') });
    assert.ok(!fs.existsSync(path.join(ctx.dir, 'escaped')), 'state written outside --root');
  });

  it('an id already in use', opts, (t) => {
    // The first container is kept (--keep), so its id is taken; the second run fails
    // and must not disturb the first one's state.
    const first = setup(t, { mutate: shell('true') });
    const r1 = run(first, { runArgs: ['--keep'] });
    assert.equal(r1.status, 0, r1.stderr);
    const stateDir = path.join(first.root, first.id);
    assert.ok(fs.existsSync(stateDir));
    const before = fs.readdirSync(stateDir).sort();
    const second = setup(t, { id: first.id, mutate: shell('echo should-not-run') });
    const r2 = run({ ...second, root: first.root });
    assert.equal(r2.status, 1, r2.stderr);
    assert.doesNotMatch(r2.stdout, /should-not-run/);
    assert.deepEqual(fs.readdirSync(stateDir).sort(), before);
    assertNothingLeft(second, { keepState: true });
  });
});
