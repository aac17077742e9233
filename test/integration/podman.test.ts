/**
 * Drop-in under a real engine: podman 4.3 (Debian) with `--runtime runts` runs, pauses, stops
 * and removes containers, and passes the exit status through — the same as with runc. The
 * image is imported from the busybox test rootfs (no registry is reachable here). This
 * machine lacks CAP_SYS_RESOURCE, so podman's default ulimits (1048576) are lowered: runc and
 * crun refuse them too.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, MAKE_BUNDLE } from './helpers.ts';

const PODMAN = '/usr/bin/podman';
const IMAGE = `localhost/runts-test-busybox:${process.pid}`;
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

function podman(args: string[], timeout = 60_000) {
  const r = spawnSync(PODMAN, ['--runtime', BIN, ...args], { encoding: 'utf8', timeout });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

describe('podman --runtime runts', { skip: !existsSync(PODMAN) && 'podman not installed' }, () => {
  const work = mkdtempSync(join(tmpdir(), 'runts-podman-'));
  before(() => {
    const mk = spawnSync('bash', [MAKE_BUNDLE, join(work, 'b')], { encoding: 'utf8' });
    assert.equal(mk.status, 0, mk.stderr);
    const tar = spawnSync('tar', ['-C', join(work, 'b/rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
    assert.equal(tar.status, 0);
    const imp = spawnSync(PODMAN, ['import', join(work, 'rootfs.tar'), IMAGE], { encoding: 'utf8' });
    assert.equal(imp.status, 0, imp.stderr);
  });
  after(() => {
    spawnSync(PODMAN, ['rmi', '-f', IMAGE]);
    rmSync(work, { recursive: true, force: true });
  });

  it('runs a container: output, its cgroup, and the exit status', () => {
    const r = podman(['run', '--rm', ...ULIMITS, IMAGE, 'sh', '-c', 'echo hello; id -u; cat /proc/self/cgroup; exit 7']);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stdout, /^hello\n0\n/);
    assert.match(r.stdout, /pids:\/libpod_parent\/libpod-[0-9a-f]{64}$/m);
  });

  it('run -d, pause, unpause, stop, rm', () => {
    const run = podman(['run', '-d', ...ULIMITS, IMAGE, 'sleep', '1000']);
    assert.equal(run.status, 0, run.stderr);
    const id = run.stdout.trim();
    try {
      const status = () => podman(['inspect', '--format', '{{.State.Status}}', id]).stdout.trim();
      assert.equal(status(), 'running');
      assert.equal(podman(['pause', id]).status, 0);
      assert.equal(status(), 'paused');
      assert.equal(podman(['unpause', id]).status, 0);
      assert.equal(status(), 'running');
      // sleep as pid 1 ignores SIGTERM: podman falls back to SIGKILL after the timeout.
      assert.equal(podman(['stop', '-t', '1', id]).status, 0);
      assert.equal(status(), 'exited');
    } finally {
      const rm = podman(['rm', '-f', id]);
      assert.equal(rm.status, 0, rm.stderr);
    }
  });
});
