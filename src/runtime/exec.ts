/**
 * `exec`: a new process in a running container (runc exec). The process is the container's
 * own (as `create` recorded it, src/state/store.ts EXEC_DEFAULTS) with the caller's changes,
 * or a whole process given as runtime-spec JSON (runc's --process file). The core joins the
 * container's namespaces and cgroups and gives the process the container's seccomp filter
 * (crates/core process::exec); the caller forwards signals and the terminal, as with `run`.
 */
import { NotSupportedError, RuntsError, StateError, ValidationError } from '../errors.ts';
import { addonFiles as files, closeFd, execInit, sendPidfd, startInit, waitExit } from '../native/index.ts';
import type { Config, InitOptions } from '../native/index.ts';
import { writePidFile } from '../process/pidfile.ts';
import { toNativeProcess } from '../spec/convert.ts';
import type { Process as SpecProcess } from '../spec/types.ts';
import { thaw } from '../spec/numbers.ts';
import { lsmEnabled, validateProcess } from '../spec/validate.ts';
import { validateId } from '../state/id.ts';
import { statusOf } from '../state/status.ts';
import { readExecDefaults, readState } from '../state/store.ts';
import type { ContainerState } from '../state/store.ts';
import { absolute } from '../paths.ts';
import { destroyInit, keepCallerNofile } from './spawned.ts';
import type { Resolved } from './options.ts';
import { map, unique } from '../lists.ts';

