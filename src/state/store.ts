/**
 * The container state store: one directory per container under the state root, holding
 * `state.json` (the container) and, from before the cgroup is made, `cgroup.json` (what
 * `delete --force` needs after an interrupted create). Every record is written atomically
 * (write.ts writeRecord: a temporary file in the same directory, then rename), so a runts killed at
 * any instant leaves each record whole or absent; the readers still check what they read,
 * because records written by an older runts (a plain write) can be empty or cut short.
 *
 * This module reads; src/state/write.ts writes. The readers reach the files through the
 * `Files` they are given (src/state/files.ts), so that a verb pays only for the file access
 * it has loaded anyway.
 */
import { BadRecordError, NotFoundError } from '../errors.ts';
export { BadRecordError } from '../errors.ts';
import type { Files } from './files.ts';
import type { CgroupPath, Hook as NativeHook, InitRef, Resources, Seccomp as NativeSeccomp } from '../native/binding.js';
import type { Process as SpecProcess } from '../spec/types.ts';
import { some } from '../lists.ts';

/** What runts keeps about a container between invocations. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  /** The init's pid in the runtime's pid namespace. */
  pid: number;
  bundle: string;
  rootfs: string;
  /** RFC 3339 with nanoseconds, as runc prints it. */
  created: string;
  annotations?: Record<string, string>;
  owner: string;
  /** The init's start time (field 22 of /proc/<pid>/stat): tells a recycled pid apart. */
  initStartTime: number;
  /** The container's cgroup, to find it again (update, pause, ps, events, kill -a, delete). */
  cgroup?: SavedCgroup;
  /** The hooks the runtime runs itself: after `start` and after `delete` (src/runtime/hooks.ts). */
  hooks?: { poststart: NativeHook[]; poststop: NativeHook[] };
}

export interface SavedCgroup {
  driver: 'cgroupfs' | 'systemd';
  cgroupsPath: string;
  rootless: boolean;
  /** (subsystem, directory) per hierarchy; subsystem "" is the v2 or hybrid unified one. */
  paths: CgroupPath[];
  /** The resources in force: the spec's, merged with every `update` since. */
  resources: Resources;
}

/** Written by `create` with the state: what `exec` starts from (src/runtime/exec.ts). */
export const EXEC_DEFAULTS = 'exec.json';

export interface ExecDefaults {
  /** The container's `process`, as config.json had it (runc's exec starts from it). */
  process?: SpecProcess;
  /** The container's seccomp filter, converted: every exec'd process gets it too. */
  seccomp?: NativeSeccomp;
  noNewKeyring: boolean;
}

/**
 * The container's exec defaults; undefined when there are none (a container an older runts
 * created), BadRecordError when the record is unusable.
 */
export function readExecDefaults(files: Files, root: string, id: string): ExecDefaults | undefined {
  const file = inDir(stateDir(root, id), EXEC_DEFAULTS);
  const d = readRecord(files, file);
  if (d === undefined) return undefined;
  if (!isObject(d) || typeof d.noNewKeyring !== 'boolean' || (d.process !== undefined && !isObject(d.process))) {
    throw new BadRecordError(file, 'not an exec record');
  }
  return d as unknown as ExecDefaults;
}

/** Written by `create` before it makes the cgroup, for the cleanup of an interrupted create. */
export const PENDING_CGROUP = 'cgroup.json';
export const STATE_FILE = 'state.json';

/**
 * A record in the store that cannot be used: empty, cut short, not JSON, or not the shape
 * runts writes. `file` names it; the message says what is wrong with it.
 */
/** The init a state names, as the addon takes it: pid and start time, never one alone. */
export function initOf(s: ContainerState): InitRef {
  return { pid: s.pid, startTime: s.initStartTime };
}

export function stateDir(root: string, id: string): string {
  return inDir(root, id);
}

/**
 * `dir/name` for a single name (no separators), without node:path: loading that module costs
 * an engine's `state` or `kill` call ~0.6 ms (docs/benchmarks.md).
 */
export function inDir(dir: string, name: string): string {
  return dir.endsWith('/') ? dir + name : `${dir}/${name}`;
}

