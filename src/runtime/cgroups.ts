/**
 * What acts on a container's cgroup: pause, resume, its pids, update, stats. Each takes the
 * container's lock (or reads its state), checks its status and makes one call into the core.
 */
import { RuntsError, StateError } from '../errors.ts';
import { addonFiles, cgroupFreeze, cgroupPids, cgroupStats, cgroupUpdate } from '../native/index.ts';
import type { Resources } from '../native/binding.js';
import { toNativeResources } from '../spec/resources.ts';
import type { Resources as OciResources } from '../spec/types.ts';
import { statusOf } from '../state/status.ts';
import { readState } from '../state/store.ts';
import { writeState } from '../state/write.ts';
import { validateId } from '../state/id.ts';
import type { ContainerState, SavedCgroup } from '../state/store.ts';
import { locked } from './lifecycle.ts';

function cgroupOf(s: ContainerState): SavedCgroup {
  if (!s.cgroup) throw new RuntsError(`container ${s.id} has no cgroup`);
  return s.cgroup;
}

export function pauseContainer(root: string, id: string): void {
  locked(root, id, (s) => {
    const status = statusOf(addonFiles, root, s);
    if (status !== 'running' && status !== 'created') throw new StateError('container not running', status);
    cgroupFreeze(s.id, cgroupOf(s), true);
  });
}

export function resumeContainer(root: string, id: string): void {
  locked(root, id, (s) => {
    const status = statusOf(addonFiles, root, s);
    if (status !== 'paused') throw new StateError('container not paused', status);
    cgroupFreeze(s.id, cgroupOf(s), false);
  });
}

/** Every pid of the container's cgroup (none, without an error, once it stopped: runc). */
export function containerPids(root: string, id: string): number[] {
  return locked(root, id, (s) => (statusOf(addonFiles, root, s) === 'stopped' ? [] : cgroupPids(s.id, cgroupOf(s))));
}

/**
 * The container's stats in runc's `events --stats` shape, as JSON text: its 64-bit counters
 * and limits (9223372036854771712) do not survive a JavaScript number.
 */
export function statsJson(root: string, rawId: string): string {
  const id = validateId(rawId);
  const s = readState(addonFiles, root, id);
  if (statusOf(addonFiles, root, s) === 'stopped') throw new StateError(`container with id ${id} is not running`, 'stopped');
  return cgroupStats(id, cgroupOf(s));
}

/**
 * `update`: merges `resources` into those in force and writes them to the container's cgroup;
 * only what is set changes. runc: an unlimited memory without a new swap limit makes swap
 * unlimited too (the old memory+swap limit would be below it: EINVAL on cgroup v1).
 */
export function updateContainer(root: string, id: string, resources: OciResources): void {
  const r: OciResources = { ...resources };
  if (r.memory?.limit === -1 && r.memory.swap === undefined) r.memory = { ...r.memory, swap: -1 };
  locked(root, id, (s) => {
    const status = statusOf(addonFiles, root, s);
    if (status === 'stopped') throw new StateError('container not running', status);
    const c = cgroupOf(s);
    const merged: Resources = cgroupUpdate(s.id, c, toNativeResources(r));
    writeState(addonFiles, root, { ...s, cgroup: { ...c, resources: merged } });
  });
}
