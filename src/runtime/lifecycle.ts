/**
 * The lifecycle of an existing container: start, kill, delete. Each takes the
 * container's lock (an flock on its state directory) and re-reads the state under it, so
 * concurrent calls on one id serialise and see each other's results. Their file access goes
 * through the addon (addonFiles), which they load anyway: node:fs would cost each call as much
 * again (src/state/files.ts).
 */
import { BadRecordError, NotFoundError, NotSupportedError, RuntsError, StateError } from '../errors.ts';
import {
  addonFiles,
  cgroupDestroy,
  cgroupFreeze,
  cgroupResolve,
  cgroupSignal,
  closeFd,
  lockDir,
  signal,
  signalInit,
  startFifo,
  waitGone,
} from '../native/index.ts';
import { validateId } from '../state/id.ts';
import { EXEC_FIFO, statusOf } from '../state/status.ts';
import { inDir, initOf, readPendingCgroup, readState, remove, stateDir } from '../state/store.ts';
import type { ContainerState, SavedCgroup } from '../state/store.ts';
import type { CgroupPath } from '../native/binding.js';
import { runLaterHooks } from './hooks.ts';
import { bindNotify, notifyDir, relayReady } from './notify.ts';
import type { Logger } from './options.ts';

/** How long a verb waits for another runts holding the same container. */
const LOCK_TIMEOUT_MS = 30_000;
/** How long `start` waits for the init to exec, and `delete -f` for the init to die. */
const START_TIMEOUT_MS = 30_000;
const KILL_TIMEOUT_MS = 10_000;

export function locked<T>(root: string, rawId: string, fn: (s: ContainerState) => T): T {
  const id = validateId(rawId);
  const dir = stateDir(root, id);
  if (!addonFiles.exists(dir)) throw new NotFoundError(id);
  let lock: { release(): void };
  try {
    lock = lockDir(dir, LOCK_TIMEOUT_MS);
  } catch (e) {
    if (!addonFiles.exists(dir)) throw new NotFoundError(id);
    throw e;
  }
  try {
    // Deleted by whoever held the lock before us?
    return fn(readState(addonFiles, root, id));
  } finally {
    lock.release();
  }
}

/**
 * `start`: the init execs the process; then the poststart hooks run (failures are warnings).
 * With `notifySocket` (the caller's $NOTIFY_SOCKET) and a container made with one, returns
 * only once the container's READY= has been relayed there, or its init has exited (runc).
 */
export async function startContainer(root: string, id: string, logger: Logger, notifySocket?: string): Promise<void> {
  let listener = -1;
  const started = locked(root, id, (s) => {
    const status = statusOf(addonFiles, root, s);
    if (status === 'stopped') throw new StateError('cannot start a container that has stopped', status);
    if (status !== 'created') throw new StateError('cannot start an already running container', status);
    // A container created without a notify socket has no directory for one.
    if (notifySocket && addonFiles.exists(notifyDir(root, s.id))) listener = bindNotify(root, s.id);
    const fifo = inDir(stateDir(root, s.id), EXEC_FIFO);
    try {
      startFifo(fifo, initOf(s), START_TIMEOUT_MS);
    } catch (e) {
      if (listener >= 0) closeFd(listener);
      throw e;
    } finally {
      // Once opened, the fifo has served: its absence is what marks the container running.
      addonFiles.remove(fifo);
    }
    return s;
  });
  // runc hands poststart the state it had at start: "created".
  await runLaterHooks('poststart', started, 'created', started.pid, logger);
  if (listener >= 0 && notifySocket) await relayReady(listener, notifySocket, started, logger);
}

