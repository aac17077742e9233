import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeLog, configureLog, logError, logsToFile } from '../../src/log.ts';

test('--log FILE --log-format json writes the line containerd reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'runts-log-'));
  try {
    const file = join(dir, 'log.json');
    await configureLog({ log: file, logFormat: 'json' });
    assert.equal(logsToFile(), true);
    await logError('runts run failed: exec `nope`: ENOENT (No such file or directory)');
    closeLog();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(rec).sort(), ['level', 'msg', 'time']);
    assert.equal(rec.level, 'error');
    assert.equal(rec.msg, 'runts run failed: exec `nope`: ENOENT (No such file or directory)');
    assert.match(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
