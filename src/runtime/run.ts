/**
 * `run`: create a container and start it in the same process. In the foreground the caller
 * gets a handle: the init's pid, the pty master when the process has a terminal and no console
 * socket was given, and `wait()` for its exit status (128+N when signal N killed it), after
 * which the container is deleted unless `keep`. Detached (`run -d`), create and start, and
 * the container is left running. Signal forwarding and the terminal proxy are the caller's
 * (the CLI's), as in runc.
 */
import { runLaterHooks } from './hooks.ts';
import { closeFd, startInit, waitExit } from '../native/index.ts';
import { bindNotify, relayReady } from './notify.ts';
import type { ContainerState } from '../state/store.ts';
import { createContainer, discard } from './build.ts';
import { destroyInit } from './spawned.ts';
import type { CreateOptions } from './build.ts';
import type { Resolved } from './options.ts';

export interface RunOptions extends Omit<CreateOptions, 'execFifo'> {
  /** Leave the stopped container for `delete` instead of removing it. */
  keep?: boolean;
  /**
   * Called once the container is built and before its process starts: the place to start
   * forwarding signals to `handle.pid` or copying the terminal, so that nothing is missed.
   */
  onCreated?: (handle: RunHandle) => void;
}

export interface RunHandle {
  readonly id: string;
  /** The container's init, in this process's pid namespace. */
  readonly pid: number;
  /** The pty master (process.terminal without a console socket), owned by the caller; else -1. */
  readonly consoleFd: number;
  /** Resolves with the exit status (128+N for a signal N) once the process has exited. */
  wait(): Promise<number>;
}

export async function runForeground(g: Resolved, id: string, o: RunOptions): Promise<RunHandle> {
  // With `subreaper`, orphans of the container are reparented to us and reaped by waitExit.
  const { state, syncFd, consoleFd } = await createContainer(g, id, o);
  let waited: Promise<number> | undefined;
  const handle: RunHandle = {
    id: state.id,
    pid: state.pid,
    consoleFd,
    wait: () => (waited ??= finish(g, state, !!o.keep)),
  };
  let listener = -1;
  try {
    // Bound before the process runs, as runc's run does; relayed in the background.
    if (o.notifySocket) listener = bindNotify(g.root, state.id);
    o.onCreated?.(handle);
    // A restored container runs already (CRIU's restored process).
    if (!o.restore) startInit(syncFd);
  } catch (e) {
    if (listener >= 0) closeFd(listener);
    await destroyInit(state.pid);
    discard(g.root, state);
    throw e;
  }
  if (o.notifySocket) {
    relayReady(listener, o.notifySocket, state, g.logger).catch((e: unknown) => g.logger.warn(`notify socket: ${(e as Error).message}`));
  }
  if (!o.restore) await runLaterHooks('poststart', state, 'created', state.pid, g.logger);
  return handle;
}

async function finish(g: Resolved, state: ContainerState, keep: boolean): Promise<number> {
  try {
    const exit = await waitExit(state.pid);
    return exit.signal != null ? 128 + exit.signal : (exit.code ?? 0);
  } finally {
    // --keep leaves the stopped container, cgroup and all, for `delete` (and its poststop).
    if (!keep) {
      discard(g.root, state);
      await runLaterHooks('poststop', state, 'stopped', 0, g.logger);
    }
  }
}