/**
 * Reads and parses a record: undefined when there is none; throws BadRecordError when it is
 * empty or not JSON, and the read error (naming the file) when it cannot be read.
 */
function readRecord(files: Files, file: string): unknown {
  const text = files.read(file);
  if (text === undefined) return undefined;
  if (text.trim() === '') throw new BadRecordError(file, 'empty (a write that never finished)');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new BadRecordError(file, `not a whole record (${(e as Error).message})`);
  }
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with a cgroup record, or undefined when it is one runts writes. */
function cgroupProblem(c: unknown): string | undefined {
  if (!isObject(c)) return 'not an object';
  if (c.driver !== 'cgroupfs' && c.driver !== 'systemd') return 'no "driver"';
  if (typeof c.cgroupsPath !== 'string') return 'no "cgroupsPath"';
  if (typeof c.rootless !== 'boolean') return 'no "rootless"';
  if (!Array.isArray(c.paths)) return 'no "paths"';
  // Absolute paths only: cgroupDestroy removes these directories.
  const badPath = (p: unknown) => !isObject(p) || typeof p.subsystem !== 'string' || typeof p.path !== 'string' || !p.path.startsWith('/');
  if (some(c.paths, badPath)) return 'a bad entry in "paths"';
  if (c.resources !== undefined && !isObject(c.resources)) return 'bad "resources"';
  return undefined;
}

/** What is wrong with a state record, or undefined when it is one runts writes. */
function stateProblem(s: unknown, id: string): string | undefined {
  if (!isObject(s)) return 'not an object';
  if (s.id !== id) return `"id" is not ${JSON.stringify(id)}`;
  for (const k of ['ociVersion', 'bundle', 'rootfs', 'created', 'owner']) {
    if (typeof s[k] !== 'string') return `no "${k}"`;
  }
  for (const k of ['pid', 'initStartTime']) {
    if (!Number.isInteger(s[k])) return `no "${k}"`;
  }
  if (s.annotations !== undefined && !isObject(s.annotations)) return 'bad "annotations"';
  if (s.cgroup !== undefined) {
    const p = cgroupProblem(s.cgroup);
    if (p) return `bad "cgroup": ${p}`;
  }
  return undefined;
}

/**
 * The container's state. Throws NotFoundError when there is none (runc's "container does not
 * exist"; for a directory without state.json, a create that has not recorded the state yet
 * or never will, the message says so), BadRecordError when state.json is unusable.
 */
export function readState(files: Files, root: string, id: string): ContainerState {
  const dir = stateDir(root, id);
  const file = inDir(dir, STATE_FILE);
  const s = readRecord(files, file);
  if (s === undefined) {
    const err = new NotFoundError(id);
    // Still "container does not exist" first: engines match on it (containerd's runc
    // client maps it to not-found).
    if (files.exists(dir)) err.message += `: no ${file} (a create still running, or killed; delete --force removes what it left)`;
    throw err;
  }
  const problem = stateProblem(s, id);
  if (problem) throw new BadRecordError(file, `not a state record (${problem})`);
  return s as ContainerState;
}

/**
 * The cgroup record `create` writes before it makes the cgroup, for `delete --force` of a
 * container whose state was never recorded. Never throws: an absent, empty, cut-short or
 * malformed record gives `problem` (saying which) instead of `cgroup`.
 */
export function readPendingCgroup(files: Files, root: string, id: string): { cgroup?: SavedCgroup; problem?: string } {
  const file = inDir(stateDir(root, id), PENDING_CGROUP);
  let c: unknown;
  try {
    c = readRecord(files, file);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  if (c === undefined) return { problem: `no ${file}` };
  const problem = cgroupProblem(c);
  if (problem) return { problem: `read ${file}: not a cgroup record (${problem})` };
  const saved = c as SavedCgroup;
  return { cgroup: { ...saved, resources: saved.resources ?? {} } };
}

/** Removes everything the store holds for `id`. */
export function remove(files: Files, root: string, id: string): void {
  files.remove(stateDir(root, id), true);
}
