/**
 * OCI spec → the resolved config the Rust core takes (runc's `specconv`). Everything relative
 * is made absolute here (but device paths, which runc compares as written), defaults are filled
 * in, and values JSON cannot carry exactly are mapped; names (capabilities, rlimits, mount
 * options) stay names for the core to parse, and the default devices are the core's to add.
 *
 * Takes a spec that validateSpec() passed and the bundle's real path (resolveBundle): no file
 * system access of its own.
 */

import { RuntsError } from '../errors.ts';
import { absolute } from '../paths.ts';
import type { Files } from '../state/files.ts';
import type {
  Config,
  ConsoleSize,
  CreateHooks,
  Device,
  Hook as NativeHook,
  IdMapping,
  Mount,
  Process,
  Rlimit,
  Seccomp as NativeSeccomp,
} from '../native/binding.js';
import { isMarked, rawOf } from './numbers.ts';
import { CAPABILITIES } from './tables.generated.ts';
import type { Box, Hook, Hooks, IDMapping, Process as SpecProcess, Seccomp, Spec } from './types.ts';
import type { ContainerState } from '../state/store.ts';
import { normalizeSysctlKey } from './validate.ts';
import { filter, has, map, some } from '../lists.ts';

/** 2^63: the first value an i64 cannot hold. */
const TWO_63 = 2 ** 63;
/** S_IFMT: os.FileMode's file-type bits, which runc strips from `fileMode`. */
const S_IFMT = 0o170000;

/**
 * The bundle as runc sees it: runc chdirs into the bundle and uses getcwd(), which is the real
 * path (symlinks resolved). Falls back to the plain absolute path when it does not exist.
 */
export function resolveBundle(files: Files, bundleDir: string): string {
  const abs = absolute(bundleDir);
  try {
    return files.realpath(abs);
  } catch {
    return abs;
  }
}

/**
 * An rlimit value for the i64 boundary: RLIM_INFINITY is 2^64-1, which JSON.parse turns into
 * 18446744073709552000; anything from 2^63 up means "unlimited" and becomes -1.
 */
export function rlimitValue(v: number): number {
  return v >= TWO_63 ? -1 : v;
}

/** A path inside the container made absolute: runc 1.1 takes relative ones relative to /. */
function inContainer(p: string): string {
  return p.startsWith('/') ? p : '/' + p;
}

/** A capability set without the names this runtime does not know (runc drops them with a warning). */
function knownCaps(names: string[] | undefined): string[] {
  return filter(names, (n) => has(CAPABILITIES, n));
}

function mappings(list: IDMapping[] | undefined): IdMapping[] {
  return map(list, (m) => ({ containerId: m.containerID ?? 0, hostId: m.hostID ?? 0, size: m.size }));
}

/**
 * The native config for container `id` from a validated spec. `bundle` is the bundle's real
 * path (resolveBundle); the rootfs (`root.path`) and relative bind-mount sources are resolved
 * against it.
 */
export function toNativeConfig(spec: Spec, bundle: string, id: string): Config {
  const proc = spec.process;
  // validateSpec reports this; the check keeps a caller that skipped it from crashing below.
  if (proc == null) throw new RuntsError('config has no process (validate the spec first)');
  const linux = spec.linux ?? {};

  const mounts: Mount[] = map(spec.mounts, (m) => {
    const options = m.options ?? [];
    // runc (specconv.createLibcontainerMount): with a bind option the type is meaningless and
    // becomes "bind", and a relative source is relative to the bundle. runts also treats
    // type "bind" without the option as a bind (runc 1.1 would fail to mount it: ENODEV).
    const bind = m.type === 'bind' || has(options, 'bind') || has(options, 'rbind');
    return {
      destination: inContainer(m.destination),
      mountType: bind ? 'bind' : m.type ?? undefined,
      source: bind ? absolute(m.source ?? '', bundle) : m.source ?? undefined,
      options: [...options],
      uidMappings: mappings(m.uidMappings),
      gidMappings: mappings(m.gidMappings),
    };
  });

  const process = toNativeProcess(proc);

  // The spec's devices only, as runc's specconv.createDevices converts them: fileMode defaults
  // to 0666 and loses its file-type bits, and the path stays as written, because the default
  // devices the core adds in front of these are replaced only by a spec device spelling the
  // same path (rootfs/devices.rs device_list, which holds runc's order and rule).
  const devices: Device[] = map(linux.devices, (d) => ({
    path: d.path,
    devType: d.type,
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    fileMode: (d.fileMode ?? 0o666) & ~S_IFMT,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
  }));

  return {
    id,
    bundle,
    rootfs: absolute(spec.root?.path ?? '', bundle),
    rootfsReadonly: spec.root?.readonly ?? false,
    rootfsPropagation: linux.rootfsPropagation || undefined,
    hostname: spec.hostname || undefined,
    domainname: spec.domainname || undefined,
    mounts,
    process,
    namespaces: map(linux.namespaces, (n) => ({ nsType: n.type, path: n.path || undefined })),
    uidMappings: mappings(linux.uidMappings),
    gidMappings: mappings(linux.gidMappings),
    devices,
    maskedPaths: [...(linux.maskedPaths ?? [])],
    readonlyPaths: [...(linux.readonlyPaths ?? [])],
    sysctl: map(Object.entries(linux.sysctl ?? {}), ([key, value]) => ({ key: normalizeSysctlKey(key), value })),
    cgroupPaths: [],
    seccomp: linux.seccomp ? seccompOf(linux.seccomp) : undefined,
    hooks: createHooks(spec.hooks),
    personality: linux.personality ? { domain: linux.personality.domain, flags: [...(linux.personality.flags ?? [])] } : undefined,
    mountLabel: linux.mountLabel || undefined,
    timeOffsets: map(Object.entries(linux.timeOffsets ?? {}), ([clock, o]) => ({ clock, secs: o?.secs ?? 0, nanosecs: o?.nanosecs ?? 0 })),
    netDevices: map(Object.entries(linux.netDevices ?? {}), ([hostName, d]) => ({ hostName, name: d?.name || hostName })),
    memoryPolicy: linux.memoryPolicy ? { mode: linux.memoryPolicy.mode, nodes: linux.memoryPolicy.nodes || undefined, flags: [...(linux.memoryPolicy.flags ?? [])] } : undefined,
  };
}

