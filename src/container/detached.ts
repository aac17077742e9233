/**
 * `create` (and the first half of `run -d`): build the container and leave its init waiting
 * on `<root>/<id>/exec.fifo` for `start`, detached from the caller (the init has its own
 * session), then return.
 */
import { join } from 'node:path';
import type { GlobalOptions } from '../cli/globals.ts';
import { sendPidfd } from '../native/index.ts';
import { EXEC_FIFO } from '../state/status.ts';
import { remove, stateDir } from '../state/store.ts';
import { createContainer, destroyInit } from './create.ts';
import type { CreateOptions } from './create.ts';

export interface DetachedOptions extends CreateOptions {
  /** runc 1.2's --pidfd-socket: receives a pidfd of the init. */
  pidfdSocket?: string;
}

export async function createDetached(g: GlobalOptions, id: string, o: DetachedOptions): Promise<void> {
  const { pidfdSocket, ...rest } = o;
  const { state } = await createContainer(g, id, { ...rest, execFifo: join(stateDir(g.root, id), EXEC_FIFO) });
  if (pidfdSocket) {
    try {
      sendPidfd(pidfdSocket, state.pid, state.initStartTime);
    } catch (e) {
      await destroyInit(state.pid);
      remove(g.root, id);
      throw e;
    }
  }
}
