/** What /proc says about a process (read through the store's Files: src/state/files.ts). */
import type { Files } from '../state/files.ts';
import { fields, isDigits } from '../text.ts';

export interface ProcStat {
  /** R, S, D, Z, T, t, X, ... */
  state: string;
  /** Field 22: clock ticks since boot when the process started. */
  startTime: number;
}

/** Parses /proc/<pid>/stat; undefined when the process does not exist. */
export function procStat(files: Files, pid: number): ProcStat | undefined {
  let text: string | undefined;
  try {
    text = files.read(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  // comm (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], startTime: Number(rest[19]) };
}

function nofile(files: Files, pid: number | 'self'): { soft: number; hard: number } | undefined {
  let text: string | undefined;
  try {
    text = files.read(`/proc/${pid}/limits`);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  // "Max open files            1024                 524288               files"
  const head = 'Max open files';
  const at = text.startsWith(head) ? 0 : text.indexOf(`\n${head}`) + 1;
  if (at === 0 && !text.startsWith(head)) return undefined;
  const end = text.indexOf('\n', at);
  const f = fields(text.slice(at + head.length, end < 0 ? text.length : end));
  const n = (v: string | undefined) => (v === 'unlimited' ? -1 : v !== undefined && isDigits(v) ? Number(v) : undefined);
  const soft = n(f[0]);
  const hard = n(f[1]);
  return soft === undefined || hard === undefined ? undefined : { soft, hard };
}


/**
 * The RLIMIT_NOFILE this runtime was started with. Node, Bun and Deno raise their own soft
 * limit to the hard one at startup (as Go does for runc: runc#4195, containerd#8249), so the
 * container would inherit the raised value; the soft limit our caller (the parent) has is the
 * one we were given. The hard limit is our own (runtimes leave it alone). Undefined when the
 * parent is gone or unreadable.
 */
export function callerNofile(files: Files): { soft: number; hard: number } | undefined {
  const caller = nofile(files, process.ppid);
  const own = nofile(files, 'self');
  if (!caller || !own) return undefined;
  const soft = own.hard !== -1 && (caller.soft === -1 || caller.soft > own.hard) ? own.hard : caller.soft;
  return { soft, hard: own.hard };
}
