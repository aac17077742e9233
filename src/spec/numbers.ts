/**
 * Integers in config.json as runc reads them. Go decodes each into its field's integer type,
 * so `1e2`, `0.0` and `1.5` are errors there, `-0` is one for unsigned fields, and a value is
 * checked exactly, however large. JSON.parse turns every number into a double: `1e2` becomes
 * 100, 2^64 becomes indistinguishable from 2^64-1. So before parsing, every number literal a
 * double does not hold as written (anything but a plain safe integer) is replaced by a marked
 * string carrying its text; validation checks that text (validate.ts, intValue) and reports it
 * as written; `thaw` then turns what passed back into numbers. A config without such literals
 * (the usual case) costs a look at what lies between its strings (`suspect`: the strings are
 * skipped with indexOf), and `thaw` hands it back as it is. Scanned character by character in
 * JavaScript, which runs once in Bun's interpreter, a 3 KB config cost `create` 0.2 ms, and
 * the copy 0.1 ms; a regular expression for the test costs a process its first use of the
 * engine's (1.1 MB, 0.1 ms: src/lists.ts).
 */

/** The prefix of a marked literal: a NUL cannot start a real JSON string value here. */
export const NUMBER_MARK = '\u0000number:';

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const PLAIN = /^-?(?:0|[1-9]\d*)$/;

function exact(raw: string): boolean {
  return PLAIN.test(raw) && raw !== '-0' && Number.isSafeInteger(Number(raw));
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/**
 * Whether text[from, to), which holds no string, has what only an inexact literal has: a
 * fraction or an exponent (a digit then `.`, `e` or `E`: `true` and `false` have no digit
 * before theirs), `-0` (-0, or the start of a literal JSON refuses), or 16 digits in a row (a safe integer has at
 * most 16, and only some of those are safe: the scan decides).
 */
function suspectIn(text: string, from: number, to: number): boolean {
  let run = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) {
      if (++run >= 16) return true;
      if (c === 0x30 && run === 1 && i > from && text.charCodeAt(i - 1) === 0x2d) return true;
    } else {
      if (run > 0 && (c === 0x2e || c === 0x65 || c === 0x45)) return true;
      run = 0;
    }
  }
  return false;
}

/** Whether the JSON text may hold an inexact number literal (outside its strings). */
export function suspect(text: string): boolean {
  let i = 0;
  for (;;) {
    const q = text.indexOf('"', i);
    if (suspectIn(text, i, q < 0 ? text.length : q)) return true;
    if (q < 0) return false;
    // The string ends at the next quote after an even run of backslashes.
    let k = q;
    for (;;) {
      k = text.indexOf('"', k + 1);
      if (k < 0) return false; // never closed: all the rest is in it (and JSON.parse fails)
      let backslashes = 0;
      while (text.charCodeAt(k - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
    }
    i = k + 1;
  }
}

/** The text with its inexact number literals marked, or undefined when it has none. */
export function markInexact(text: string): string | undefined {
  // The usual config has none (said without the scan, and without a regular expression).
  return suspect(text) ? scanInexact(text) : undefined;
}

/** markInexact's scan alone, through the whole text (exported for the test that compares). */
export function scanInexact(text: string): string | undefined {
  let out: string[] | undefined;
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) continue; // a syntax error: JSON.parse reports it
      const raw = m[0];
      if (!exact(raw)) {
        (out ??= []).push(text.slice(last, i), JSON.stringify(NUMBER_MARK + raw));
        last = i + raw.length;
      }
      i += raw.length - 1;
    }
  }
  if (!out) return undefined;
  out.push(text.slice(last));
  return out.join('');
}

export function isMarked(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(NUMBER_MARK);
}

/** The literal as the file wrote it. */
export function rawOf(v: string): string {
  return v.slice(NUMBER_MARK.length);
}

/**
 * Every marked literal back to a number (after validation passed). What holds none is handed
 * back as it is, not copied; what holds one is copied along the way to it.
 */
export function thaw<T>(v: T): T {
  if (isMarked(v)) return Number(rawOf(v)) as T;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const x = thaw(v[i]);
      if (x !== v[i]) (out ??= v.slice())[i] = x;
    }
    return (out ?? v) as T;
  }
  if (typeof v === 'object' && v !== null) {
    let changed: Map<string, unknown> | undefined;
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const x = thaw((v as Record<string, unknown>)[k]);
      if (x !== (v as Record<string, unknown>)[k]) (changed ??= new Map()).set(k, x);
    }
    // Copied as JSON.parse made it (own data properties, "__proto__" among them).
    if (changed) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, changed.has(k) ? changed.get(k) : x])) as T;
  }
  return v;
}