/** `process` (validated) for the core: the container's, or one `exec` starts in it. */
export function toNativeProcess(proc: SpecProcess): Process {
  const user = proc.user ?? {};
  const caps = proc.capabilities;
  return {
    terminal: proc.terminal ?? false,
    args: [...(proc.args ?? [])],
    env: [...(proc.env ?? [])],
    cwd: proc.cwd,
    uid: user.uid ?? 0,
    gid: user.gid ?? 0,
    umask: user.umask ?? undefined,
    additionalGids: [...(user.additionalGids ?? [])],
    consoleSize: consoleSize(proc.consoleSize),
    capabilities:
      caps == null
        ? undefined
        : {
            bounding: knownCaps(caps.bounding),
            effective: knownCaps(caps.effective),
            inheritable: knownCaps(caps.inheritable),
            permitted: knownCaps(caps.permitted),
            ambient: knownCaps(caps.ambient),
          },
    rlimits: map(proc.rlimits,
      (r): Rlimit => ({ rlimitType: r.type, soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) }),
    ),
    noNewPrivileges: proc.noNewPrivileges ?? false,
    oomScoreAdj: proc.oomScoreAdj ?? undefined,
    apparmorProfile: proc.apparmorProfile || undefined,
    selinuxLabel: proc.selinuxLabel || undefined,
    scheduler: proc.scheduler ? { ...proc.scheduler, flags: [...(proc.scheduler.flags ?? [])] } : undefined,
    ioPriority: proc.ioPriority ? { class: proc.ioPriority.class, priority: proc.ioPriority.priority ?? 0 } : undefined,
    execCpuAffinity: proc.execCPUAffinity ? { initial: proc.execCPUAffinity.initial, finalCpus: proc.execCPUAffinity.final } : undefined,
  };
}

/** A validated u64 as decimal text, exact (a marked literal keeps what the file wrote). */
function u64Text(v: number | string): string {
  return isMarked(v) ? rawOf(v) : String(v);
}

/** `linux.seccomp` for the core, which compiles it (crates/core/src/seccomp.rs). */
function seccompOf(s: Seccomp): NativeSeccomp {
  return {
    defaultAction: s.defaultAction,
    defaultErrnoRet: s.defaultErrnoRet,
    architectures: [...(s.architectures ?? [])],
    flags: [...(s.flags ?? [])],
    listenerPath: s.listenerPath || undefined,
    listenerMetadata: s.listenerMetadata || undefined,
    syscalls: map(s.syscalls, (c) => ({
      names: [...c.names],
      action: c.action,
      errnoRet: c.errnoRet,
      args: map(c.args, (a) => ({
        index: a.index,
        value: u64Text(a.value),
        valueTwo: a.valueTwo === undefined ? undefined : u64Text(a.valueTwo),
        op: a.op,
      })),
    })),
  };
}

/** `process.consoleSize` for the core, clamped to a u16; runc applies it only when both are non-zero. */
export function consoleSize(box: Box | undefined): ConsoleSize | undefined {
  if (!box) return undefined;
  const cells = (n: number) => Math.min(Math.max(Math.trunc(n), 0), 0xffff);
  return { height: cells(box.height), width: cells(box.width) };
}

function nativeHook(h: Hook): NativeHook {
  return { path: h.path, args: [...(h.args ?? [])], env: h.env ? [...h.env] : undefined, timeout: h.timeout };
}

/** The hooks the core runs while creating and starting, or undefined when there are none. */
export function createHooks(h: Hooks | undefined): CreateHooks | undefined {
  const pick = (list: Hook[] | undefined) => map(list, nativeHook);
  const out = {
    prestart: pick(h?.prestart),
    createRuntime: pick(h?.createRuntime),
    createContainer: pick(h?.createContainer),
    startContainer: pick(h?.startContainer),
  };
  return some(Object.values(out), (l) => l.length > 0) ? out : undefined;
}

/** What the state record keeps: the runtime's own hooks, when there are any. */
export function laterHooks(h: Hooks | undefined): ContainerState['hooks'] {
  const poststart = map(h?.poststart, nativeHook);
  const poststop = map(h?.poststop, nativeHook);
  return poststart.length || poststop.length ? { poststart, poststop } : undefined;
}
