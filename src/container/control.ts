/**
 * The verbs that act on an existing container: start, kill, delete. Each takes the
 * container's lock (an flock on its state directory) and re-reads the state under it, so
 * concurrent calls on one id serialise and see each other's results.
 */
import { closeSync, existsSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.ts';
import {
  cgroupDestroy,
  cgroupFreeze,
  cgroupSignal,
  lockDir,
  signal,
  signalInit,
  startFifo,
  waitGone,
} from '../native/index.ts';
import { parseSignal } from '../process/signame.ts';
import { validateId } from '../state/id.ts';
import { EXEC_FIFO, statusOf } from '../state/status.ts';
import { PENDING_CGROUP, readState, remove, stateDir } from '../state/store.ts';
import type { ContainerState, SavedCgroup } from '../state/store.ts';

/** How long a verb waits for another runts holding the same container. */
const LOCK_TIMEOUT_MS = 30_000;
/** How long `start` waits for the init to exec, and `delete -f` for the init to die. */
const START_TIMEOUT_MS = 30_000;
const KILL_TIMEOUT_MS = 10_000;

export function locked<T>(root: string, rawId: string, fn: (s: ContainerState) => T): T {
  const id = validateId(rawId);
  const dir = stateDir(root, id);
  if (!existsSync(dir)) throw new RuntsError('container does not exist');
  let fd: number;
  try {
    fd = lockDir(dir, LOCK_TIMEOUT_MS);
  } catch (e) {
    if (!existsSync(dir)) throw new RuntsError('container does not exist');
    throw e;
  }
  try {
    // Deleted by whoever held the lock before us?
    return fn(readState(root, id));
  } finally {
    closeSync(fd);
  }
}

export function startContainer(root: string, id: string): void {
  locked(root, id, (s) => {
    const status = statusOf(root, s);
    if (status === 'stopped') throw new RuntsError('cannot start a container that has stopped');
    if (status !== 'created') throw new RuntsError(`cannot start an already running container`);
    const fifo = join(stateDir(root, s.id), EXEC_FIFO);
    try {
      startFifo(fifo, s.pid, s.initStartTime, START_TIMEOUT_MS);
    } finally {
      // Once opened, the fifo has served: its absence is what marks the container running.
      rmSync(fifo, { force: true });
    }
  });
}

export function killContainer(root: string, id: string, rawSignal: string, all: boolean): void {
  locked(root, id, (s) => {
    const sig = parseSignal(rawSignal);
    const status = statusOf(root, s);
    // runc 1.1: `kill --all` of a stopped container signals what is left in its cgroup (maybe
    // nothing) and succeeds; a plain kill fails with the string containerd matches.
    if (status === 'stopped' && !all) throw new RuntsError('container not running');
    if (status === 'stopped' && !s.cgroup) return;
    if (all && s.cgroup) {
      // runc: every process of the cgroup, the init among them; done once they are signalled.
      cgroupSignal(s.id, s.cgroup, sig);
      return;
    }
    if (all) for (const pid of pidsOf(s)) if (pid !== s.pid) signal(pid, sig);
    if (!signalInit(s.pid, s.initStartTime, sig)) throw new RuntsError('container not running');
    // runc: a frozen init cannot act on SIGKILL until thawed (cgroup v1), so thaw for it.
    if (status === 'paused' && sig === 9 && s.cgroup) cgroupFreeze(s.id, s.cgroup, false);
  });
}

/**
 * Every process of the container (for `kill --all`): those in the init's pid namespace. A
 * container sharing the host's pid namespace has no such boundary; its cgroup is the only one.
 */
function pidsOf(s: ContainerState): number[] {
  const ns = (pid: number | string) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      return undefined;
    }
  };
  const mine = ns(s.pid);
  if (!mine) return [];
  if (mine === ns('self')) {
    throw new RuntsError('not supported: kill --all of a container in the host pid namespace (needs its cgroup)');
  }
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => ns(pid) === mine);
}

export function deleteContainer(root: string, rawId: string, force: boolean): void {
  const id = validateId(rawId);
  const dir = stateDir(root, id);
  if (!existsSync(dir)) {
    // runc: `delete --force` of a container that does not exist succeeds (containerd sends
    // `delete` and then `delete --force`).
    if (force) return;
    throw new RuntsError('container does not exist');
  }
  if (!existsSync(join(dir, 'state.json'))) {
    // A create killed before it recorded the state: its init never got the go-ahead and has
    // exited; the directory is left, and maybe the cgroup it was making.
    if (force) {
      const pending = join(dir, PENDING_CGROUP);
      if (existsSync(pending)) {
        const c = JSON.parse(readFileSync(pending, 'utf8')) as SavedCgroup;
        cgroupDestroy(id, c);
      }
      rmSync(dir, { recursive: true, force: true });
      return;
    }
    throw new RuntsError('container does not exist');
  }
  locked(root, id, (s) => {
    const status = statusOf(root, s);
    if (status === 'running' || status === 'paused') {
      if (!force) throw new RuntsError(`cannot delete container ${s.id} that is not stopped: ${status}`);
    }
    // runc deletes a created container without -f: its init only waits, so it is killed.
    if (status !== 'stopped') {
      // A paused container's init cannot die until thawed; cgroupDestroy thaws too.
      if (status === 'paused' && s.cgroup) cgroupFreeze(s.id, s.cgroup, false);
      signalInit(s.pid, s.initStartTime, 9);
      if (!waitGone(s.pid, s.initStartTime, KILL_TIMEOUT_MS)) {
        throw new RuntsError(`container ${s.id}: init (pid ${s.pid}) did not exit after SIGKILL`);
      }
    }
    // runc's destroy: what is left in the cgroup is killed (freeze, kill, thaw), then removed.
    if (s.cgroup) cgroupDestroy(s.id, s.cgroup);
    remove(root, s.id);
  });
}
