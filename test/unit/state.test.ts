import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateId } from '../../src/state/id.ts';
import { BadRecordError, PENDING_CGROUP, readPendingCgroup, readState, remove } from '../../src/state/store.ts';
import { claim, nowRfc3339Nano, writeRecord, writeState } from '../../src/state/write.ts';
import { nodeFiles } from '../../src/state/node-files.ts';
import { addonFiles } from '../../src/native/index.ts';
import type { Files } from '../../src/state/files.ts';
import type { ContainerState, SavedCgroup } from '../../src/state/store.ts';
import { FsError, NotFoundError, RuntsError } from '../../src/errors.ts';
import { writePidFile } from '../../src/process/pidfile.ts';
import { resolveBundle, toNativeConfig } from '../../src/spec/convert.ts';
import { loadSpec } from '../../src/spec/load.ts';
import { checkHost } from '../../src/spec/validate.ts';
import { callerNofile, procStat } from '../../src/process/procfs.ts';
import { fields } from '../../src/text.ts';

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
    claim(nodeFiles, root, 'c1');
    assert.throws(() => claim(nodeFiles, root, 'c1'), /container with id exists: c1/);
    const state = {
      ociVersion: '1.0.2-dev', id: 'c1', pid: 42, bundle: '/b', rootfs: '/b/rootfs',
      created: nowRfc3339Nano(), owner: '', initStartTime: 7,
    };
    writeState(nodeFiles, root, state);
    assert.deepEqual(readState(nodeFiles, root, 'c1'), state);
    remove(nodeFiles, root, 'c1');
    assert.equal(existsSync(join(root, 'c1')), false);
    assert.throws(() => readState(nodeFiles, root, 'c1'), /container does not exist/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('state views: annotations sorted as Go prints a map (code units), "__proto__" kept as one; none, no key', async () => {
  const { viewAs } = await import('../../src/runtime/state.ts');
  const base = { ociVersion: '1.0.2-dev', id: 'c1', pid: 42, bundle: '/b', rootfs: '/b/rootfs', created: 'x', owner: '', initStartTime: 7 };
  const annotations = JSON.parse('{"b":"1","a.b":"2","B":"3","\u00e9":"4","__proto__":"5","a":"6","io.kubernetes.cri.container-type":"7"}');
  const v = viewAs({ ...base, annotations } as ContainerState, 'created');
  assert.deepEqual(Object.keys(v.annotations!), Object.keys(annotations).sort());
  assert.equal(Object.getPrototypeOf(v.annotations), Object.prototype);
  assert.equal(v.annotations!['__proto__'], '5');
  assert.equal(JSON.stringify(v).indexOf('"__proto__":"5"') > 0, true);
  assert.equal('annotations' in viewAs({ ...base, annotations: {} } as ContainerState, 'stopped'), false);
  assert.equal(viewAs(base as ContainerState, 'stopped').pid, 0, 'runc reports pid 0 once stopped');
});

test('procfs: fields split at runs of blanks; the caller\'s RLIMIT_NOFILE read from /proc/<pid>/limits', () => {
  assert.deepEqual(fields('  0 0\t 4294967295\n'), ['0', '0', '4294967295']);
  assert.deepEqual(fields(''), []);
  const limits = (soft: string, hard: string) =>
    ({ read: (p: string) => (p.endsWith('/limits') ? `Limit                     Soft Limit           Hard Limit           Units\nMax cpu time              unlimited            unlimited            seconds\nMax open files            ${soft}                 ${hard}               files\n` : undefined) }) as unknown as Files;
  assert.deepEqual(callerNofile(limits('1024', '524288')), { soft: 1024, hard: 524288 });
  assert.deepEqual(callerNofile(limits('unlimited', 'unlimited')), { soft: -1, hard: -1 });
  assert.equal(callerNofile(limits('lots', '5')), undefined);
  assert.equal(callerNofile({ read: () => 'no such line\n' } as unknown as Files), undefined);
});

test('created time is Go RFC3339Nano like runc: nanoseconds, trailing zeros trimmed', () => {
  for (let i = 0; i < 50; i++) {
    assert.match(nowRfc3339Nano(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$/);
  }
});

test('procStat reads our own /proc entry and survives odd comm names', () => {
  const s = procStat(nodeFiles, process.pid);
  assert.ok(s);
  assert.match(s.state, /^[RS]$/);
  assert.ok(s.startTime > 0);
  assert.equal(procStat(nodeFiles, 2 ** 22 + 1), undefined);
});

/** A temporary state root for one test, removed after it. */
function tempRoot(t: { after(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'runts-store-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

const STATE: ContainerState = {
  ociVersion: '1.0.2-dev', id: 'c1', pid: 42, bundle: '/b', rootfs: '/b/rootfs',
  created: '2024-01-02T03:04:05.123456789Z', owner: '', initStartTime: 7,
  annotations: { a: 'b' },
  cgroup: {
    driver: 'cgroupfs', cgroupsPath: '', rootless: false,
    paths: [{ subsystem: '', path: '/sys/fs/cgroup/unified/c1' }], resources: { pidsLimit: 5 },
  },
};

const CGROUP: SavedCgroup = {
  driver: 'cgroupfs', cgroupsPath: '', rootless: false,
  paths: [{ subsystem: 'memory', path: '/sys/fs/cgroup/memory/c1' }, { subsystem: '', path: '/sys/fs/cgroup/unified/c1' }],
  resources: {},
};

test('writeRecord replaces the record by rename: a reader of the old one never sees a part', (t) => {
  const dir = tempRoot(t);
  writeRecord(nodeFiles, dir, 'r.json', { n: 1 });
  const file = join(dir, 'r.json');
  const fd = openSync(file, 'r');
  try {
    const ino = statSync(file).ino;
    writeRecord(nodeFiles, dir, 'r.json', { n: 2, pad: 'x'.repeat(10_000) });
    // A new inode under the name; the old one, still open, kept its whole content.
    assert.notEqual(statSync(file).ino, ino);
    const buf = Buffer.alloc(64);
    assert.equal(buf.toString('utf8', 0, readSync(fd, buf, 0, 64, 0)), '{"n":1}');
  } finally {
    closeSync(fd);
  }
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { n: 2, pad: 'x'.repeat(10_000) });
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['r.json'], 'no temporary file left');
});

test('writeRecord: a failed write names the record and leaves no temporary file', (t) => {
  const root = tempRoot(t);
  const dir = join(root, 'gone');
  assert.throws(() => writeRecord(nodeFiles, dir, 'state.json', {}), (e: Error) => {
    assert.ok(e instanceof RuntsError);
    assert.equal(e.message, `write ${join(dir, 'state.json')}: ENOENT (no such file or directory)`);
    return true;
  });
  // A directory where the record goes: the rename fails, the temporary file is removed.
  mkdirSync(join(root, 'd'));
  mkdirSync(join(root, 'd', 'state.json'));
  assert.throws(() => writeRecord(nodeFiles, join(root, 'd'), 'state.json', {}), /^FsError: write \S+\/d\/state\.json: EISDIR/);
  assert.deepEqual(readdirSync(join(root, 'd')), ['state.json']);
});

test('readState: no directory, no state.json, and unusable records each say what they are', (t) => {
  const root = tempRoot(t);
  // No directory: runc's words exactly (engines match on them).
  assert.throws(() => readState(nodeFiles, root, 'c1'), (e: Error) => e instanceof NotFoundError && e.message === 'container does not exist');
  // A directory without state.json (a create not finished): still not found, naming the file.
  claim(nodeFiles, root, 'c1');
  const file = join(root, 'c1', 'state.json');
  assert.throws(
    () => readState(nodeFiles, root, 'c1'),
    (e: Error) => e instanceof NotFoundError && e.message.startsWith(`container does not exist: no ${file} `),
  );
  const bad = (text: string, message: RegExp) => {
    writeFileSync(file, text);
    assert.throws(() => readState(nodeFiles, root, 'c1'), (e: Error) => {
      assert.ok(e instanceof BadRecordError, `${e}`);
      assert.equal(e.file, file);
      assert.match(e.message, message);
      return true;
    }, text);
  };
  bad('', /^read \S+state\.json: empty \(/);
  bad('  \n', /: empty \(/);
  bad('{"ociVersion":"1.0', /: not a whole record \(/);
  bad('null', /: not a state record \(not an object\)$/);
  bad('[]', /: not a state record \(not an object\)$/);
  bad(JSON.stringify({ ...STATE, id: 'other' }), /\("id" is not "c1"\)$/);
  bad(JSON.stringify({ ...STATE, pid: '42' }), /\(no "pid"\)$/);
  bad(JSON.stringify({ ...STATE, bundle: undefined }), /\(no "bundle"\)$/);
  bad(JSON.stringify({ ...STATE, cgroup: { ...STATE.cgroup, paths: [{ subsystem: '', path: 'rel' }] } }), /\(bad "cgroup": a bad entry in "paths"\)$/);
  writeState(nodeFiles, root, STATE);
  assert.deepEqual(readState(nodeFiles, root, 'c1'), STATE);
});

test('readState and readPendingCgroup reject every cut-short copy of a record', (t) => {
  const root = tempRoot(t);
  claim(nodeFiles, root, 'c1');
  const stateText = JSON.stringify(STATE);
  const cgroupText = JSON.stringify(CGROUP);
  for (let n = 0; n < stateText.length; n++) {
    writeFileSync(join(root, 'c1', 'state.json'), stateText.slice(0, n));
    assert.throws(() => readState(nodeFiles, root, 'c1'), BadRecordError, `state.json cut at ${n}`);
  }
  for (let n = 0; n < cgroupText.length; n++) {
    writeFileSync(join(root, 'c1', PENDING_CGROUP), cgroupText.slice(0, n));
    const r = readPendingCgroup(nodeFiles, root, 'c1');
    assert.equal(r.cgroup, undefined, `cgroup.json cut at ${n}`);
    assert.match(r.problem ?? '', /cgroup\.json: (empty|not a whole record|not a cgroup record)/);
  }
});

test('readPendingCgroup never throws: absent, empty, malformed, whole', (t) => {
  const root = tempRoot(t);
  const file = join(root, 'c1', PENDING_CGROUP);
  assert.deepEqual(readPendingCgroup(nodeFiles, root, 'c1'), { problem: `no ${file}` });
  claim(nodeFiles, root, 'c1');
  assert.deepEqual(readPendingCgroup(nodeFiles, root, 'c1'), { problem: `no ${file}` });
  writeFileSync(file, '');
  assert.deepEqual(readPendingCgroup(nodeFiles, root, 'c1'), { problem: `read ${file}: empty (a write that never finished)` });
  writeFileSync(file, JSON.stringify({ ...CGROUP, driver: 'v2' }));
  assert.deepEqual(readPendingCgroup(nodeFiles, root, 'c1'), { problem: `read ${file}: not a cgroup record (no "driver")` });
  writeFileSync(file, JSON.stringify({ ...CGROUP, paths: [{ subsystem: 'memory' }] }));
  assert.match(readPendingCgroup(nodeFiles, root, 'c1').problem ?? '', /a bad entry in "paths"/);
  mkdirSync(join(root, 'c2', PENDING_CGROUP), { recursive: true });
  assert.match(readPendingCgroup(nodeFiles, root, 'c2').problem ?? '', /^read \S+cgroup\.json: EISDIR/);
  // What build.ts writes; resources default to none.
  const { resources: _, ...withoutResources } = CGROUP;
  writeRecord(nodeFiles, join(root, 'c1'), PENDING_CGROUP, withoutResources);
  assert.deepEqual(readPendingCgroup(nodeFiles, root, 'c1'), { cgroup: { ...CGROUP, resources: {} } });
  writeRecord(nodeFiles, join(root, 'c1'), PENDING_CGROUP, CGROUP);
  assert.deepEqual(readPendingCgroup(nodeFiles, root, 'c1'), { cgroup: CGROUP });
});


test('the store reads the same through node:fs and through the addon', () => {
  const root = mkdtempSync(join(tmpdir(), 'runts-files-'));
  try {
    mkdirSync(join(root, 'c1', 'sub'), { recursive: true });
    writeFileSync(join(root, 'c1', 'state.json'), JSON.stringify(STATE));
    writeFileSync(join(root, 'c1', 'sub', 'f'), 'x');
    const seen = ([nodeFiles, addonFiles] as Files[]).map((files) => {
      const errorOf = (fn: () => unknown) => {
        try {
          fn();
          return 'no error';
        } catch (e) {
          return (e as Error).message;
        }
      };
      return {
        state: readState(files, root, 'c1'),
        absent: files.read(join(root, 'none')),
        proc: procStat(files, process.pid)?.startTime,
        // The core quotes the path (`…`), node's errors do not; the rest is the same.
        dir: errorOf(() => files.read(join(root, 'c1'))).replace(/ \(.*\)$/, '').replaceAll('`', ''),
        exists: [files.exists(join(root, 'c1')), files.exists(join(root, 'none'))],
        pending: readPendingCgroup(files, root, 'c1').problem,
        missing: errorOf(() => readState(files, root, 'c2')),
      };
    });
    assert.deepEqual(seen[1], seen[0]);
    assert.match(seen[0].dir, /^read \S+\/c1: EISDIR$/);
    // remove: a file, a tree, and nothing at all are all fine.
    addonFiles.remove(join(root, 'c1', 'sub', 'f'));
    assert.equal(existsSync(join(root, 'c1', 'sub', 'f')), false);
    addonFiles.remove(join(root, 'c1', 'sub', 'f'));
    remove(addonFiles, root, 'c1');
    assert.equal(existsSync(join(root, 'c1')), false);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('create\'s file calls behave the same through node:fs and through the addon', () => {
  const root = mkdtempSync(join(tmpdir(), 'runts-files-'));
  try {
    const seen = ([nodeFiles, addonFiles] as Files[]).map((files, i) => {
      const base = join(root, String(i));
      const errorOf = (fn: () => unknown) => {
        try {
          fn();
          return 'no error';
        } catch (e) {
          if (!(e instanceof FsError)) return `${(e as Error).name}: ${(e as Error).message}`;
          return `${e.op} ${e.path.replace(base, '<b>')}: ${e.errnoName}`;
        }
      };
      const messageOf = (fn: () => unknown) => {
        try {
          fn();
          return 'no error';
        } catch (e) {
          return (e as Error).message.replace(base, '<b>');
        }
      };
      // claim: the root made with its parents, the id exclusive.
      const dir = claim(files, join(base, 'state'), 'c1');
      const again = errorOf(() => claim(files, join(base, 'state'), 'c1'));
      writeRecord(files, dir, 'r.json', { n: 1 });
      writeRecord(files, dir, 'r.json', { n: 2 });
      writePidFile(files, join(base, 'pid'), 42);
      mkdirSync(join(base, 'bundle', 'rootfs'), { recursive: true });
      symlinkSync(join(base, 'bundle'), join(base, 'alias'));
      writeFileSync(join(base, 'bundle', 'config.json'), '{"ociVersion": "1.0.2"');
      return {
        again,
        record: readFileSync(join(dir, 'r.json'), 'utf8'),
        mode: statSync(join(dir, 'r.json')).mode & 0o777,
        dirMode: statSync(dir).mode & 0o777,
        pid: readFileSync(join(base, 'pid'), 'utf8'),
        left: readdirSync(dir).sort(),
        real: files.realpath(join(base, 'alias')).replace(base, '<b>'),
        bundle: resolveBundle(files, join(base, 'alias')).replace(base, '<b>'),
        stat: files.stat(join(base, 'alias')).isDir,
        same: files.stat(join(base, 'alias')).ino === statSync(join(base, 'bundle')).ino,
        noStat: errorOf(() => files.stat(join(base, 'none'))),
        noReal: errorOf(() => files.realpath(join(base, 'none'))),
        noDir: errorOf(() => files.mkdir(join(base, 'x', 'y'), 0o700)),
        onDir: errorOf(() => writeRecord(files, base, 'bundle', {})),
        badJson: messageOf(() => loadSpec(files, join(base, 'bundle'))),
        missingSpec: messageOf(() => loadSpec(files, join(base, 'none'))),
        host: checkHost(files, toNativeConfig({ root: { path: 'rootfs' }, process: { cwd: '/', args: ['sh'] } }, resolveBundle(files, join(base, 'alias')), 'x')),
      };
    });
    assert.deepEqual(seen[1], seen[0]);
    assert.equal(seen[0].again, 'AlreadyExistsError: container with id exists: c1');
    assert.equal(seen[0].record, '{"n":2}');
    assert.deepEqual(seen[0].left, ['r.json']);
    assert.equal(seen[0].pid, '42');
    assert.equal(seen[0].mode, 0o600);
    assert.equal(seen[0].noStat, 'stat <b>/none: ENOENT');
    assert.equal(seen[0].noDir, 'mkdir <b>/x/y: ENOENT');
    assert.equal(seen[0].onDir, 'write <b>/bundle: EISDIR');
    assert.equal(seen[0].missingSpec, 'bundle <b>/none: no such file or directory');
    assert.match(seen[0].badJson, /^failed to parse <b>\/bundle\/config\.json: /);
    assert.deepEqual(seen[0].host, []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
