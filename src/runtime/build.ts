/**
 * Building a container, shared by `create` and `run`: load → validate → convert the bundle's
 * config, claim the state directory, fork the init (Rust) and record the state. A failure at
 * any step removes what the earlier steps made: no state directory, no process, no cgroup.
 */
import { ValidationError } from '../errors.ts';
import type { Resolved } from './options.ts';
import { addonFiles as files, cgroupDestroy, cgroupResolve, closeFd, createInit, releaseInit, restoreInit } from '../native/index.ts';
import { absolute } from '../paths.ts';
import type { Config, InitOptions, RestoreOptions } from '../native/index.ts';
import type { Spec } from '../spec/types.ts';
import type { CgroupPath, CgroupSpec } from '../native/binding.js';
import { checkConsole } from '../process/console.ts';
import { configFile } from './criu.ts';
import { hookState } from './hooks.ts';
import { notifyDir, withNotifySocket } from './notify.ts';
import { writePidFile } from '../process/pidfile.ts';
import { destroyInit, keepCallerNofile } from './spawned.ts';
import { laterHooks, resolveBundle, toNativeConfig } from '../spec/convert.ts';
import { toCgroupSpec } from '../spec/resources.ts';
import { loadSpec } from '../spec/load.ts';
import { thaw } from '../spec/numbers.ts';
import { checkHost, lsmEnabled, specWarnings, validateSpec } from '../spec/validate.ts';
import { validateId } from '../state/id.ts';
import { SPEC_VERSION } from '../version.ts';
import { EXEC_DEFAULTS, PENDING_CGROUP, remove } from '../state/store.ts';
import type { ExecDefaults } from '../state/store.ts';
import { claim, nowRfc3339Nano, writeRecord, writeState } from '../state/write.ts';
import type { ContainerState, SavedCgroup } from '../state/store.ts';
import { find, map } from '../lists.ts';

export interface CreateOptions {
  bundle?: string;
  pidFile?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Wait for `start` on this FIFO instead of the sync socket (a detached container). */
  execFifo?: string;
  /** `--console-socket`: with process.terminal, the pty master is sent there. */
  consoleSocket?: string;
  /** Become a child subreaper first, so that the container's orphans are reaped here. */
  subreaper?: boolean;
  /**
   * The caller's sd_notify socket ($NOTIFY_SOCKET): the container gets one of its own, whose
   * READY= `start` (or `run`) relays there (src/runtime/notify.ts).
   */
  notifySocket?: string;
  /**
   * Restore a checkpoint (`runts restore`) instead of spawning the init: CRIU's options, and
   * whether the caller detaches (a terminal then needs the console socket).
   */
  restore?: { criu: Omit<RestoreOptions, 'stateDir' | 'configFile'>; detach: boolean };
}

export interface Created {
  state: ContainerState;
  /** The sync socket to the waiting init (for `start` in the same process), or -1. */
  syncFd: number;
  /** The pty master for the caller to proxy (terminal without a console socket), or -1. */
  consoleFd: number;
}

/**
 * $LISTEN_FDS (systemd socket activation) are passed on as runc does, before --preserve-fds:
 * only when $LISTEN_PID names this process (sd_listen_fds(3); runc's go-systemd checks it too).
 */
function listenFds(): number {
  const n = Number(process.env.LISTEN_FDS ?? 0);
  if (process.env.LISTEN_PID !== String(process.pid)) return 0;
  return Number.isInteger(n) && n > 0 ? n : 0;
}

/** The bundle's config.json loaded, validated and converted for the core. */
export interface BundleConfig {
  /** The spec as validated, its numbers plain (seccomp's argument values as written). */
  spec: Spec;
  /** The config.json it came from (for error messages). */
  path: string;
  config: Config;
  /** What runts does not apply (AppArmor, ...), as "<field> <message>" for the caller to log. */
  warnings: string[];
}

/**
 * load → validate → convert of a bundle's config.json for container `id` (create, run,
 * restore, and checkpoint, which describes the container to CRIU from it).
 */
export function bundleConfig(id: string, bundle: string): BundleConfig {
  const { spec: parsed, path } = loadSpec(files, bundle);
  const problems = validateSpec(parsed);
  if (problems.length) throw new ValidationError(path, problems);
  // Validated as written; now plain numbers (spec/numbers.ts), but for seccomp's argument
  // values: u64s, which convert passes on as written.
  const spec = thaw(parsed);
  if (spec.linux?.seccomp) spec.linux.seccomp = parsed.linux?.seccomp;
  const warnings = map(specWarnings(spec), (w) => `${w.path} ${w.message}`);
  return { spec, path, config: toNativeConfig(spec, resolveBundle(files, bundle), id), warnings };
}

