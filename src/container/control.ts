/**
 * The verbs that act on an existing container: start, kill, delete. Each takes the
 * container's lock (an flock on its state directory) and re-reads the state under it, so
 * concurrent calls on one id serialise and see each other's results.
 */
import { closeSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RuntsError } from '../errors.ts';
import { lockDir, signalInit, startFifo, waitGone } from '../native/index.ts';
import { validateId } from '../state/id.ts';
import { EXEC_FIFO, statusOf } from '../state/status.ts';
import { readState, remove, stateDir } from '../state/store.ts';
import type { ContainerState } from '../state/store.ts';

/** How long a verb waits for another runts holding the same container. */
const LOCK_TIMEOUT_MS = 30_000;
/** How long `start` waits for the init to exec, and `delete -f` for the init to die. */
const START_TIMEOUT_MS = 30_000;
const KILL_TIMEOUT_MS = 10_000;

function locked<T>(root: string, rawId: string, fn: (s: ContainerState) => T): T {
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

export function killContainer(root: string, id: string, sig: number): void {
  locked(root, id, (s) => {
    const status = statusOf(root, s);
    if (status === 'stopped' || !signalInit(s.pid, s.initStartTime, sig)) {
      throw new RuntsError('container not running');
    }
  });
}

export function deleteContainer(root: string, id: string, force: boolean): void {
  locked(root, id, (s) => {
    const status = statusOf(root, s);
    if (status === 'running' || status === 'paused') {
      if (!force) throw new RuntsError(`cannot delete container ${s.id} that is not stopped: ${status}`);
    }
    // runc deletes a created container without -f: its init only waits, so it is killed.
    if (status !== 'stopped') {
      signalInit(s.pid, s.initStartTime, 9);
      if (!waitGone(s.pid, s.initStartTime, KILL_TIMEOUT_MS)) {
        throw new RuntsError(`container ${s.id}: init (pid ${s.pid}) did not exit after SIGKILL`);
      }
    }
    remove(root, s.id);
  });
}
