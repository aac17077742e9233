/**
 * Typed wrappers over the native addon: the handful of coarse calls the CLI makes, and the
 * mapping of the addon's stable error codes to the CLI's error classes.
 */
import { InitError, fsError } from '../errors.ts';
import { addon } from './addon.ts';
import type {
  Config,
  ConsoleProxy,
  Exit,
  Finding,
  InitRef,
  InitOptions,
  NotifyRelayed,
  ProbeOptions,
  CgroupPath,
  CgroupSpec,
  CheckpointOptions,
  Hook as NativeHook,
  Resources,
  RestoreOptions,
  SavedCgroup as NativeSavedCgroup,
  Spawned,
} from './binding.js';
import { useAddonFiles } from '../state/files.ts';
import type { Files } from '../state/files.ts';
import type { SavedCgroup } from '../state/store.ts';

export type { CheckpointOptions, Config, Exit, Finding, InitOptions, InitRef, RestoreOptions, Spawned } from './binding.js';

/**
 * The core's errors cross napi as JSON in the message (crates/napi init_err): the one-line
 * message and its step, path and errno. Turned into an InitError with those as properties.
 */
export function nativeError(e: unknown): unknown {
  const msg = (e as { message?: unknown })?.message;
  if (typeof msg !== 'string' || !msg.startsWith('{"')) return e;
  try {
    const f = JSON.parse(msg) as { message: string; step: string; path: string; errno: number; errnoName: string };
    return new InitError(f.message, f);
  } catch {
    return e;
  }
}

/** Calls into the addon, turning its errors into typed ones. */
function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw nativeError(e);
  }
}

/** A file call into the addon, its failure an FsError as node:fs's would be. */
function fileCall<T>(op: string, path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fsError(op, path, nativeError(e));
  }
}

/** The runtime's files through the addon (src/state/files.ts): no node:fs to load. */
export const addonFiles: Files = {
  read: (path) => fileCall('read', path, () => addon.readText(path)) ?? undefined,
  exists: (path) => addon.pathExists(path),
  remove: (path, tree = false) => fileCall('remove', path, () => addon.removePath(path, tree)),
  stat: (path) => fileCall('stat', path, () => addon.statPath(path)),
  realpath: (path) => fileCall('realpath', path, () => addon.realPath(path)),
  mkdir: (path, mode, parents = false) => fileCall('mkdir', path, () => addon.makeDir(path, mode, parents)),
  replace: (path, tmp, text, mode) => fileCall('write', path, () => addon.writeReplace(path, tmp, text, mode)),
};
useAddonFiles(addonFiles);

/** Runs the runtime's own hooks (poststart, poststop); returns what they printed. */
export function runHooks(kind: string, hooks: NativeHook[], state: string): string[] {
  return call(() => addon.runHooks(kind, hooks, state));
}

/** Spawns the container init; returns once the container is built and the init waits to exec. */
export function createInit(config: Config, options: InitOptions): Spawned {
  return call(() => addon.create(config, options));
}

/**
 * Lets an init created with an exec fifo go on to wait on it (after the state is recorded);
 * fails if the init dies on the way (`memoryDir`: its memory cgroup, to report an OOM kill).
 */
export function releaseInit(syncFd: number, init: InitRef, memoryDir?: string): void {
  call(() => addon.release(syncFd, init, memoryDir));
}

/** Lets a created init exec the user process; returns once execve succeeded. */
export function startInit(syncFd: number): void {
  call(() => addon.start(syncFd));
}

/** Binds a container's sd_notify socket at `path` (src/runtime/notify.ts); returns its fd. */
export function notifyBind(path: string): number {
  return call(() => addon.notifyBind(path));
}

/** Relays the container's READY= from `fd` (taken over) to `host`, with MAINPID= of `init`. */
export function notifyRelay(fd: number, host: string, init: InitRef): Promise<NotifyRelayed> {
  return addon.notifyRelay(fd, host, init).catch((e: unknown) => {
    throw nativeError(e);
  });
}

/** CRIU dumps the running container `config` describes (crates/core/src/criu/dump.rs). */
export function checkpointInit(config: Config, options: CheckpointOptions): void {
  call(() => addon.checkpoint(config, options));
}

/**
 * CRIU restores a checkpoint into the new container `config` describes (its cgroup made, its
 * create hooks run); the restored init runs already (`syncFd` is -1).
 */
export function restoreInit(config: Config, init: InitOptions, options: RestoreOptions): Spawned {
  return call(() => addon.restore(config, init, options));
}

/** `runts check`'s probes of this host (crates/core/src/probe.rs). */
export function hostCheck(options: ProbeOptions): Finding[] {
  return call(() => addon.hostCheck(options));
}