/** What `exec` changes of the container's process (runc exec's flags), or the whole process. */
export interface ExecProcess {
  /** A whole runtime-spec `process` (runc's --process file), parsed JSON; validated here. */
  process?: unknown;
  /** The command (required without `process`). */
  args?: string[];
  cwd?: string;
  /** Appended to the container's environment. */
  env?: string[];
  /** process.terminal (false unless given, as runc). */
  tty?: boolean;
  user?: { uid: number; gid?: number };
  /** Added to the container's supplementary groups. */
  additionalGids?: number[];
  /** Added to the bounding, effective and permitted sets (and ambient, as runc). */
  capabilities?: string[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  selinuxLabel?: string;
}

export interface ExecOptions extends ExecProcess {
  /** With a terminal: the pty master goes to this AF_UNIX socket instead of the caller. */
  consoleSocket?: string;
  /** A pidfd of the process goes to this AF_UNIX socket once it runs. */
  pidfdSocket?: string;
  /** Descriptors 3..3+N pass to the process. */
  preserveFds?: number;
  /** runc's --cgroup: "[controller[,controller]:]path", sub-cgroups of the container's. */
  cgroup?: string[];
  /** Exec into a paused container too. */
  ignorePaused?: boolean;
  /** Written with the process's pid before `exec` returns. */
  pidFile?: string;
  /** Become a child subreaper first (the process's orphans are reaped by `wait()`). */
  subreaper?: boolean;
  /** Called once the process is set up and before it execs (start forwarding signals here). */
  onCreated?: (handle: ExecHandle) => void;
}

export interface ExecHandle {
  /** The process, in this process's pid namespace (a child of this process). */
  readonly pid: number;
  /** The pty master (a terminal without a console socket), owned by the caller; else -1. */
  readonly consoleFd: number;
  /** Resolves with its exit status (128+N for a signal N). */
  wait(): Promise<number>;
}

export async function execProcess(g: Resolved, rawId: string, o: ExecOptions): Promise<ExecHandle> {
  const id = validateId(rawId);
  const state = readState(files, g.root, id);
  // runc's checks and words (engines show them: "cannot exec in a stopped container").
  const status = statusOf(files, g.root, state);
  if (status === 'stopped') throw new StateError('cannot exec in a stopped container', status);
  if (status === 'paused' && !o.ignorePaused) {
    throw new StateError('cannot exec in a paused container (use --ignore-paused to override)', status);
  }
  const defaults = readExecDefaults(files, g.root, id);
  if (!defaults) throw new NotSupportedError(`exec into container ${id}: it was created by a runts without exec (no exec.json)`);
  const proc = processFor(defaults.process, o);
  const problems = validateProcess(proc);
  if (problems.length) throw new ValidationError(o.process !== undefined ? 'the --process file' : 'the exec process', problems);
  const process = toNativeProcess(thaw(proc as SpecProcess));
  const config = execConfig(state, process, defaults.seccomp);
  keepCallerNofile(config);
  // The LSMs fail closed, as at create (checkHost's words).
  if (process.apparmorProfile && !lsmEnabled(files, 'apparmor')) {
    throw new RuntsError('apparmor profile is specified in config, but apparmor is disabled or not supported');
  }
  if (process.selinuxLabel && !lsmEnabled(files, 'selinux')) {
    throw new RuntsError('selinux label is specified in config, but selinux is disabled or not supported');
  }
  if (o.consoleSocket && !process.terminal) {
    throw new RuntsError('cannot use console socket if runts will not allocate a terminal');
  }
  const options: InitOptions = {
    noPivot: false,
    noNewKeyring: defaults.noNewKeyring,
    preserveFds: o.preserveFds ?? 0,
    consoleSocket: o.consoleSocket,
    subreaper: !!o.subreaper,
    exec: { pid: state.pid, startTime: state.initStartTime, cgroupDirs: cgroupDirs(state, o.cgroup ?? []) },
  };
  const spawned = execInit(config, options);
  const pid = spawned.init.pid;
  for (const l of spawned.logs) {
    if (l.level === 'warning') await g.logger.warn(l.msg);
    else await g.logger.debug?.(l.msg);
  }
  let waited: Promise<number> | undefined;
  const handle: ExecHandle = {
    pid,
    consoleFd: spawned.consoleFd,
    wait: () =>
      (waited ??= waitExit(pid, false).then((e) => (e.signal != null ? 128 + e.signal : (e.code ?? 0)))),
  };
  let pidFile: string | undefined;
  try {
    if (o.pidFile) {
      writePidFile(files, o.pidFile, pid);
      pidFile = o.pidFile;
    }
    o.onCreated?.(handle);
    startInit(spawned.syncFd);
    if (o.pidfdSocket) sendPidfd(o.pidfdSocket, spawned.init);
  } catch (e) {
    if (spawned.consoleFd >= 0 && !o.onCreated) closeFd(spawned.consoleFd);
    if (pidFile) files.remove(absolute(pidFile));
    await destroyInit(pid, false);
    throw e;
  }
  return handle;
}

/**
 * runc's getProcess: a --process file is the process, but for what it leaves out, which the
 * container's gives (capabilities, rlimits, the LSM labels: runc's newInitConfig); otherwise
 * the container's process with the command line's changes.
 */
export function processFor(base: SpecProcess | undefined, o: ExecProcess): unknown {
  if (o.process !== undefined) {
    const p = o.process as Record<string, unknown>;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return p;
    const merged: Record<string, unknown> = { ...p };
    if (merged.capabilities == null && base?.capabilities) merged.capabilities = base.capabilities;
    if (!(Array.isArray(merged.rlimits) && merged.rlimits.length) && base?.rlimits) merged.rlimits = base.rlimits;
    if (!merged.apparmorProfile && base?.apparmorProfile) merged.apparmorProfile = base.apparmorProfile;
    if (!merged.selinuxLabel && base?.selinuxLabel) merged.selinuxLabel = base.selinuxLabel;
    return merged;
  }
  const p: SpecProcess = structuredClone(base ?? ({ cwd: '/' } as SpecProcess));
  p.args = [...(o.args ?? [])];
  if (o.cwd) p.cwd = o.cwd;
  if (o.apparmorProfile) p.apparmorProfile = o.apparmorProfile;
  if (o.selinuxLabel) p.selinuxLabel = o.selinuxLabel;
  if (o.capabilities?.length) {
    // runc: bounding, effective and permitted; ambient only when the container's process has
    // an inheritable set (an ambient capability must be inheritable too).
    const c = (p.capabilities ??= {});
    const sets = ['bounding', 'effective', 'permitted', ...(c.inheritable != null ? (['ambient'] as const) : [])] as const;
    for (const set of sets) c[set] = [...(c[set] ?? []), ...o.capabilities];
  }
  if (o.env?.length) p.env = [...(p.env ?? []), ...o.env];
  p.terminal = !!o.tty;
  if (o.noNewPrivileges !== undefined) p.noNewPrivileges = o.noNewPrivileges;
  if (o.user) {
    p.user = { ...(p.user ?? { uid: 0, gid: 0 }), uid: o.user.uid };
    if (o.user.gid !== undefined) p.user.gid = o.user.gid;
  }
  if (o.additionalGids?.length) {
    p.user = { ...(p.user ?? { uid: 0, gid: 0 }) };
    p.user.additionalGids = [...(p.user.additionalGids ?? []), ...o.additionalGids];
  }
  return p;
}

/** The core's config for an exec'd process: the container's id, its filter, the process. */
export function execConfig(s: ContainerState, process: Config['process'], seccomp: Config['seccomp']): Config {
  return {
    id: s.id,
    bundle: s.bundle,
    rootfs: s.rootfs,
    rootfsReadonly: false,
    mounts: [],
    process,
    namespaces: [],
    uidMappings: [],
    gidMappings: [],
    devices: [],
    maskedPaths: [],
    readonlyPaths: [],
    sysctl: [],
    cgroupPaths: [],
    seccomp,
    netDevices: [],
    timeOffsets: [],
  };
}

/**
 * The cgroup directories the process enters: the container's, one per hierarchy, or with
 * runc's --cgroup the sub-cgroups it names ("path" for every hierarchy, or
 * "ctrl[,ctrl]:path" for those controllers; on cgroup v2 only the first form).
 */
export function cgroupDirs(s: ContainerState, specs: string[]): string[] {
  const paths = s.cgroup?.paths ?? [];
  // Without --cgroup (every engine's exec): the container's directories, without the Map
  // below (src/lists.ts).
  if (specs.length === 0) return unique(map(paths, (p) => p.path));
  const sub = new Map<string, string>();
  for (const c of specs) {
    const parts = c.split(':');
    if (parts.length > 2) throw new RuntsError(`invalid --cgroup argument: ${c}`);
    const [ctrls, path] = parts.length === 1 ? ['', parts[0]] : parts;
    if (parts.length === 1 && specs.length !== 1) {
      throw new RuntsError(`--cgroup argument ${c} has no controller(s) specified, and there are multiple --cgroup arguments`);
    }
    if (!path || path.startsWith('/') || path.split('/').includes('..')) {
      throw new RuntsError(`invalid --cgroup argument: ${c} (a relative path below the container's cgroup)`);
    }
    for (const ctrl of ctrls.split(',')) sub.set(ctrl, path);
  }
  const unified = paths.length === 1 && paths[0].subsystem === '';
  if (unified && [...sub.keys()].some((k) => k !== '')) {
    throw new RuntsError('invalid --cgroup argument: controllers cannot be named on cgroup v2');
  }
  const dirs = paths.map((p) => {
    const names = p.subsystem.split(',');
    const rel = sub.get('') ?? names.map((n) => sub.get(n)).find((x) => x !== undefined);
    return rel ? `${p.path.replace(/\/$/, '')}/${rel}` : p.path;
  });
  for (const ctrl of sub.keys()) {
    if (ctrl && !paths.some((p) => p.subsystem.split(',').includes(ctrl))) {
      throw new RuntsError(`invalid --cgroup argument: the container has no ${ctrl} cgroup`);
    }
  }
  if (!paths.length && sub.size) throw new RuntsError(`invalid --cgroup argument: the container ${s.id} has no cgroup`);
  return unique(dirs);
}