export async function createContainer(g: Resolved, rawId: string, o: CreateOptions): Promise<Created> {
  const id = validateId(rawId);
  const bundle = absolute(o.bundle || '.');
  const { spec, path, config, warnings } = bundleConfig(id, bundle);
  // What runts does not apply yet (AppArmor, ...) is said, not silently dropped.
  for (const w of warnings) await g.logger.warn(w);
  keepCallerNofile(config);
  if (o.notifySocket) withNotifySocket(config, g.root, id);
  // runc: socket activation's descriptors follow stdio, and the process is told so (as pid 1).
  const listening = listenFds();
  if (listening) config.process.env.push(`LISTEN_FDS=${listening}`, 'LISTEN_PID=1');
  // Every container gets its cgroup, as with runc (linux.cgroupsPath, or one named after the id).
  config.cgroup = toCgroupSpec(spec, id, {
    systemd: g.systemdCgroup,
    rootless: g.rootless,
  });
  const hostProblems = checkHost(files, config);
  // runc's label.FormatMountLabel: a mount label means nothing without SELinux.
  if (config.mountLabel && !lsmEnabled(files, 'selinux')) config.mountLabel = undefined;
  if (hostProblems.length) throw new ValidationError(path, hostProblems);
  checkConsole(config.process.terminal, o.consoleSocket, !!o.execFifo || !!o.restore?.detach);
  const dir = claim(files, g.root, id);
  // The notify socket's directory, bound into the container (the socket itself is bound by
  // `start`, or by `run` before the process runs).
  if (o.notifySocket) files.mkdir(notifyDir(g.root, id), 0o755);
  // Recorded before the cgroup exists: a create killed half-way leaves the state directory
  // with this and no state.json, and `delete --force` removes the cgroup from it. Atomically:
  // a create killed inside a plain write left an empty file, and no way to find the cgroup.
  writeRecord(files, dir, PENDING_CGROUP, { ...savedOf(config.cgroup), paths: cgroupResolve(config.cgroup) });
  let pid = 0;
  let consoleFd = -1;
  let cgroupPaths: CgroupPath[] = [];
  let pidFileWritten: string | undefined;
  try {
    const options: InitOptions = {
      noPivot: !!o.noPivot,
      noNewKeyring: !!o.noNewKeyring,
      preserveFds: (o.preserveFds ?? 0) + listenFds(),
      execFifo: o.execFifo,
      consoleSocket: o.consoleSocket,
      subreaper: !!o.subreaper,
      // The core fills in the pid and the status for each create and start hook (and the
      // seccomp agent's message).
      hookState: config.hooks || config.seccomp?.listenerPath ? hookState({ ociVersion: SPEC_VERSION, id, pid: 0, bundle, annotations: spec.annotations }, 'creating') : undefined,
    };
    await g.logger.debug?.(`creating container ${id} from ${path}`);
    // A restore's init is CRIU's restored process, running already, a child of ours.
    const spawned = o.restore
      ? restoreInit(config, options, { ...o.restore.criu, configFile: configFile(spec.annotations), stateDir: dir })
      : createInit(config, options);
    pid = spawned.init.pid;
    cgroupPaths = spawned.cgroupPaths;
    consoleFd = spawned.consoleFd;
    // What the init logged while it built the container (it never prints: crun's model).
    for (const l of spawned.logs) {
      if (l.level === 'debug') await g.logger.debug?.(l.msg);
      else if (l.level === 'info') await (g.logger.info ?? g.logger.debug)?.(l.msg);
      else await g.logger.warn(l.msg);
    }
    const state: ContainerState = {
      ociVersion: SPEC_VERSION,
      id,
      pid,
      bundle,
      rootfs: config.rootfs,
      created: nowRfc3339Nano(),
      annotations: spec.annotations,
      owner: '',
      initStartTime: spawned.init.startTime,
      cgroup: { ...savedOf(config.cgroup), paths: spawned.cgroupPaths },
      hooks: laterHooks(spec.hooks),
    };
    writeState(files, g.root, state);
    // What `exec` needs of the container as it was created (runc keeps its config in the
    // state): the process it starts from, the seccomp filter every process gets.
    writeRecord(files, dir, EXEC_DEFAULTS, { process: spec.process, seccomp: config.seccomp, noNewKeyring: !!o.noNewKeyring } satisfies ExecDefaults);
    if (o.pidFile) {
      writePidFile(files, o.pidFile, pid);
      pidFileWritten = o.pidFile;
    }
    // Recorded: now the init may go on to wait for `start` (a create killed before this point
    // takes its init with it).
    if (o.execFifo) {
      const cg = spawned.cgroupPaths;
      const memory = find(cg, (c) => c.subsystem === 'memory') ?? find(cg, (c) => c.subsystem === '');
      releaseInit(spawned.syncFd, spawned.init, memory?.path);
    }
    return { state, syncFd: o.execFifo ? -1 : spawned.syncFd, consoleFd };
  } catch (e) {
    if (consoleFd >= 0) closeFd(consoleFd);
    if (pidFileWritten) files.remove(absolute(pidFileWritten));
    if (pid > 0) await destroyInit(pid);
    if (cgroupPaths.length && config.cgroup) {
      cgroupDestroy(id, { ...savedOf(config.cgroup), paths: cgroupPaths });
    }
    remove(files, g.root, id);
    throw e;
  }
}

/** Removes a container whose init is gone: what is left of its cgroup, then its state. */
export function discard(root: string, state: ContainerState): void {
  try {
    if (state.cgroup) cgroupDestroy(state.id, state.cgroup);
  } finally {
    remove(files, root, state.id);
  }
}

/** What the state keeps of the container's cgroup (its paths come from the core). */
function savedOf(c: CgroupSpec): SavedCgroup {
  return {
    driver: c.systemd ? 'systemd' : 'cgroupfs',
    cgroupsPath: c.cgroupsPath,
    rootless: c.rootless,
    paths: [],
    resources: c.resources ?? {},
  };
}

