/**
 * The container state store: one directory per container under the state root, holding
 * `state.json` (the container) and, from before the cgroup is made, `cgroup.json` (what
 * `delete --force` needs after an interrupted create). Every record is written atomically
 * (writeRecord: a temporary file in the same directory, then rename), so a runts killed at
 * any instant leaves each record whole or absent; the readers still check what they read,
 * because records written by an older runts (a plain write) can be empty or cut short.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, BadRecordError, NotFoundError, fsError } from '../errors.ts';
export { BadRecordError } from '../errors.ts';
import type { CgroupPath, InitRef, Resources } from '../native/binding.js';

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
  return join(root, id);
}

/**
 * Claims `<root>/<id>` for a new container. mkdir is atomic: of concurrent creators of one id
 * exactly one succeeds, the others get runc's "container with id exists" error.
 */
export function claim(root: string, id: string): string {
  try {
    mkdirSync(root, { recursive: true, mode: 0o711 });
  } catch (e) {
    throw fsError('mkdir', root, e);
  }
  const dir = stateDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(id);
    throw fsError('mkdir', dir, e);
  }
  return dir;
}

/**
 * Writes `value` as JSON to `<dir>/<name>` atomically: a reader, and whoever looks after a
 * runts killed at any instant, finds the previous record or this one, never a part (rename(2)
 * replaces the name in one step, and only within one file system: hence a temporary file in
 * the same directory). The temporary name carries our pid, so concurrent writers (two
 * `update`s) do not share one; a leftover one, from a writer killed before its rename, starts
 * with a dot and goes with the directory.
 *
 * Not fsynced (nor is runc's state.json: libcontainer's saveState is a write and a rename).
 * A kill cannot tear a renamed file; only a power loss can (ext4's delayed allocation may
 * leave the new name with no data), and then the processes and cgroups the record describes
 * are gone too, and the readers below take an empty or cut record for what it is. fsync
 * would cost each create about 0.5 ms on ext4 (two records, measured here), nothing on tmpfs
 * where /run usually is, and an unbounded wait for a journal commit under I/O load.
 */
export function writeRecord(dir: string, name: string, value: unknown): void {
  const file = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}`);
  try {
    writeFileSync(tmp, JSON.stringify(value), { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fsError('write', file, e);
  }
}

export function writeState(root: string, state: ContainerState): void {
  writeRecord(stateDir(root, state.id), STATE_FILE, state);
}

/**
 * Reads and parses a record; throws BadRecordError when it is empty or not JSON, and the
 * fs error (ENOENT included, for the caller to tell apart) when it cannot be read.
 */
function readRecord(file: string): unknown {
  const text = readFileSync(file, 'utf8');
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
  if (c.paths.some(badPath)) return 'a bad entry in "paths"';
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
export function readState(root: string, id: string): ContainerState {
  const dir = stateDir(root, id);
  const file = join(dir, STATE_FILE);
  let s: unknown;
  try {
    s = readRecord(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      const err = new NotFoundError(id);
      // Still "container does not exist" first: engines match on it (containerd's runc
      // client maps it to not-found).
      if (existsSync(dir)) err.message += `: no ${file} (a create still running, or killed; delete --force removes what it left)`;
      throw err;
    }
    if (e instanceof BadRecordError) throw e;
    throw fsError('read', file, e);
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
export function readPendingCgroup(root: string, id: string): { cgroup?: SavedCgroup; problem?: string } {
  const file = join(stateDir(root, id), PENDING_CGROUP);
  let c: unknown;
  try {
    c = readRecord(file);
  } catch (e) {
    if (e instanceof BadRecordError) return { problem: e.message };
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { problem: `no ${file}` };
    return { problem: fsError('read', file, e).message };
  }
  const problem = cgroupProblem(c);
  if (problem) return { problem: `read ${file}: not a cgroup record (${problem})` };
  const saved = c as SavedCgroup;
  return { cgroup: { ...saved, resources: saved.resources ?? {} } };
}

/** Removes everything the store holds for `id`. */
export function remove(root: string, id: string): void {
  rmSync(stateDir(root, id), { recursive: true, force: true });
}

/**
 * runc prints `created` in Go's RFC3339Nano: nanoseconds with trailing zeros trimmed (and no
 * fraction at all when it is zero). JavaScript clocks give milliseconds; hrtime fills the rest.
 */
export function nowRfc3339Nano(): string {
  const d = new Date();
  const ns = process.hrtime.bigint() % 1_000_000n;
  return d.toISOString().replace(/\.(\d{3})Z$/, (_m, ms: string) => {
    const frac = `${ms}${ns.toString().padStart(6, '0')}`.replace(/0+$/, '');
    return frac ? `.${frac}Z` : 'Z';
  });
}
