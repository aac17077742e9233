/**
 * The container state store: one directory per container under the state root,
 * `<root>/<id>/state.json`, written atomically (write a temporary file, then rename).
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.ts';
import type { CgroupPath, Resources } from '../native/binding.js';

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

export function stateDir(root: string, id: string): string {
  return join(root, id);
}

/**
 * Claims `<root>/<id>` for a new container. mkdir is atomic: of concurrent creators of one id
 * exactly one succeeds, the others get runc's "container with id exists" error.
 */
export function claim(root: string, id: string): string {
  mkdirSync(root, { recursive: true, mode: 0o711 });
  const dir = stateDir(root, id);
  try {
    mkdirSync(dir, { mode: 0o711 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new RuntsError(`container with id exists: ${id}`);
    }
    throw new RuntsError(`mkdir ${dir}: ${(e as Error).message}`);
  }
  return dir;
}

export function writeState(root: string, state: ContainerState): void {
  const dir = stateDir(root, state.id);
  const tmp = join(dir, `.state.json.${process.pid}`);
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, join(dir, 'state.json'));
}

export function readState(root: string, id: string): ContainerState {
  const file = join(stateDir(root, id), 'state.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new RuntsError('container does not exist');
    throw e;
  }
  return JSON.parse(text) as ContainerState;
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
