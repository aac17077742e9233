/**
 * Loops over lists, for the code a runts call runs once. JavaScriptCore compiles its builtins
 * written in JavaScript on their first use in a process: 20-150 µs and up to 0.6 MB each in the
 * compiled binary (Array's map, filter, forEach, some, every, find and includes, Array.from,
 * Set, Object.hasOwn and fromEntries, sort, Math.min, object spread, Promise.all), 1.1 MB for
 * the first regular expression, 0.5 MB for BigInt (docs/benchmarks.md, "Session 12"), and a
 * runts process lives for one call. So the paths engines call (the fast parser, the state
 * readers, the spec pipeline of create, run and exec) use these helpers and plain code instead.
 * An absent list is an empty one.
 */

export function each<T>(list: readonly T[] | undefined, fn: (x: T, i: number) => void): void {
  if (list) for (let i = 0; i < list.length; i++) fn(list[i], i);
}

export function map<T, U>(list: readonly T[] | undefined, fn: (x: T, i: number) => U): U[] {
  const out: U[] = [];
  if (list) for (let i = 0; i < list.length; i++) out.push(fn(list[i], i));
  return out;
}

export function filter<T>(list: readonly T[] | undefined, pred: (x: T, i: number) => boolean): T[] {
  const out: T[] = [];
  if (list) for (let i = 0; i < list.length; i++) if (pred(list[i], i)) out.push(list[i]);
  return out;
}

export function some<T>(list: readonly T[] | undefined, pred: (x: T) => boolean): boolean {
  if (list) for (let i = 0; i < list.length; i++) if (pred(list[i])) return true;
  return false;
}

export function every<T>(list: readonly T[] | undefined, pred: (x: T) => boolean): boolean {
  if (list) for (let i = 0; i < list.length; i++) if (!pred(list[i])) return false;
  return true;
}

export function find<T>(list: readonly T[] | undefined, pred: (x: T) => boolean): T | undefined {
  if (list) for (let i = 0; i < list.length; i++) if (pred(list[i])) return list[i];
  return undefined;
}

/** The list without repeats, in order of first appearance. */
export function unique<T>(list: readonly T[]): T[] {
  const out: T[] = [];
  for (let i = 0; i < list.length; i++) if (out.indexOf(list[i]) < 0) out.push(list[i]);
  return out;
}

/** Whether `list` holds `x` (indexOf: strings and numbers other than NaN, as runts keeps). */
export function has<T>(list: readonly T[] | undefined, x: T): boolean {
  return !!list && list.indexOf(x) >= 0;
}
