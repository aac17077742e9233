/**
 * Reading `<bundle>/config.json`. The fast path is one readFileSync and one JSON.parse (this
 * runs for every `create`/`run`); only a failure pays for finding out what went wrong.
 */

import { FsError, RuntsError } from '../errors.ts';
import { absolute, joinPath } from '../paths.ts';
import type { Files } from '../state/files.ts';
import { markInexact } from './numbers.ts';
import type { Spec } from './types.ts';

export interface LoadedSpec {
  /** The parsed file, not yet validated (run validateSpec on it before trusting the types). */
  spec: Spec;
  /** Absolute path of the config.json that was read. */
  path: string;
}

/**
 * Read and parse `<bundleDir>/config.json` (bundleDir "" means the current directory, as in
 * runc). Throws a RuntsError naming the bundle when it is missing or not a directory, naming
 * the file when it cannot be read, and giving line and column when it is not JSON.
 */
export function loadSpec(files: Files, bundleDir: string): LoadedSpec {
  const bundle = absolute(bundleDir);
  const path = joinPath(bundle, 'config.json');
  let text: string | undefined;
  try {
    text = files.read(path);
  } catch (err) {
    throw new RuntsError(readError(files, bundle, path, err));
  }
  if (text === undefined) throw new RuntsError(readError(files, bundle, path, new FsError('read', path, 'ENOENT')));
  return { spec: parseSpecText(text, path) as Spec, path };
}

/**
 * Parse config text; `file` only names the source in the error. A JSON syntax error becomes
 * "failed to parse <file>: <what> at line L, column C" (columns count characters, from 1).
 */
export function parseSpecText(text: string, file: string): unknown {
  try {
    // Number literals a double does not hold as written stay marked for validation, which
    // checks them as written (numbers.ts); `thaw` the spec once it passed.
    return JSON.parse(markInexact(text) ?? text);
  } catch (err) {
    // JSON.parse messages differ between engines (V8 in Node/Deno gives a position only in
    // newer versions, JavaScriptCore in Bun gives none), so find the error ourselves.
    const found = findJsonError(text);
    if (!found) throw new RuntsError(`failed to parse ${file}: ${(err as Error).message}`);
    const { line, column } = lineColumn(text, found.offset);
    throw new RuntsError(`failed to parse ${file}: ${found.reason} at line ${line}, column ${column}`);
  }
}

/** The message for a failed read of config.json: blame the bundle if that is what is missing. */
function readError(files: Files, bundle: string, path: string, err: unknown): string {
  const code = err instanceof FsError ? err.errnoName : '';
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    let bundleCode = '';
    try {
      if (!files.stat(bundle).isDir) bundleCode = 'ENOTDIR';
    } catch (e) {
      bundleCode = e instanceof FsError ? e.errnoName : 'ENOENT';
    }
    if (bundleCode) return `bundle ${bundle}: ${errnoText(bundleCode)}`;
  }
  return `open ${path}: ${errnoText(code, err instanceof FsError ? err.description || code : (err as Error).message)}`;
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EIO: 'input/output error',
};

/** strerror-style text for an errno code (the form runc and crun print), else the fallback. */
export function errnoText(code: string, fallback?: string): string {
  return ERRNO_TEXT[code] ?? fallback ?? code;
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Locate the first syntax error of a JSON text (RFC 8259): the character offset and a short
 * reason, or undefined if the text is valid. Iterative, so deep nesting cannot overflow the
 * stack; only run after JSON.parse has already failed.
 */
export function findJsonError(text: string): { offset: number; reason: string } | undefined {
  const n = text.length;
  const stack: string[] = []; // '{' or '['
  type Expect = 'value' | 'valueOrEnd' | 'key' | 'keyOrEnd' | 'colon' | 'commaOrEnd' | 'done';
  let expect = 'value' as Expect; // (widened: afterValue() changes it behind TS's back)
  let i = 0;
  const fail = (offset: number, reason: string) => ({ offset, reason });
  const describe = (offset: number) =>
    offset >= n ? 'unexpected end of input' : `unexpected character ${JSON.stringify(text[offset])}`;
  const afterValue = () => {
    expect = stack.length === 0 ? 'done' : 'commaOrEnd';
  };

  for (;;) {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
    if (i >= n) return expect === 'done' ? undefined : fail(n, 'unexpected end of input');
    const ch = text[i]!;
    switch (expect) {
      case 'done':
        return fail(i, `unexpected ${JSON.stringify(ch)} after the end of the JSON value`);
      case 'colon':
        if (ch !== ':') return fail(i, `expected ':' after object key, found ${JSON.stringify(ch)}`);
        i++;
        expect = 'value';
        break;
      case 'commaOrEnd': {
        const close = stack[stack.length - 1] === '{' ? '}' : ']';
        if (ch === ',') {
          i++;
          expect = close === '}' ? 'key' : 'value';
        } else if (ch === close) {
          i++;
          stack.pop();
          afterValue();
        } else {
          return fail(i, `expected ',' or '${close}', found ${JSON.stringify(ch)}`);
        }
        break;
      }
      case 'key':
      case 'keyOrEnd':
        if (expect === 'keyOrEnd' && ch === '}') {
          i++;
          stack.pop();
          afterValue();
        } else if (ch === '"') {
          const err = scanString();
          if (err) return err;
          expect = 'colon';
        } else {
          return fail(i, `expected a string object key, found ${JSON.stringify(ch)}`);
        }
        break;
      case 'value':
      case 'valueOrEnd':
        if (expect === 'valueOrEnd' && ch === ']') {
          i++;
          stack.pop();
          afterValue();
        } else if (ch === '{') {
          i++;
          stack.push('{');
          expect = 'keyOrEnd';
        } else if (ch === '[') {
          i++;
          stack.push('[');
          expect = 'valueOrEnd';
        } else if (ch === '"') {
          const err = scanString();
          if (err) return err;
          afterValue();
        } else if (ch === '-' || (ch >= '0' && ch <= '9')) {
          const err = scanNumber();
          if (err) return err;
          afterValue();
        } else {
          const lit = ['true', 'false', 'null'].find((w) => text.startsWith(w, i));
          if (!lit) return fail(i, describe(i));
          i += lit.length;
          afterValue();
        }
        break;
    }
  }

  function scanString(): { offset: number; reason: string } | undefined {
    const start = i;
    i++; // opening quote
    for (;;) {
      if (i >= n) return fail(start, 'unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return fail(i, 'control character in string (escape it)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return fail(i, 'invalid \\u escape in string');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i += 2;
        } else {
          return fail(i, 'invalid escape in string');
        }
        continue;
      }
      i++;
    }
  }

  function scanNumber(): { offset: number; reason: string } | undefined {
    const re = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return fail(i, 'invalid number');
    const next = text[i + m[0].length];
    if (next !== undefined && /[0-9.eE+\-]/.test(next)) return fail(i, 'invalid number');
    i += m[0].length;
    return undefined;
  }
}
