// Namespaces, capabilities, no_new_privs and user namespaces, read from inside
// the container and compared with runc on the same bundle.

import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import {
  SKIP_REASON,
  TEST_TIMEOUT_MS,
  assertBinary,
  assertNothingLeft,
  lines,
  requireRunc,
  runBoth,
  runOk,
  runScript,
  setup,
  shell,
} from './helpers.ts';
import type { Spec } from './helpers.ts';

const opts = { timeout: TEST_TIMEOUT_MS };

const CAP_KEYS = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'];
const CAPS_SCRIPT = 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status';

function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines(text)) {
    const i = l.indexOf(':');
    out[l.slice(0, i)] = l.slice(i + 1).trim();
  }
  return out;
}

/** Bit mask for capability numbers, as /proc/self/status prints it. */
function mask(...caps: number[]): string {
  return caps.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16).padStart(16, '0');
}
const CAP_KILL = 5;
const CAP_NET_BIND_SERVICE = 10;
const CAP_AUDIT_WRITE = 29;
const DEFAULT_CAPS = mask(CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE);

describe('run: isolation and privileges', { skip: SKIP_REASON }, () => {
  before(() => assertBinary());

  it('creates exactly the namespaces in the spec', opts, (t) => {
    const kinds = ['pid', 'net', 'ipc', 'uts', 'mnt', 'user', 'cgroup'];
    const out = runScript(t, kinds.map((k) => `echo "${k} $(readlink /proc/self/ns/${k})"`).join('; '));
    const inside = new Map(lines(out).map((l) => l.split(' ') as [string, string]));
    // The default spec: pid, network, ipc, uts, mount; no user or cgroup namespace.
    for (const k of kinds) {
      const host = fs.readlinkSync(`/proc/self/ns/${k}`);
      const shared = k === 'user' || k === 'cgroup';
      if (shared) assert.equal(inside.get(k), host, `${k} namespace should be the host's`);
      else assert.notEqual(inside.get(k), host, `${k} namespace should be new`);
    }
  });

  it('gives a new network namespace with only lo, brought up like runc does', opts, (t) => {
    const out = runScript(t, 'ls /sys/class/net; cat /sys/class/net/lo/flags');
    const [ifaces, flags] = lines(out);
    assert.equal(ifaces, 'lo');
    // runc's specconv adds a "loopback" network for a new network namespace and sets lo up.
    assert.equal(Number(flags) & 1, 1, `lo is down (flags ${flags})`); // IFF_UP
  });

  it('sets the capability sets like runc (default spec)', opts, (t) => {
    const { ours, runc } = runBoth(t, CAPS_SCRIPT);
    const f = fields(ours);
    assert.equal(f.CapBnd, DEFAULT_CAPS);
    assert.equal(f.CapPrm, DEFAULT_CAPS);
    assert.equal(f.CapEff, DEFAULT_CAPS);
    assert.equal(f.CapInh, mask());
    // The spec lists ambient caps, but they cannot be raised without being
    // inheritable (capabilities(7)); runc ignores the EPERM, so CapAmb is 0.
    assert.equal(f.CapAmb, mask());
    assert.equal(f.NoNewPrivs, '1');
    assert.equal(f.Seccomp, '0');
    assert.deepEqual(f, fields(runc));
  });

  // The runtime is a JS process with handlers installed and SIGPIPE ignored, and glibc's
  // posix_spawn leaves its internal signals 32 and 33 ignored in the child; execve keeps
  // ignored signals and the mask. The container's process must start with none of that.
  it('the process starts with signals as runc gives them: none blocked, none ignored by the runtime', opts, (t) => {
    const script = 'grep -E "^(SigBlk|SigIgn|SigCgt):" /proc/self/status';
    const { ours, runc } = runBoth(t, script);
    const f = fields(ours);
    assert.equal(f.SigBlk, '0000000000000000');
    assert.equal(f.SigCgt, '0000000000000000');
    assert.deepEqual(f, fields(runc));
  });

  it('raises ambient capabilities when they are also inheritable, like runc', opts, (t) => {
    const mutate = (s: Spec) => {
      const caps = s.process.capabilities!;
      caps.inheritable = [...(caps.ambient ?? [])];
    };
    const { ours, runc } = runBoth(t, CAPS_SCRIPT, { mutate });
    const f = fields(ours);
    assert.equal(f.CapInh, DEFAULT_CAPS);
    assert.equal(f.CapAmb, DEFAULT_CAPS);
    assert.deepEqual(f, fields(runc));
  });

  it('sets the capability sets of a non-root user like runc', opts, (t) => {
    const mutate = (s: Spec) => (s.process.user = { uid: 1000, gid: 1000 });
    const { ours, runc } = runBoth(t, CAPS_SCRIPT, { mutate });
    const f = fields(ours);
    assert.equal(f.CapBnd, DEFAULT_CAPS);
    // execve(2) as a non-root user without file capabilities recomputes the
    // permitted set from the ambient set (capabilities(7)), which is empty here.
    assert.equal(f.CapPrm, mask());
    assert.equal(f.CapEff, mask());
    assert.deepEqual(f, fields(runc));
  });

  it('keeps ambient capabilities across exec for a non-root user, like runc', opts, (t) => {
    const mutate = (s: Spec) => {
      s.process.user = { uid: 1000, gid: 1000 };
      const caps = s.process.capabilities!;
      caps.inheritable = [...(caps.ambient ?? [])];
    };
    const { ours, runc } = runBoth(t, CAPS_SCRIPT, { mutate });
    const f = fields(ours);
    assert.equal(f.CapAmb, DEFAULT_CAPS);
    assert.equal(f.CapEff, DEFAULT_CAPS);
    assert.deepEqual(f, fields(runc));
  });

  it('drops every capability for an empty capabilities object, like runc', opts, (t) => {
    const mutate = (s: Spec) => (s.process.capabilities = {});
    const { ours, runc } = runBoth(t, CAPS_SCRIPT, { mutate });
    const f = fields(ours);
    for (const k of CAP_KEYS) assert.equal(f[k], mask(), `${k}: ${ours}`);
    assert.deepEqual(f, fields(runc));
  });

  it('leaves no_new_privs off when noNewPrivileges is false', opts, (t) => {
    const { ours, runc } = runBoth(t, CAPS_SCRIPT, { mutate: (s) => (s.process.noNewPrivileges = false) });
    assert.equal(fields(ours).NoNewPrivs, '0');
    assert.deepEqual(fields(ours), fields(runc));
  });

  it('clears the caller\'s supplementary groups when additionalGids is empty, like runc', opts, (t) => {
    // The test runner (root) has groups=0; the container must not inherit them.
    const { ours, runc } = runBoth(t, 'grep -E "^(Uid|Gid|Groups):" /proc/self/status');
    const f = fields(ours);
    assert.equal(f.Groups, '');
    assert.equal(f.Uid.split(/\s+/).join(' '), '0 0 0 0');
    assert.deepEqual(f, fields(runc));
  });

  it('enforces the capability sets (no CAP_CHOWN, CAP_SYS_ADMIN by default)', opts, (t) => {
    // /dev/shm is a writable tmpfs, so a failure there is the missing capability.
    const out = runScript(t, 'touch /dev/shm/f && chown 1000 /dev/shm/f 2>&1; hostname other 2>&1; hostname; true');
    assert.match(out, /chown: \/dev\/shm\/f: Operation not permitted/);
    assert.match(out, /hostname: sethostname: Operation not permitted/);
    assert.equal(lines(out).at(-1), 'runc');
  });

  it('maps ids in a user namespace (0 -> 100000, 65536)', opts, (t) => {
    const map = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const mutate = (s: Spec) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = map;
      s.linux!.gidMappings = map;
    };
    const script = [
      'cat /proc/self/uid_map /proc/self/gid_map',
      'id',
      'stat -c "%u:%g" / /bin/busybox',
      'head -c 4 /dev/zero | wc -c',
      'echo x >/dev/null && echo null-ok',
      'grep -E "^(CapEff|CapBnd):" /proc/self/status',
    ].join('; ');
    const chownRootfs = (rootfs: string) => {
      // The container's root is host uid 100000: give it its files (-h: the applet links too).
      const r = spawnSync('chown', ['-R', '-h', '100000:100000', rootfs], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    };
    const oursOut = runUserns(t, undefined, script, mutate, chownRootfs);
    const l = lines(oursOut).map((x) => x.trim().split(/\s+/).join(' '));
    assert.equal(l[0], '0 100000 65536');
    assert.equal(l[1], '0 100000 65536');
    assert.equal(l[2], 'uid=0(root) gid=0(root)'); // runc sets no supplementary groups
    assert.equal(l[3], '0:0');
    assert.equal(l[4], '0:0');
    assert.equal(l[5], '4');
    assert.equal(l[6], 'null-ok');
    assert.equal(oursOut, runUserns(t, requireRunc(), script, mutate, chownRootfs));
    // The host's view: the init ran as uid 100000 (checked by the map); the host's own map is untouched.
    assert.match(fs.readFileSync('/proc/self/uid_map', 'utf8'), /^\s*0\s+0\s+4294967295\s*$/);
  });
});

function runUserns(
  t: TestContext,
  bin: string | undefined,
  script: string,
  mutate: (s: Spec) => void,
  prepare: (rootfs: string) => void,
): string {
  const ctx = setup(t, {
    bin,
    mutate: (s) => {
      shell(script)(s);
      mutate(s);
    },
  });
  prepare(ctx.rootfs);
  const out = runOk(ctx);
  assertNothingLeft(ctx);
  return out;
}
