// AppArmor and SELinux fail closed: on a host without the LSM (this machine) a config that asks
// for a profile or a label is refused, as runc refuses it, and nothing is left behind.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { SKIP_REASON, TEST_TIMEOUT_MS, assertBinary, assertNothingLeft, requireRunc, run, setup, shell } from './helpers.ts';
import type { Spec } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };

function hostHas(lsm: 'apparmor' | 'selinux'): boolean {
  if (lsm === 'selinux') return fs.existsSync('/sys/fs/selinux/enforce');
  try {
    return fs.readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').startsWith('Y');
  } catch {
    return false;
  }
}

describe('LSM labels', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  const cases: Array<[string, 'apparmor' | 'selinux', (s: Spec) => void, RegExp]> = [
    ['an AppArmor profile', 'apparmor', (s) => void (s.process.apparmorProfile = 'docker-default'), /process\.apparmorProfile: apparmor profile is specified in config, but apparmor is disabled or not supported/],
    ['an SELinux process label', 'selinux', (s) => void (s.process.selinuxLabel = 'system_u:system_r:container_t:s0'), /process\.selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported/],
  ];
  for (const [what, lsm, mutate, message] of cases) {
    it(`${what} without ${lsm} on the host is refused, as runc refuses it`, opts, (t) => {
      if (hostHas(lsm)) return t.skip(`this host has ${lsm} enabled: the refusal cannot be seen here`);
      for (const bin of [undefined, requireRunc()]) {
        const ctx = setup(t, { bin, mutate: (s) => { shell('true')(s); mutate(s); } });
        const r = run(ctx);
        assert.equal(r.status, 1, `${ctx.bin}: ${r.stderr}`);
        if (!bin) assert.match(r.stderr, message);
        assertNothingLeft(ctx);
      }
    });
  }
});
