/**
 * What the runtime does to a process it spawned through the core, the container's init or an
 * exec'd one, shared by create, run and exec (and small: exec loads it without create's path).
 */
import { addonFiles as files, signal, waitExit } from '../native/index.ts';
import type { Config } from '../native/index.ts';
import { callerNofile } from '../process/procfs.ts';
import { some } from '../lists.ts';

/**
 * Without RLIMIT_NOFILE in the spec the container inherits the runtime's limits; give it the
 * soft limit our caller had, not the one the JavaScript runtime raised itself to.
 */
export function keepCallerNofile(config: { process: Config['process'] }): void {
  if (some(config.process.rlimits, (r) => r.rlimitType === 'RLIMIT_NOFILE')) return;
  const limit = callerNofile(files);
  if (limit) config.process.rlimits.push({ rlimitType: 'RLIMIT_NOFILE', ...limit });
}

/**
 * Kills a waiting or running init (or exec'd process) and reaps it; `killRest` as waitExit's
 * (an exec'd process is not the container's init: what else runs in it is left alone).
 */
export async function destroyInit(pid: number, killRest = true): Promise<void> {
  try {
    signal(pid, 9);
  } catch {
    // already gone
  }
  await waitExit(pid, killRest);
}
