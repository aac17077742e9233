/**
 * A container's status, derived from the live process rather than trusted from the file:
 * stopped when the init is gone, a zombie (this host's PID 1 never reaps orphans), or a
 * different process that recycled its pid; created while the init waits on exec.fifo;
 * paused when its cgroup is frozen; running otherwise.
 */
import { procStat } from '../process/procfs.ts';
import type { Files } from './files.ts';
import { inDir, stateDir } from './store.ts';
import type { ContainerState } from './store.ts';
import { find } from '../lists.ts';

export type Status = 'created' | 'running' | 'paused' | 'stopped';

export const EXEC_FIFO = 'exec.fifo';

/** Whether the recorded init still runs (alive, not a zombie, same start time). */
export function initAlive(files: Files, state: ContainerState): boolean {
  if (state.pid <= 0) return false;
  const stat = procStat(files, state.pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return stat.startTime === state.initStartTime;
}

export function statusOf(files: Files, root: string, state: ContainerState): Status {
  if (!initAlive(files, state)) return 'stopped';
  // A created container can be paused too (runc); resumed, it is created again.
  if (frozen(files, state)) return 'paused';
  return files.exists(inDir(stateDir(root, state.id), EXEC_FIFO)) ? 'created' : 'running';
}

/**
 * Whether the container's cgroup is frozen: v1 freezer.state, else v2 cgroup.freeze. Read
 * here as a file rather than asked of the addon's cgroup manager, so that `state` needs no
 * addon at all.
 */
function frozen(files: Files, state: ContainerState): boolean {
  const paths = state.cgroup?.paths ?? [];
  const read = (file: string) => {
    try {
      return files.read(file)?.trim();
    } catch {
      return undefined;
    }
  };
  const v1 = find(paths, (p) => p.subsystem === 'freezer');
  if (v1) return read(inDir(v1.path, 'freezer.state')) === 'FROZEN';
  const v2 = find(paths, (p) => p.subsystem === '');
  return v2 ? read(inDir(v2.path, 'cgroup.freeze')) === '1' : false;
}
