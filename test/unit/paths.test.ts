import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { absolute, baseName, dirName, joinPath } from '../../src/paths.ts';

const CASES = ['/', '//', '/a', '/a/', '/a//b', '/a/./b', '/a/../b', '/../a', '/a/b/..', '/a/b/../..', '/a/.', '/.a/..b/...', '', '.', '..', 'x', 'x/y/', './x', '../x', 'x/../../y'];

test('paths: as node:path does them', () => {
  for (const p of CASES) {
    assert.equal(absolute(p), path.resolve(p), `absolute(${JSON.stringify(p)})`);
    for (const base of ['/b', '/b/c/', '/', 'rel']) {
      assert.equal(absolute(p, base), path.resolve(base, p), `absolute(${JSON.stringify(p)}, ${base})`);
    }
    const abs = path.resolve(p);
    assert.equal(dirName(abs), path.dirname(abs), `dirName(${abs})`);
    assert.equal(baseName(abs), path.basename(abs), `baseName(${abs})`);
    for (const name of ['n', '.n', 'a/b', '../n', '']) {
      assert.equal(joinPath(abs, name), path.join(abs, name), `joinPath(${abs}, ${name})`);
    }
  }
});
