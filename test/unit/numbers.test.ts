/** Integers in config.json checked exactly as written, as runc's Go decoder reads them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSpecText } from '../../src/spec/load.ts';
import { markInexact, scanInexact, thaw } from '../../src/spec/numbers.ts';
import { validateSpec } from '../../src/spec/validate.ts';

function spec(user: Record<string, unknown>, rlimits: unknown[] = []): string {
  return `{"root":{"path":"rootfs"},"process":{"cwd":"/","args":["sh"],"user":${JSON.stringify(user).replace(/"@([^"]+)"/g, '$1')},"rlimits":${JSON.stringify(rlimits).replace(/"@([^"]+)"/g, '$1')}},"linux":{"namespaces":[{"type":"mount"}]}}`;
}

const problems = (text: string) => validateSpec(parseSpecText(text, 'config.json'));

test('plain configs are parsed as they are (no marking)', () => {
  assert.equal(markInexact('{"a":1,"b":[-2,3],"c":"1e2","d":9007199254740991}'), undefined);
});

test('the test before the scan: configs it passes over are those the scan alone leaves as they are', () => {
  // Random JSON-ish texts: numbers of every shape, strings with escaped quotes and backslashes.
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const pieces = ['1', '-0', '0', '12', '1.5', '1e2', '2E3', '-7', '9007199254740991', '9007199254740993', '1234567890123456', 'true', 'false', 'null', '"s"', '"a\\"', '"q\\"1.5"', '"\\\\"', '"x1.0y"', '"-0"', '[', ']', '{', '}', ',', ':', ' '];
  for (let n = 0; n < 3000; n++) {
    let text = '';
    for (let k = rnd(12); k >= 0; k--) text += pieces[rnd(pieces.length)];
    assert.equal(markInexact(text), scanInexact(text), text);
  }
});

test('the test before the scan: it marks exactly what the scan alone marks', () => {
  // Not suspect: literals inside strings (escaped quotes too), true/false, safe integers of up to 16 digits.
  for (const text of ['{"a":"1.5","b":"-0","c":"\\"1e2\\" 12345678901234567"}', '[true,false,null,-12,0]', '[9007199254740991,-9007199254740991]']) {
    assert.equal(markInexact(text), undefined, text);
  }
  // Each kind of inexact literal, outside strings, still marked as the scan marks it.
  for (const lit of ['1e2', '1E2', '0.0', '1.5', '-0', '9007199254740993', '-9007199254740993', '18446744073709551616']) {
    assert.equal(markInexact(`{"s":"x","v":${lit},"t":true}`), `{"s":"x","v":${JSON.stringify(`\u0000number:${lit}`)},"t":true}`, lit);
  }
  // A 16-digit safe integer is scanned, and left as it is.
  assert.equal(markInexact('[1234567890123456]'), undefined);
});

test('thaw hands back what holds no marked literal as it is, and copies only the way to one', () => {
  const plain = parseSpecText('{"process":{"args":["sh"],"rlimits":[{"hard":1}]},"linux":{"seccomp":{"syscalls":[]}}}', 'c');
  assert.equal(thaw(plain), plain);
  const parsed = parseSpecText('{"process":{"rlimits":[{"hard":1.5}]},"linux":{"sysctl":{"a":"b"}},"__proto__":{"x":1}}', 'c') as Record<string, any>;
  const t = thaw(parsed) as Record<string, any>;
  assert.notEqual(t, parsed);
  assert.equal(t.process.rlimits[0].hard, 1.5);
  assert.equal(t.linux, parsed.linux, 'a subtree without marks is shared');
  assert.ok(Object.hasOwn(t, '__proto__'), 'a "__proto__" key stays an own property');
  assert.equal(Object.getPrototypeOf(t), Object.prototype);
  assert.equal(typeof parsed.process.rlimits[0].hard, 'string', 'the parsed value is left as it was');
});

test('1e2, 0.0, 1.5 and -0 are not integers where runc wants them', () => {
  for (const lit of ['1e2', '0.0', '1.5', '-0']) {
    const p = problems(spec({ uid: `@${lit}`, gid: 0 }));
    assert.deepEqual(p, [{ path: 'process.user.uid', message: `must be an integer from 0 to 4294967295 (got ${lit})` }], lit);
  }
  // A number where a string belongs is named as written.
  const text = spec({ uid: 0, gid: 0 }).replace('"cwd":"/"', '"cwd":1e2');
  assert.deepEqual(problems(text), [{ path: 'process.cwd', message: 'must be a string (got a number (1e2))' }]);
});

test('large values are checked exactly, and reported as written', () => {
  const rl = (hard: string) => spec({ uid: 0, gid: 0 }, [{ type: 'RLIMIT_NOFILE', soft: 1, hard: `@${hard}` }]);
  assert.deepEqual(problems(rl('18446744073709551615')), [], '2^64-1 (RLIM_INFINITY) is a u64');
  assert.deepEqual(problems(rl('18446744073709551616')), [
    { path: 'process.rlimits[0].hard', message: 'must be a non-negative integer (got 18446744073709551616)' },
  ]);
  const huge = problems(spec({ uid: '@9007199254740993', gid: 0 }));
  assert.equal(huge[0].message, 'must be an integer from 0 to 4294967295 (got 9007199254740993)');
});

test('thaw turns what passed back into numbers', () => {
  const parsed = parseSpecText(spec({ uid: 0, gid: 0 }, [{ type: 'RLIMIT_NOFILE', soft: 1, hard: '@18446744073709551615' }]), 'c');
  const t = thaw(parsed) as { process: { rlimits: Array<{ hard: number }> } };
  assert.equal(t.process.rlimits[0].hard, 18446744073709551615);
  assert.equal(thaw({ a: ['x', 1, null] }).a[0], 'x');
});

test('more groups than setgroups(2) takes are refused', () => {
  const p = validateSpec(JSON.parse(spec({ uid: 0, gid: 0, additionalGids: Array.from({ length: 70000 }, (_, i) => i) })));
  assert.deepEqual(p, [{ path: 'process.user.additionalGids', message: 'at most 65536 groups (NGROUPS_MAX), got 70000' }]);
});
