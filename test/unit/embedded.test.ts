/**
 * src/native/embedded.ts: where the compiled runts keeps its addon's bytes. Against the real
 * build (dist/runts and the addon built next to it): the offset found must hold the addon,
 * byte for byte, or the compiled binary would dlopen something else. Then what must not be
 * taken: an executable without Bun's section, a size that is not the addon's.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import * as path from 'node:path';
import { elfSection, locateEmbedded } from '../../src/native/embedded.ts';
import type { Reader } from '../../src/native/embedded.ts';
import { BIN, REPO } from '../integration/helpers.ts';

const ADDON = path.join(REPO, 'runts.linux-x64-gnu.node');

function withReader<T>(file: string, fn: (read: Reader) => T): T {
  const fd = openSync(file, 'r');
  try {
    return fn((length, position) => {
      const buf = Buffer.alloc(length);
      return buf.subarray(0, readSync(fd, buf, 0, length, position));
    });
  } finally {
    closeSync(fd);
  }
}

const built = existsSync(BIN) && existsSync(ADDON) && path.basename(BIN) !== 'runc';

test('the addon embedded in the compiled runts is found, byte for byte', { skip: !built && `needs ${BIN} and ${ADDON} (npm run build)` }, () => {
  const addon = readFileSync(ADDON);
  const at = withReader(BIN, (read) => locateEmbedded(read, addon.length));
  assert.ok(at !== undefined, 'not found');
  const fd = openSync(BIN, 'r');
  try {
    const got = Buffer.alloc(addon.length);
    assert.equal(readSync(fd, got, 0, got.length, at), addon.length);
    assert.ok(got.equals(addon), `the ${addon.length} bytes at ${at} are not the addon`);
  } finally {
    closeSync(fd);
  }
  // A size that is not the addon's: nothing (the ELF headers there disagree).
  assert.equal(withReader(BIN, (read) => locateEmbedded(read, addon.length - 1)), undefined);
});

test('an executable without a .bun section: nothing', () => {
  withReader('/bin/true', (read) => {
    assert.ok(elfSection(read, '.text'), 'the ELF reader finds .text of /bin/true');
    assert.equal(elfSection(read, '.bun'), undefined);
    assert.equal(locateEmbedded(read, 4096), undefined);
  });
});

test('not an ELF file: nothing', () => {
  withReader(path.join(REPO, 'package.json'), (read) => {
    assert.equal(elfSection(read, '.bun'), undefined);
    assert.equal(locateEmbedded(read, 4096), undefined);
  });
});
