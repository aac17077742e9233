/**
 * The OCI runtime-spec `config.json`, as TypeScript types: the parts of config.md and
 * config-linux.md that runc 1.1 reads, plus the few newer fields (time namespace offsets,
 * scheduler, ioPriority) that engines already send.
 *
 * These describe a config *after* validateSpec() found no problem in it; before that a parsed
 * file is `unknown`. Every field the spec calls OPTIONAL is optional here, and so are a few it
 * calls REQUIRED but runc defaults (`ociVersion`, `process.user`, `root.path`): a drop-in
 * runtime must accept what runc accepts. Unknown fields are allowed by the spec (forward
 * compatibility) and pass through untouched; they are left out of these types on purpose so a
 * typo in our own code is a compile error.
 *
 * Integers are JSON numbers: 64-bit values above 2^53 lose precision in JSON.parse, which only
 * matters for "unlimited" sentinels (see convert.ts for RLIM_INFINITY).
 */

/** The whole `config.json`. */
export interface Spec {
  /** SemVer of the spec the bundle follows; runc 1.1 writes "1.0.2-dev" and does not check it. */
  ociVersion?: string;
  root?: Root;
  mounts?: Mount[];
  process?: Process;
  hostname?: string;
  domainname?: string;
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux?: Linux;
}

export interface Root {
  /** Host path of the root filesystem, absolute or relative to the bundle. */
  path?: string;
  readonly?: boolean;
}

export interface Mount {
  /** Path inside the container; runc 1.1 still accepts (with a warning) a relative one. */
  destination: string;
  type?: string;
  /** Relative sources of bind mounts are relative to the bundle (runc's specconv). */
  source?: string;
  options?: string[];
  /** An idmapped bind mount's mapping (runtime-spec 1.2, with the idmap/ridmap options). */
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
}

export interface Box {
  height: number;
  width: number;
}

export interface User {
  uid?: number;
  gid?: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

export interface Capabilities {
  bounding?: string[];
  effective?: string[];
  inheritable?: string[];
  permitted?: string[];
  ambient?: string[];
}

export interface POSIXRlimit {
  /** "RLIMIT_NOFILE", ... (getrlimit(2)). */
  type: string;
  /** uint64; 2^64-1 (RLIM_INFINITY) arrives from JSON.parse as 18446744073709552000. */
  hard: number;
  soft: number;
}

export type IOPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';

export interface IOPriority {
  class: IOPriorityClass;
  priority: number;
}

export type SchedulerPolicy =
  | 'SCHED_OTHER'
  | 'SCHED_FIFO'
  | 'SCHED_RR'
  | 'SCHED_BATCH'
  | 'SCHED_ISO'
  | 'SCHED_IDLE'
  | 'SCHED_DEADLINE';

/** sched_setattr(2) attributes. */
export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: string[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: Box;
  user?: User;
  args?: string[];
  /** Windows only. */
  commandLine?: string;
  env?: string[];
  /** Absolute path inside the container (runc requires it). */
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: POSIXRlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  scheduler?: Scheduler;
  selinuxLabel?: string;
  ioPriority?: IOPriority;
  /** runtime-spec 1.2: CPU lists ("0-3,7") for the init (`initial`) and the process (`final`). */
  execCPUAffinity?: { initial?: string; final?: string };
}

export interface Hook {
  /** Absolute host path of the executable. */
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds; > 0. */
  timeout?: number;
}

export interface Hooks {
  /** Deprecated by the spec in favour of createRuntime, but still sent by engines. */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface Namespace {
  type: NamespaceType;
  /** Join the namespace at this path (e.g. /proc/<pid>/ns/net) instead of creating one. */
  path?: string;
}

export interface IDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** One clock of a time namespace ("monotonic" or "boottime"). */
export interface TimeOffset {
  secs?: number;
  nanosecs?: number;
}

/** A device node to create in the container's /dev. */
export interface Device {
  path: string;
  /** "c", "b", "u" (unbuffered char) or "p" (FIFO). */
  type: string;
  major?: number;
  minor?: number;
  /** Permission bits (os.FileMode: file-type bits are ignored). */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** One rule of the device cgroup allow/deny list. */
export interface DeviceCgroup {
  allow: boolean;
  /** "a" (all), "b" or "c"; absent means "a". */
  type?: string;
  /** Absent means any (-1). */
  major?: number;
  minor?: number;
  /** Some of "rwm". */
  access?: string;
}

export interface Memory {
  limit?: number;
  reservation?: number;
  swap?: number;
  /** Deprecated; ignored by runc 1.1 with a warning. */
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface CPU {
  shares?: number;
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface Pids {
  limit: number;
}

export interface BlockIODevice {
  major: number;
  minor: number;
}

export interface WeightDevice extends BlockIODevice {
  weight?: number;
  leafWeight?: number;
}

export interface ThrottleDevice extends BlockIODevice {
  rate: number;
}

export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export interface HugepageLimit {
  /** "2MB", "1GB", ... */
  pageSize: string;
  limit: number;
}

export interface InterfacePriority {
  name: string;
  priority: number;
}

export interface Network {
  classID?: number;
  priorities?: InterfacePriority[];
}

export interface Rdma {
  hcaHandles?: number;
  hcaObjects?: number;
}

export interface Resources {
  devices?: DeviceCgroup[];
  memory?: Memory;
  cpu?: CPU;
  pids?: Pids;
  blockIO?: BlockIO;
  hugepageLimits?: HugepageLimit[];
  network?: Network;
  /** Keyed by RDMA device name. */
  rdma?: Record<string, Rdma>;
  /** cgroup v2 files, written as is ("memory.high": "1G"). */
  unified?: Record<string, string>;
}

export interface IntelRdt {
  closID?: string;
  schemata?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableCMT?: boolean;
  enableMBM?: boolean;
}

export interface SeccompArg {
  index: number;
  /** A u64; after validation a number, or a marked literal (numbers.ts) beyond 2^53. */
  value: number | string;
  valueTwo?: number | string;
  /** "SCMP_CMP_EQ", ... */
  op: string;
}

export interface Syscall {
  names: string[];
  /** "SCMP_ACT_ERRNO", ... */
  action: string;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface Seccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: Syscall[];
}

/** runtime-spec 1.3: the container's NUMA memory policy (set_mempolicy(2)). */
export interface MemoryPolicy {
  mode: string;
  /** A node list ("0-3,7"). */
  nodes?: string;
  flags?: string[];
}

export interface Personality {
  /** "LINUX" or "LINUX32". */
  domain: string;
  flags?: string[];
}

export type RootfsPropagation =
  | 'private'
  | 'rprivate'
  | 'slave'
  | 'rslave'
  | 'shared'
  | 'rshared'
  | 'unbindable'
  | 'runbindable';

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  /** Keyed by "monotonic" / "boottime". */
  timeOffsets?: Record<string, TimeOffset>;
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  intelRdt?: IntelRdt;
  /** sysctl(8) names ("net.ipv4.ip_forward"; "/" may stand for "."). */
  sysctl?: Record<string, string>;
  seccomp?: Seccomp;
  memoryPolicy?: MemoryPolicy;
  /** runtime-spec 1.2: host interfaces to move into the container's network namespace, by host name. */
  netDevices?: Record<string, { name?: string }>;
  rootfsPropagation?: string;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  personality?: Personality;
}
