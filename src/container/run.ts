/**
 * `run` in the foreground: create, start, relay signals, proxy the terminal (process.terminal
 * without a console socket), reap, and exit with the container's status (128+N when signal N
 * killed it), then delete the container unless --keep.
 */
import type { GlobalOptions } from '../cli/globals.ts';
import { setChildSubreaper, startInit, waitExit } from '../native/index.ts';
import { proxyConsole } from '../process/console.ts';
import type { ConsoleProxy } from '../process/console.ts';
import { forwardSignals } from '../process/signals.ts';
import { createContainer, destroyInit, discard } from './create.ts';
import type { CreateOptions } from './create.ts';

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

/** What `run` shares with `create`. */
function createOptions(f: RunFlags): CreateOptions {
  return {
    bundle: f.bundle,
    consoleSocket: f.consoleSocket,
    pidFile: f.pidFile,
    noPivot: !f.pivot,
    noNewKeyring: !f.newKeyring,
    preserveFds: f.preserveFds,
  };
}

/** `run`: in the foreground, or with -d create, start and return at once. */
export async function runVerb(g: GlobalOptions, id: string, f: RunFlags): Promise<number> {
  if (!f.detach) return runContainer(g, id, f);
  const [{ createDetached }, { startContainer }] = await Promise.all([
    import('./detached.ts'),
    import('./control.ts'),
  ]);
  await createDetached(g, id, createOptions(f));
  startContainer(g.root, id);
  return 0;
}

async function runContainer(g: GlobalOptions, id: string, f: RunFlags): Promise<number> {
  // Orphans of the container are reparented to us and reaped by waitExit.
  if (f.subreaper) setChildSubreaper();
  const { state, syncFd, consoleFd } = await createContainer(g, id, createOptions(f));
  const stopForwarding = forwardSignals(state.pid);
  // With a terminal and no console socket the pty master is ours: proxy it to our stdio
  // (runc's tty.recvtty). With a console socket the receiver has it and we just wait.
  let tty: ConsoleProxy | undefined;
  try {
    try {
      if (consoleFd >= 0) tty = proxyConsole(consoleFd);
      startInit(syncFd);
    } catch (e) {
      await destroyInit(state.pid);
      discard(g.root, state);
      throw e;
    }
    const exit = await waitExit(state.pid);
    // All the container wrote reaches our stdout before we exit.
    tty?.finish();
    return exit.signal != null ? 128 + exit.signal : (exit.code ?? 0);
  } finally {
    // Restores the host terminal on every path, before the error sink prints anything.
    tty?.finish();
    stopForwarding();
    // --keep leaves the stopped container, cgroup and all, for `delete`.
    if (!f.keep) discard(g.root, state);
  }
}