/** Starts a process in a running container (`options.exec`); it waits to exec, as a created init. */
export function execInit(config: Config, options: InitOptions): Spawned {
  return call(() => addon.exec(config, options));
}

/**
 * Resolves when `pid` exits, reaping every other child meanwhile; then, unless `killRest` is
 * false, kills what the container left among our descendants.
 */
export function waitExit(pid: number, killRest = true): Promise<Exit> {
  return addon.waitExit(pid, killRest).catch((e: unknown) => {
    throw nativeError(e);
  });
}

export function signal(pid: number, sig: number): void {
  call(() => addon.signal(pid, sig));
}


/** Lets a created init (waiting on its exec.fifo) exec; returns once execve succeeded. */
export function startFifo(path: string, init: InitRef, timeoutMs: number): void {
  call(() => addon.startFifo(path, init, timeoutMs));
}

/** Signals the recorded init unless its pid was recycled; false when it is gone. */
export function signalInit(init: InitRef, sig: number): boolean {
  return call(() => addon.signalInit(init, sig));
}

/** Waits at most `timeoutMs` for the recorded init to exit; whether it did. */
export function waitGone(init: InitRef, timeoutMs: number): boolean {
  return call(() => addon.waitGone(init, timeoutMs));
}

/** Takes a container's lock (flock on its state directory); `release()` it when done. */
export function lockDir(path: string, timeoutMs: number): { release(): void } {
  return call(() => addon.lockDir(path, timeoutMs));
}

/** Closes a descriptor the addon handed over (Deno's node:fs cannot close raw ones). */
export function closeFd(fd: number): void {
  addon.closeFd(fd);
}

/** The `--log` file, opened for appending (created if missing): a descriptor for closeFd. */
export function openAppend(path: string): number {
  return call(() => addon.openAppend(path));
}

/** `--pidfd-socket`: sends a pidfd of the recorded init to the AF_UNIX socket at `socket`. */
export function sendPidfd(socket: string, init: InitRef): void {
  call(() => addon.sendPidfd(socket, init));
}

/** Starts copying between our stdio and a pty master on a native thread (raw host tty). */
export function startConsoleProxy(masterFd: number): ConsoleProxy {
  return call(() => addon.proxyConsole(masterFd));
}

// The container's cgroup (crates/napi/src/cgroup.rs): one coarse call per verb.

/** What the state records of a container's cgroup, as the core takes it. */
function savedCgroup(c: SavedCgroup): NativeSavedCgroup {
  return { driver: c.driver, cgroupsPath: c.cgroupsPath, rootless: c.rootless, paths: c.paths };
}

/** Signals every process of the container's cgroup. */
export function cgroupSignal(id: string, c: SavedCgroup, sig: number): void {
  call(() => addon.cgroupSignal(id, savedCgroup(c), sig));
}

/** Kills what is left in the container's cgroup and removes it. */
export function cgroupDestroy(id: string, c: SavedCgroup): void {
  call(() => addon.cgroupDestroy(id, savedCgroup(c)));
}

/** Freezes (pause) or thaws (resume) the container's cgroup. */
export function cgroupFreeze(id: string, c: SavedCgroup, frozen: boolean): void {
  call(() => addon.cgroupFreeze(id, savedCgroup(c), frozen));
}

/** Every pid of the container's cgroup. */
export function cgroupPids(id: string, c: SavedCgroup): number[] {
  return call(() => addon.cgroupPids(id, savedCgroup(c)));
}

/** The `events --stats` data in runc's shape, as JSON text (its u64 values exceed 2^53). */
export function cgroupStats(id: string, c: SavedCgroup): string {
  return call(() => addon.cgroupStats(id, savedCgroup(c)));
}

/** Merges `update` into the resources in force, writes them, returns the merged resources. */
export function cgroupUpdate(id: string, c: SavedCgroup, update: Resources): Resources {
  return call(() => addon.cgroupUpdate(id, savedCgroup(c), c.resources, update));
}

/** Waits for OOM kills of the container's memory cgroup (on a worker thread). */
export function oomWatch(id: string, c: SavedCgroup): { wait(timeoutMs: number): Promise<string> } {
  const w = call(() => new addon.CgroupOomWatcher(id, savedCgroup(c)));
  return {
    wait: (ms) =>
      w.wait(ms).catch((e: unknown) => {
        throw nativeError(e);
      }),
  };
}

/** Where the container's cgroup would go (nothing is created). */
export function cgroupResolve(spec: CgroupSpec): CgroupPath[] {
  return call(() => addon.cgroupResolve(spec));
}
