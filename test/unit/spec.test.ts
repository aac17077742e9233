/** The starter spec (compared with runc's own output), `runts spec`, and loading config.json. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildProgram } from '../../src/cli/program.ts';
import { RuntsError } from '../../src/errors.ts';
import { defaultSpec, formatSpec, rootlessSpec, writeStarterSpec } from '../../src/spec/defaults.ts';
import { findJsonError, lineColumn, loadSpec, parseSpecText } from '../../src/spec/load.ts';
import { nodeFiles } from '../../src/state/node-files.ts';
import { validateSpec } from '../../src/spec/validate.ts';

const RUNC = '/usr/sbin/runc';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'runts-spec-'));
}

/** What `runc spec [extra]` writes in a fresh directory. */
function runcSpec(extra: string[]): string {
  const dir = tempDir();
  try {
    execFileSync(RUNC, ['spec', ...extra], { cwd: dir, stdio: 'pipe' });
    return readFileSync(join(dir, 'config.json'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('defaultSpec is byte for byte what runc spec writes', { skip: !existsSync(RUNC) && 'no runc' }, () => {
  assert.equal(formatSpec(defaultSpec()), runcSpec([]));
});

test('rootlessSpec is byte for byte what runc spec --rootless writes', { skip: !existsSync(RUNC) && 'no runc' }, () => {
  assert.equal(formatSpec(rootlessSpec(defaultSpec())), runcSpec(['--rootless']));
});

test('the starter files are tab-indented, without a trailing newline, and valid', () => {
  const text = formatSpec(defaultSpec());
  assert.match(text, /^\{\n\t"ociVersion": "1\.0\.2-dev",\n\t"process": \{\n\t\t"terminal": true,/);
  assert.ok(text.endsWith('\n}'));
  assert.deepEqual(validateSpec(defaultSpec()), []);
  assert.deepEqual(validateSpec(rootlessSpec(defaultSpec(), { uid: 1000, gid: 1000 })), []);
});

test('rootlessSpec: own ids mapped, no netns, /sys bound, no gid=, no resources; input untouched', () => {
  const base = defaultSpec();
  const before = JSON.stringify(base);
  const r = rootlessSpec(base, { uid: 1000, gid: 1001 });
  assert.equal(JSON.stringify(base), before);
  assert.deepEqual(r.linux?.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  assert.deepEqual(r.linux?.gidMappings, [{ containerID: 0, hostID: 1001, size: 1 }]);
  assert.deepEqual(r.linux?.namespaces?.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'user']);
  assert.equal(r.linux?.resources, undefined);
  assert.deepEqual(Object.keys(r.linux ?? {}), ['uidMappings', 'gidMappings', 'namespaces', 'maskedPaths', 'readonlyPaths']);
  const sys = r.mounts?.find((m) => m.destination === '/sys');
  assert.deepEqual(sys, {
    destination: '/sys',
    type: 'none',
    source: '/sys',
    options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
  });
  const pts = r.mounts?.find((m) => m.destination === '/dev/pts');
  assert.deepEqual(pts?.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
  // A mount left with no options loses the key, as runc's encoder (omitempty) does.
  const only = rootlessSpec({ ...defaultSpec(), mounts: [{ destination: '/x', type: 'tmpfs', source: 't', options: ['uid=1'] }] });
  assert.deepEqual(only.mounts, [{ destination: '/x', type: 'tmpfs', source: 't' }]);
});

/** `runts spec ARGS` through the CLI program. */
async function runSpec(args: string[]): Promise<void> {
  await buildProgram().parseAsync(['spec', ...args], { from: 'user' });
}

test('runts spec writes config.json with mode 0666 & ~umask and refuses to overwrite it', async () => {
  const dir = tempDir();
  try {
    await runSpec(['-b', dir]);
    const file = join(dir, 'config.json');
    assert.equal(readFileSync(file, 'utf8'), formatSpec(defaultSpec()));
    const umask = process.umask();
    assert.equal(statSync(file).mode & 0o777, 0o666 & ~umask);

    writeFileSync(file, 'mine');
    await assert.rejects(
      runSpec(['--bundle', dir, '--rootless']),
      (e: unknown) => e instanceof RuntsError && e.message === 'File config.json exists. Remove it first' && e.exitCode === 1,
    );
    assert.equal(readFileSync(file, 'utf8'), 'mine');

    const rl = join(dir, 'rl');
    mkdirSync(rl);
    await runSpec(['--rootless', '-b', rl]);
    assert.equal(readFileSync(join(rl, 'config.json'), 'utf8'), formatSpec(rootlessSpec(defaultSpec())));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('runts spec names a missing or non-directory bundle', () => {
  const dir = tempDir();
  try {
    assert.throws(() => writeStarterSpec(join(dir, 'nope')), {
      name: 'RuntsError',
      message: `bundle ${join(dir, 'nope')}: no such file or directory`,
    });
    writeFileSync(join(dir, 'file'), '');
    assert.throws(() => writeStarterSpec(join(dir, 'file')), { message: `bundle ${join(dir, 'file')}: not a directory` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadSpec reads <bundle>/config.json and returns its absolute path', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir, 'config.json'), '{"ociVersion": "1.0.2", "root": {"path": "rootfs"}}');
    const { spec, path } = loadSpec(nodeFiles, dir);
    assert.equal(path, join(dir, 'config.json'));
    assert.deepEqual(spec, { ociVersion: '1.0.2', root: { path: 'rootfs' } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loadSpec errors name the bundle, the file, and the position of a JSON error', () => {
  const dir = tempDir();
  try {
    const missing = join(dir, 'missing');
    assert.throws(() => loadSpec(nodeFiles, missing), { name: 'RuntsError', message: `bundle ${missing}: no such file or directory` });
    const file = join(dir, 'config.json');
    assert.throws(() => loadSpec(nodeFiles, dir), { message: `open ${file}: no such file or directory` });

    writeFileSync(file, '{\n  "ociVersion": "1.0.2",\n  "process": {\n    "args": ["sh",]\n  }\n}\n');
    assert.throws(() => loadSpec(nodeFiles, dir), {
      message: `failed to parse ${file}: unexpected character "]" at line 4, column 19`,
    });
    writeFileSync(file, '{"root": {"path": "rootfs"}');
    assert.throws(() => loadSpec(nodeFiles, dir), { message: `failed to parse ${file}: unexpected end of input at line 1, column 28` });
    writeFileSync(file, '');
    assert.throws(() => loadSpec(nodeFiles, dir), { message: `failed to parse ${file}: unexpected end of input at line 1, column 1` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('findJsonError agrees with JSON.parse and points at the first bad character', () => {
  const good = ['{}', '[]', '0', '-1.5e+10', '"a\\u00e9\\n"', ' {"a": [1, {"b": null}, true, false]} ', '[[[[[]]]]]'];
  for (const g of good) {
    assert.doesNotThrow(() => JSON.parse(g));
    assert.equal(findJsonError(g), undefined, g);
  }
  const bad: Array<[string, number, RegExp]> = [
    ['{"a": 1,}', 8, /expected a string object key/],
    ['{"a" 1}', 5, /expected ':'/],
    ['{"a": 1 "b": 2}', 8, /expected ',' or '}'/],
    ['[1 2]', 3, /expected ',' or '\]'/],
    ['{"a": "x', 6, /unterminated string/],
    ['{"a": tru}', 6, /unexpected character "t"/],
    ['{"a": 01}', 6, /invalid number/],
    ['{"a": -}', 6, /invalid number/],
    ['{"a": "\\x"}', 7, /invalid escape/],
    ['{"a": "\t"}', 7, /control character/],
    ['{} x', 3, /after the end of the JSON value/],
    ['{a: 1}', 1, /expected a string object key/],
    ['[', 1, /unexpected end of input/],
  ];
  for (const [text, offset, reason] of bad) {
    assert.throws(() => JSON.parse(text), SyntaxError, text);
    const found = findJsonError(text);
    assert.ok(found, text);
    assert.equal(found.offset, offset, text);
    assert.match(found.reason, reason, text);
  }
  // Deep nesting is handled without recursion.
  assert.match(findJsonError('['.repeat(100000))?.reason ?? '', /unexpected end of input/);
});

test('lineColumn and parseSpecText', () => {
  assert.deepEqual(lineColumn('ab\ncd\nef', 0), { line: 1, column: 1 });
  assert.deepEqual(lineColumn('ab\ncd\nef', 4), { line: 2, column: 2 });
  assert.deepEqual(lineColumn('ab\ncd\nef', 6), { line: 3, column: 1 });
  assert.deepEqual(parseSpecText('{"a": 1}', 'x.json'), { a: 1 });
  assert.throws(() => parseSpecText('{\n\n   ]', 'x.json'), {
    message: 'failed to parse x.json: expected a string object key, found "]" at line 3, column 4',
  });
});