export async function killContainer(root: string, id: string, signalName: string | number, all: boolean): Promise<void> {
  // Only `kill --all` of a container without a cgroup walks /proc (pidsOf).
  const fs = all ? await import('node:fs') : undefined;
  // The name table is generated with the others (src/spec/tables.generated.ts): only `kill` loads it.
  const { parseSignal } = await import('../process/signame.ts');
  locked(root, id, (s) => {
    // After the container is found, as runc: an unknown id is reported before a bad signal.
    const sig = typeof signalName === 'number' ? signalName : parseSignal(signalName);
    const status = statusOf(addonFiles, root, s);
    // runc 1.1: `kill --all` of a stopped container signals what is left in its cgroup (maybe
    // nothing) and succeeds; a plain kill fails with the string containerd matches.
    if (status === 'stopped' && !all) throw new StateError('container not running', status);
    if (status === 'stopped' && !s.cgroup) return;
    if (all && s.cgroup) {
      // runc: every process of the cgroup, the init among them; done once they are signalled.
      cgroupSignal(s.id, s.cgroup, sig);
      return;
    }
    if (fs) for (const pid of pidsOf(fs, s)) if (pid !== s.pid) signal(pid, sig);
    if (!signalInit(initOf(s), sig)) throw new StateError('container not running', 'stopped');
    // runc: a frozen init cannot act on SIGKILL until thawed (cgroup v1), so thaw for it.
    if (status === 'paused' && sig === 9 && s.cgroup) cgroupFreeze(s.id, s.cgroup, false);
  });
}

/**
 * Every process of the container (for `kill --all`): those in the init's pid namespace. A
 * container sharing the host's pid namespace has no such boundary; its cgroup is the only one.
 */
function pidsOf(fs: typeof import('node:fs'), s: ContainerState): number[] {
  const ns = (pid: number | string) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      return undefined;
    }
  };
  const mine = ns(s.pid);
  if (!mine) return [];
  if (mine === ns('self')) {
    throw new NotSupportedError('kill --all of a container in the host pid namespace (needs its cgroup)');
  }
  return fs.readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => ns(pid) === mine);
}

/** `delete`; then the poststop hooks of what was deleted run (failures are warnings). */
export async function deleteContainer(root: string, rawId: string, force: boolean, logger: Logger): Promise<void> {
  const deleted = deleteLocked(root, rawId, force);
  if (deleted) await runLaterHooks('poststop', deleted, 'stopped', 0, logger);
}

/** Deletes under the container's lock; returns the state of a recorded container it removed. */
function deleteLocked(root: string, rawId: string, force: boolean): ContainerState | undefined {
  const id = validateId(rawId);
  const dir = stateDir(root, id);
  if (!addonFiles.exists(dir)) {
    // runc: `delete --force` of a container that does not exist succeeds (containerd sends
    // `delete` and then `delete --force`).
    if (force) return undefined;
    throw new NotFoundError(id);
  }
  if (!force) {
    // A directory without a usable state.json fails as `state` does.
    return locked(root, id, (s) => deleteRecorded(root, s, false));
  }
  // --force: under the lock too, but whatever the directory holds.
  let lock: { release(): void };
  try {
    lock = lockDir(dir, LOCK_TIMEOUT_MS);
  } catch (e) {
    if (!addonFiles.exists(dir)) return undefined;
    throw e;
  }
  try {
    // Deleted by whoever held the lock before us?
    if (!addonFiles.exists(dir)) return undefined;
    let s: ContainerState | undefined;
    try {
      s = readState(addonFiles, root, id);
    } catch (e) {
      if (!(e instanceof NotFoundError || e instanceof BadRecordError)) throw e;
    }
    if (s) return deleteRecorded(root, s, true);
    deleteUnrecorded(root, id);
    return undefined;
  } finally {
    lock.release();
  }
}

