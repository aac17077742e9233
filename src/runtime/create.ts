/**
 * `create` (and the first half of `run -d`): build the container and leave its init waiting
 * on `<root>/<id>/exec.fifo` for `start`, detached from the caller (the init has its own
 * session), then return its state.
 */
import { sendPidfd } from '../native/index.ts';
import { EXEC_FIFO } from '../state/status.ts';
import { inDir, initOf, stateDir } from '../state/store.ts';
import type { ContainerState } from '../state/store.ts';
import { createContainer, discard } from './build.ts';
import { destroyInit } from './spawned.ts';
import type { CreateOptions } from './build.ts';
import type { Resolved } from './options.ts';

export interface DetachedOptions extends Omit<CreateOptions, 'execFifo'> {
  /** runc 1.2's --pidfd-socket: receives a pidfd of the init. */
  pidfdSocket?: string;
}

export async function createDetached(g: Resolved, id: string, o: DetachedOptions): Promise<ContainerState> {
  const { pidfdSocket, ...rest } = o;
  const { state } = await createContainer(g, id, { ...rest, execFifo: inDir(stateDir(g.root, id), EXEC_FIFO) });
  if (pidfdSocket) {
    try {
      sendPidfd(pidfdSocket, initOf(state));
    } catch (e) {
      // As any failure after the init exists: no process, no cgroup, no state left.
      await destroyInit(state.pid);
      discard(g.root, state);
      throw e;
    }
  }
  return state;
}
