/**
 * `run` in the foreground: create, start, relay signals, reap, and exit with the container's
 * status (128+N when signal N killed it), then delete the container unless --keep.
 */
import type { GlobalOptions } from '../cli/globals.ts';
import { RuntsError } from '../errors.ts';
import { setChildSubreaper, startInit, waitExit } from '../native/index.ts';
import { forwardSignals } from '../process/signals.ts';
import { remove } from '../state/store.ts';
import { createContainer, destroyInit } from './create.ts';

export interface RunFlags {
  bundle?: string;
  consoleSocket?: string;
  detach?: boolean;
  keep?: boolean;
  pidFile?: string;
  subreaper: boolean;
  pivot: boolean;
  newKeyring: boolean;
  preserveFds: number;
}

export async function runContainer(g: GlobalOptions, id: string, f: RunFlags): Promise<number> {
  if (f.detach) throw new RuntsError('not supported: run --detach (comes with create/start)');
  if (f.consoleSocket) throw new RuntsError('not supported: --console-socket (comes with create/start)');
  // Orphans of the container are reparented to us and reaped by waitExit.
  if (f.subreaper) setChildSubreaper();
  const { state, syncFd } = await createContainer(g, id, {
    bundle: f.bundle,
    pidFile: f.pidFile,
    noPivot: !f.pivot,
    noNewKeyring: !f.newKeyring,
    preserveFds: f.preserveFds,
  });
  const stopForwarding = forwardSignals(state.pid);
  try {
    try {
      startInit(syncFd);
    } catch (e) {
      await destroyInit(state.pid);
      remove(g.root, id);
      throw e;
    }
    const exit = await waitExit(state.pid);
    return exit.signal != null ? 128 + exit.signal : (exit.code ?? 0);
  } finally {
    stopForwarding();
    if (!f.keep) remove(g.root, id);
  }
}