/** delete of a container whose state is recorded; the caller holds its lock. */
export function deleteRecorded(root: string, s: ContainerState, force: boolean): ContainerState {
  const status = statusOf(addonFiles, root, s);
  if (status === 'running' || status === 'paused') {
    if (!force) throw new StateError(`cannot delete container ${s.id} that is not stopped: ${status}`, status);
  }
  // runc deletes a created container without -f: its init only waits, so it is killed.
  if (status !== 'stopped') {
    // A paused container's init cannot die until thawed; cgroupDestroy thaws too.
    if (status === 'paused' && s.cgroup) cgroupFreeze(s.id, s.cgroup, false);
    signalInit(initOf(s), 9);
    if (!waitGone(initOf(s), KILL_TIMEOUT_MS)) {
      throw new RuntsError(`container ${s.id}: init (pid ${s.pid}) did not exit after SIGKILL`);
    }
  }
  // runc's destroy: what is left in the cgroup is killed (freeze, kill, thaw), then removed.
  if (s.cgroup) cgroupDestroy(s.id, s.cgroup);
  remove(addonFiles, root, s.id);
  return s;
}

/**
 * `delete --force` of a directory without a usable state.json: a create killed before it
 * recorded the state (or one whose records were damaged: an older runts wrote cgroup.json
 * plainly, and a create killed inside that write left it empty). runc only removes such a
 * directory (delete.go); runts removes the cgroup too, since create records it in cgroup.json
 * before it makes it, then the directory. The cgroup goes first, so that if it cannot be
 * removed the directory stays for another try.
 *
 * No init of a create killed before it recorded the state can still be waiting: until it is
 * Ready it has PR_SET_PDEATHSIG (SIGKILL), after that it waits on the sync socket and exits at
 * its EOF, which the dead runtime's exit gives (crates/core/src/process/init.rs). create moves
 * the init into the cgroup once it is Ready (crates/core/src/process/mod.rs), so an init that
 * is left anyway, or the live one of a container whose state.json was damaged after it was
 * recorded, is killed by cgroupDestroy (freeze, SIGKILL, thaw) before the cgroup is removed.
 * An init not moved yet is found by nothing here: test/stress/crash.test.ts checks that it
 * dies by itself.
 */
function deleteUnrecorded(root: string, id: string): void {
  const pending = readPendingCgroup(addonFiles, root, id);
  const cgroups = pending.cgroup ? [pending.cgroup] : derivedCgroups(id);
  for (const c of cgroups) cgroupDestroy(id, c);
  remove(addonFiles, root, id);
}

/**
 * The cgroups a create of `id` would have made when cgroup.json cannot tell (absent, empty, cut
 * short): what toCgroupSpec gives without linux.cgroupsPath (cgroupsPath "", so named after
 * the id), resolved by the core as create resolves it, with each driver, keeping only the
 * directories that exist. A cgroup found there belongs to this id under whichever --root:
 * create joins an existing cgroup directory (as runc does), so two containers with one id
 * would share it anyway.
 *
 * What cannot be recovered without the record: a linux.cgroupsPath from the spec (only the
 * bundle's config.json has it, and only state.json names the bundle); and with the cgroupfs
 * driver the default path is relative, taken under the resolving runtime's own cgroup (its
 * parent on v2), so a create that ran in another cgroup than this delete is not found either.
 */
function derivedCgroups(id: string): SavedCgroup[] {
  const rootless = process.geteuid?.() !== 0;
  const out: SavedCgroup[] = [];
  for (const systemd of [false, true]) {
    let paths: CgroupPath[];
    try {
      paths = cgroupResolve({ cgroupsPath: '', systemd, rootless, id });
    } catch {
      continue; // e.g. the systemd driver without a running systemd
    }
    const present = paths.filter((p) => addonFiles.exists(p.path));
    if (present.length) {
      out.push({ driver: systemd ? 'systemd' : 'cgroupfs', cgroupsPath: '', rootless, paths: present, resources: {} });
    }
  }
  return out;
}

/**
 * Resolves once the container has stopped (its init exited; a zombie counts), polling its
 * /proc entry: a detached container's init is not our child, so there is nothing to wait on.
 */
export async function waitStopped(root: string, rawId: string, timeoutMs: number): Promise<void> {
  const id = validateId(rawId);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (statusOf(addonFiles, root, readState(addonFiles, root, id)) === 'stopped') return;
    if (Date.now() >= deadline) throw new StateError(`container ${id} did not stop within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
