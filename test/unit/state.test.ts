import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateId } from '../../src/state/id.ts';
import { claim, readState, remove, writeState, nowRfc3339Nano } from '../../src/state/store.ts';
import { procStat } from '../../src/process/procfs.ts';

test('ids: what runc accepts and refuses', () => {
  for (const ok of ['a', 'abc-123', 'a_b.c+d', 'x,y', 'A'.repeat(1024)]) assert.equal(validateId(ok), ok);
  assert.throws(() => validateId(''), /container id cannot be empty/);
  for (const bad of ['.', '..', 'a/b', '../x', 'a b', 'a:b', 'é', 'a\n']) {
    assert.throws(() => validateId(bad), /invalid container ID format/, bad);
  }
});

test('store: claim is exclusive, state round-trips, remove leaves nothing', () => {
  const root = mkdtempSync(join(tmpdir(), 'runts-store-'));
  try {
    claim(root, 'c1');
    assert.throws(() => claim(root, 'c1'), /container with id exists: c1/);
    const state = {
      ociVersion: '1.0.2-dev', id: 'c1', pid: 42, bundle: '/b', rootfs: '/b/rootfs',
      created: nowRfc3339Nano(), owner: '', initStartTime: 7,
    };
    writeState(root, state);
    assert.deepEqual(readState(root, 'c1'), state);
    remove(root, 'c1');
    assert.equal(existsSync(join(root, 'c1')), false);
    assert.throws(() => readState(root, 'c1'), /container does not exist/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('created time is Go RFC3339Nano like runc: nanoseconds, trailing zeros trimmed', () => {
  for (let i = 0; i < 50; i++) {
    assert.match(nowRfc3339Nano(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/);
  }
});

test('procStat reads our own /proc entry and survives odd comm names', () => {
  const s = procStat(process.pid);
  assert.ok(s);
  assert.match(s.state, /^[RS]$/);
  assert.ok(s.startTime > 0);
  assert.equal(procStat(2 ** 22 + 1), undefined);
});
