/**
 * Validation of a parsed config.json: every problem at once, each with its JSON path
 * (`process.args`, `mounts[2].destination`, `linux.sysctl["net.ipv4.ip_forward"]`), so a user
 * fixes a config in one round instead of one error per `runts create`.
 *
 * What is checked, and why:
 * - Known fields with the wrong JSON type: runc's Go decoder rejects those
 *   ("json: cannot unmarshal number into Go struct field Root.root.path of type string").
 *   Unknown fields pass (the spec requires forward compatibility). `null` counts as absent,
 *   as it does for Go's decoder.
 * - What runc 1.1 requires before it starts anything: `root`, `process`, non-empty
 *   `process.args`, an absolute `process.cwd` (runc's validateProcessSpec and specconv), known
 *   and unique namespace types, mappings for a new user namespace, sysctls only in namespaces
 *   that isolate them, hostname only with a UTS namespace, masked/readonly paths only with a
 *   mount namespace (libcontainer/configs/validate).
 * - What runc would only fail on later, or silently get wrong, but the spec rules out: unknown
 *   rlimit names, soft > hard, uid/gid mappings without a user namespace, a
 *   domainname without a UTS namespace (runc 1.1 would set the host's).
 *
 * `validateSpec` is pure (no file system access); `checkHost` does the checks that need the
 * host (rootfs on disk, the network namespace a path points to) on the converted config.
 */

import type { Problem } from '../errors.ts';
import { FsError, ValidationError } from '../errors.ts';
import type { Files } from '../state/files.ts';
import { absolute } from '../paths.ts';
import type { Config } from '../native/binding.js';
import {
  CAPABILITIES,
  DEFAULT_DEVICES,
  IOPRIO_CLASSES,
  MEMORY_POLICY_FLAGS,
  MEMORY_POLICY_MODES,
  NAMESPACES,
  PERSONALITY_DOMAINS,
  RLIMIT_TYPES,
  ROOTFS_PROPAGATIONS,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHES,
  SECCOMP_FLAGS,
  SECCOMP_OPERATORS,
  SCHED_FLAGS,
  SCHED_POLICIES,
} from './tables.generated.ts';
import { isMarked, rawOf } from './numbers.ts';
import type { Spec } from './types.ts';
import { each, every, filter, find, has, map, some } from '../lists.ts';

// The names the core parses (capabilities, rlimits, namespaces, propagations) come from the core
// itself, rendered at build time into tables.generated.ts, so validation cannot accept a name
// the core refuses or refuse one it takes.
export { CAPABILITIES, RLIMIT_TYPES, ROOTFS_PROPAGATIONS };

/** config-linux.md namespace types ("time" is runtime-spec 1.1; runc 1.1.5 does not know it). */
export const NAMESPACE_TYPES: readonly string[] = map(NAMESPACES, (n) => n.type);

/**
 * Node types of `linux.devices`: the same list as DEVICE_TYPES in the core's rootfs/devices.rs,
 * not rendered into tables.generated.ts yet because that module is private to rootfs.
 */
const DEVICE_TYPES = ['c', 'b', 'u', 'p'];
const CGROUP_DEVICE_TYPES = ['a', 'b', 'c'];
/** The hook kinds of config.md, in the order the runtime runs them (and `features` lists them). */
export const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
/** A CPU or NUMA node list as cpuset and the spec write them: "0-3,7". */
const NUMBER_LIST = /^\s*\d+(-\d+)?(\s*,\s*\d+(-\d+)?)*\s*$/;
/** Clocks a time namespace can offset (time_namespaces(7)). */
const TIME_CLOCKS = ['monotonic', 'boottime'];

/** sysctls isolated by the IPC namespace (runc's validator list), besides fs.mqueue.*. */
const IPC_SYSCTLS = [
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
];

type Obj = Record<string, unknown>;

/** Integer ranges, named after the Go types of runtime-spec's specs-go. */
type IntKind = 'u16' | 'u32' | 'u64' | 'i32' | 'i64';
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;
const RANGES: Record<IntKind, [number, number]> = {
  u16: [0, 0xffff],
  u32: [0, 0xffffffff],
  // 64-bit bounds are inclusive of the rounded value JSON.parse gives the largest integer
  // (2^64-1 parses as 2^64, 2^63-1 as 2^63).
  u64: [0, TWO_64],
  i32: [-(2 ** 31), 2 ** 31 - 1],
  i64: [-TWO_63, TWO_63],
};

/**
 * The exact bounds, for literals checked as written: made on first need (a marked literal,
 * numbers.ts), since BigInt's first use costs a process 0.5 MB (src/lists.ts).
 */
let exactBounds: Record<IntKind, [bigint, bigint]> | undefined;
function exactRange(kind: IntKind): [bigint, bigint] {
  exactBounds ??= {
    u16: [0n, 0xffffn],
    u32: [0n, 0xffffffffn],
    u64: [0n, 2n ** 64n - 1n],
    i32: [-(2n ** 31n), 2n ** 31n - 1n],
    i64: [-(2n ** 63n), 2n ** 63n - 1n],
  };
  return exactBounds[kind];
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (isMarked(v)) return `a number (${rawOf(v)})`;
  if (Array.isArray(v)) return 'an array';
  const t = typeof v;
  return t === 'object' ? 'an object' : t === 'number' ? 'a number' : `a ${t}`;
}

/**
 * Whether `access` has only the letters r, w and m. (By hand: the create path uses no regular
 * expression, whose first use costs a process 1.1 MB and 0.1 ms: src/cli/fast.ts.)
 */
function onlyRwm(access: string): boolean {
  for (let i = 0; i < access.length; i++) if (access[i] !== 'r' && access[i] !== 'w' && access[i] !== 'm') return false;
  return true;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

/** Collects problems; each accessor returns the value when it has the right type. */
class Checker {
  readonly problems: Problem[] = [];

  add(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  private present(o: Obj, key: string, path: string, required: boolean): boolean {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.add(path, 'is required');
      return false;
    }
    return true;
  }

  obj(o: Obj, key: string, path: string, required = false): Obj | undefined {
    if (!this.present(o, key, path, required)) return undefined;
    const v = o[key];
    if (isObj(v)) return v;
    this.add(path, `must be an object (got ${kindOf(v)})`);
    return undefined;
  }

  arr(o: Obj, key: string, path: string, required = false): unknown[] | undefined {
    if (!this.present(o, key, path, required)) return undefined;
    const v = o[key];
    if (Array.isArray(v)) return v;
    this.add(path, `must be an array (got ${kindOf(v)})`);
    return undefined;
  }

  /** Each element an object; yields [element, path] for the good ones. */
  objects(o: Obj, key: string, path: string, required = false): Array<[Obj, string]> {
    const out: Array<[Obj, string]> = [];
    each(this.arr(o, key, path, required), (v, i) => {
      const p = `${path}[${i}]`;
      if (isObj(v)) out.push([v, p]);
      else this.add(p, `must be an object (got ${kindOf(v)})`);
    });
    return out;
  }

  str(o: Obj, key: string, path: string, required = false): string | undefined {
    if (!this.present(o, key, path, required)) return undefined;
    const v = o[key];
    if (typeof v === 'string' && !isMarked(v)) return v;
    this.add(path, `must be a string (got ${kindOf(v)})`);
    return undefined;
  }

  bool(o: Obj, key: string, path: string, required = false): boolean | undefined {
    if (!this.present(o, key, path, required)) return undefined;
    const v = o[key];
    if (typeof v === 'boolean') return v;
    this.add(path, `must be a boolean (got ${kindOf(v)})`);
    return undefined;
  }

  int(o: Obj, key: string, path: string, kind: IntKind, required = false): number | undefined {
    if (!this.present(o, key, path, required)) return undefined;
    return this.intValue(o[key], path, kind);
  }

  intValue(v: unknown, path: string, kind: IntKind): number | undefined {
    const [min, max] = RANGES[kind];
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    // A literal JSON.parse would have rounded or rewritten (numbers.ts): checked as written.
    if (isMarked(v)) {
      const raw = rawOf(v);
      const [lo, hi] = exactRange(kind);
      const ok = /^-?(?:0|[1-9]\d*)$/.test(raw) && !(kind.startsWith('u') && raw.startsWith('-'));
      if (ok && BigInt(raw) >= lo && BigInt(raw) <= hi) return Number(raw);
    }
    const got = typeof v === 'number' ? String(v) : isMarked(v) ? rawOf(v) : kindOf(v);
    if (kind === 'u64') this.add(path, `must be a non-negative integer (got ${got})`);
    else if (kind === 'i64') this.add(path, `must be an integer (got ${got})`);
    else this.add(path, `must be an integer from ${min} to ${max} (got ${got})`);
    return undefined;
  }

  /** An array of strings; wrong elements are reported at their own index. */
  strs(o: Obj, key: string, path: string, required = false): string[] | undefined {
    const a = this.arr(o, key, path, required);
    if (!a) return undefined;
    const out: string[] = [];
    each(a, (v, i) => {
      if (typeof v === 'string' && !isMarked(v)) out.push(v);
      else this.add(`${path}[${i}]`, `must be a string (got ${kindOf(v)})`);
    });
    return out;
  }

  ints(o: Obj, key: string, path: string, kind: IntKind): void {
    each(this.arr(o, key, path), (v, i) => this.intValue(v, `${path}[${i}]`, kind));
  }

  /** An object whose values are all strings (annotations, sysctl, unified). */
  strMap(o: Obj, key: string, path: string): Record<string, string> | undefined {
    const m = this.obj(o, key, path);
    if (!m) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === 'string' && !isMarked(v)) out[k] = v;
      else this.add(`${path}[${quote(k)}]`, `must be a string (got ${kindOf(v)})`);
    }
    return out;
  }

  oneOf(value: string | undefined, allowed: readonly string[], path: string, what: string): void {
    if (value !== undefined && !has(allowed, value)) {
      this.add(path, `unknown ${what} ${quote(value)} (valid: ${allowed.join(', ')})`);
    }
  }
}

/**
 * Every problem of a parsed config.json, empty when there is none. Pure: nothing on the host
 * is looked at (see checkHost for that).
 */
export function validateSpec(spec: unknown): Problem[] {
  const c = new Checker();
  if (!isObj(spec)) {
    c.add('', `config must be a JSON object (got ${kindOf(spec)})`);
    return c.problems;
  }

  c.str(spec, 'ociVersion', 'ociVersion');

  // runc: "root must be specified"; an empty root.path means the bundle itself.
  const root = c.obj(spec, 'root', 'root', true);
  if (root) {
    c.str(root, 'path', 'root.path');
    c.bool(root, 'readonly', 'root.readonly');
  }

  const linuxObj = spec.linux as Obj | undefined;
  const containerMapped = every(['uidMappings', 'gidMappings'], (k) => Array.isArray(linuxObj?.[k]) && (linuxObj[k] as unknown[]).length > 0);
  for (const [m, p] of c.objects(spec, 'mounts', 'mounts')) checkMount(c, m, p, containerMapped);

  // runc: "process property must not be empty" (create and run need one).
  const proc = c.obj(spec, 'process', 'process', true);
  if (proc) checkProcess(c, proc);

  const hostname = c.str(spec, 'hostname', 'hostname');
  const domainname = c.str(spec, 'domainname', 'domainname');

  const hooks = c.obj(spec, 'hooks', 'hooks');
  if (hooks) {
    for (const kind of HOOK_KINDS) {
      for (const [h, p] of c.objects(hooks, kind, `hooks.${kind}`)) {
        const path = c.str(h, 'path', `${p}.path`, true);
        // config.md: a hook's path MUST be absolute (runc 1.1 would exec it relative to its cwd).
        if (path !== undefined && !path.startsWith('/')) c.add(`${p}.path`, `must be an absolute path (got ${quote(path)})`);
        c.strs(h, 'args', `${p}.args`);
        c.strs(h, 'env', `${p}.env`);
        const timeout = c.int(h, 'timeout', `${p}.timeout`, 'u32');
        if (timeout !== undefined && timeout <= 0) c.add(`${p}.timeout`, `must be greater than zero (got ${timeout})`);
      }
    }
  }

  c.strMap(spec, 'annotations', 'annotations');

  const linux = c.obj(spec, 'linux', 'linux');
  const ns = linux ? checkNamespaces(c, linux) : new Map<string, NsEntry>();
  if (linux) checkLinux(c, linux, ns);

  // Settings that need a namespace of their own (runc's validator, config.md "Hostname").
  if (hostname && !ns.has('uts')) {
    c.add('hostname', 'cannot be set without a UTS namespace (add {"type": "uts"} to linux.namespaces)');
  }
  // runc 1.1 does not check this and would set the host's domainname; newer runc refuses.
  if (domainname && !ns.has('uts')) {
    c.add('domainname', 'cannot be set without a UTS namespace (add {"type": "uts"} to linux.namespaces)');
  }
  // Without a mount namespace (new or joined) the container shares runts' own, where a mount
  // reaches the whole host: runc 1.1 mounts there anyway (and makes / rslave); runts never
  // changes the namespaces it was started in, so it only chroots, and refuses what needs more.
  if (!ns.has('mount')) {
    const needs = 'needs a mount namespace (add {"type": "mount"} to linux.namespaces): runts does not mount in the namespace it was started in';
    if (Array.isArray(spec.mounts) && spec.mounts.length > 0) c.add('mounts', needs);
    if (root?.readonly === true) c.add('root.readonly', needs);
    if (linux && typeof linux.rootfsPropagation === 'string' && linux.rootfsPropagation) c.add('linux.rootfsPropagation', needs);
  }
  return c.problems;
}

/**
 * Every problem of a process object (`exec`'s: a --process file, or the container's process
 * with the command line's changes), each path as in config.json ("process.args").
 */
export function validateProcess(proc: unknown): Problem[] {
  const c = new Checker();
  if (!isObj(proc)) c.add('process', `must be a JSON object (got ${kindOf(proc)})`);
  else checkProcess(c, proc);
  return c.problems;
}

/** Throws a ValidationError listing every problem of `spec`, naming `file`; else narrows it. */
export function assertValidSpec(spec: unknown, file: string): asserts spec is Spec {
  const problems = validateSpec(spec);
  if (problems.length > 0) throw new ValidationError(file, problems);
}

function checkMount(c: Checker, m: Obj, p: string, containerMapped: boolean): void {
  const dest = c.str(m, 'destination', `${p}.destination`, true);
  // An empty destination would mount over the rootfs itself (runc 1.1 lets it through).
  if (dest === '') c.add(`${p}.destination`, 'must not be empty');
  const type = c.str(m, 'type', `${p}.type`);
  const source = c.str(m, 'source', `${p}.source`);
  c.strs(m, 'options', `${p}.options`);
  // runc: "mount field contains null byte" (they travel as C strings).
  for (const [k, v] of [['destination', dest], ['type', type], ['source', source]] as const) {
    if (v?.includes('\0')) c.add(`${p}.${k}`, 'must not contain a NUL byte');
  }
  // Idmapped mounts (runtime-spec 1.2): the mount's own mappings, or with the idmap/ridmap
  // option alone the container's; bind mounts only (runc's words below).
  const counts = map(['uidMappings', 'gidMappings'] as const, (k) => {
    const maps = c.objects(m, k, `${p}.${k}`);
    for (const [mm, mp] of maps) checkMapping(c, mm, mp);
    return maps.length;
  });
  const options = Array.isArray(m.options) ? (m.options as unknown[]) : [];
  const idmapOption = has(options, 'idmap') || has(options, 'ridmap');
  if (counts[0] + counts[1] === 0 && !idmapOption) return;
  const bind = type === 'bind' || has(options, 'bind') || has(options, 'rbind');
  if (!bind) c.add(`${p}.options`, "gidMappings/uidMappings is supported only for mounts with the option 'bind' (an idmapped mount)");
  if ((counts[0] === 0) !== (counts[1] === 0)) {
    c.add(`${p}.${counts[0] === 0 ? 'uidMappings' : 'gidMappings'}`, 'is required with the other (an idmapped mount maps both uids and gids)');
  } else if (counts[0] === 0 && !containerMapped) {
    c.add(`${p}.options`, 'idmap needs mappings: the mount\'s uidMappings and gidMappings, or the container\'s (linux.uidMappings and linux.gidMappings)');
  }
}

function checkProcess(c: Checker, proc: Obj): void {
  c.bool(proc, 'terminal', 'process.terminal');
  const box = c.obj(proc, 'consoleSize', 'process.consoleSize');
  if (box) {
    c.int(box, 'height', 'process.consoleSize.height', 'u32');
    c.int(box, 'width', 'process.consoleSize.width', 'u32');
  }

  const user = c.obj(proc, 'user', 'process.user');
  if (user) {
    c.int(user, 'uid', 'process.user.uid', 'u32');
    c.int(user, 'gid', 'process.user.gid', 'u32');
    c.int(user, 'umask', 'process.user.umask', 'u32');
    c.ints(user, 'additionalGids', 'process.user.additionalGids', 'u32');
    // setgroups(2) takes at most NGROUPS_MAX (65536) groups.
    const gids = user.additionalGids;
    if (Array.isArray(gids) && gids.length > 65536) {
      c.add('process.user.additionalGids', `at most 65536 groups (NGROUPS_MAX), got ${gids.length}`);
    }
    c.str(user, 'username', 'process.user.username');
  }

  // runc: "args must not be empty".
  c.strs(proc, 'args', 'process.args');
  if (proc.args == null || (Array.isArray(proc.args) && proc.args.length === 0)) {
    c.add('process.args', 'must not be empty');
  }
  c.str(proc, 'commandLine', 'process.commandLine');

  // runc's init refuses these ("invalid environment variable: missing '='", ...).
  each(c.strs(proc, 'env', 'process.env'), (e, i) => {
    const eq = e.indexOf('=');
    if (eq < 0) c.add(`process.env[${i}]`, `must be KEY=value (no '=' in ${quote(e)})`);
    else if (eq === 0) c.add(`process.env[${i}]`, `has an empty variable name (${quote(e)})`);
    if (e.includes('\0')) c.add(`process.env[${i}]`, 'must not contain a NUL byte');
  });

  // runc: "Cwd property must not be empty", "Cwd must be an absolute path".
  const cwd = c.str(proc, 'cwd', 'process.cwd', true);
  if (cwd === '') c.add('process.cwd', 'must not be empty');
  else if (cwd !== undefined && !cwd.startsWith('/')) c.add('process.cwd', `must be an absolute path (got ${quote(cwd)})`);

  const caps = c.obj(proc, 'capabilities', 'process.capabilities');
  if (caps) {
    for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
      // Unknown names are dropped with a warning, as runc does (specWarnings).
      c.strs(caps, set, `process.capabilities.${set}`);
    }
  }

  const seen = new Map<string, string>();
  for (const [r, p] of c.objects(proc, 'rlimits', 'process.rlimits')) {
    const type = c.str(r, 'type', `${p}.type`, true);
    if (type !== undefined) {
      if (!has(RLIMIT_TYPES, type)) c.add(`${p}.type`, `unknown rlimit type ${quote(type)}`);
      // config.md: duplicated types MUST be an error.
      const first = seen.get(type);
      if (first) c.add(`${p}.type`, `duplicate rlimit type ${quote(type)} (also at ${first})`);
      else seen.set(type, p);
    }
    const hard = c.int(r, 'hard', `${p}.hard`, 'u64', true);
    const soft = c.int(r, 'soft', `${p}.soft`, 'u64', true);
    // setrlimit(2) fails with EINVAL; runc only finds out inside the container init.
    if (hard !== undefined && soft !== undefined && soft > hard) {
      c.add(p, `soft limit ${soft} is greater than hard limit ${hard}`);
    }
  }

  c.bool(proc, 'noNewPrivileges', 'process.noNewPrivileges');
  c.str(proc, 'apparmorProfile', 'process.apparmorProfile');
  const oom = c.int(proc, 'oomScoreAdj', 'process.oomScoreAdj', 'i32');
  // proc(5): oom_score_adj ranges from -1000 to 1000; the kernel refuses anything else.
  if (oom !== undefined && (oom < -1000 || oom > 1000)) c.add('process.oomScoreAdj', `must be from -1000 to 1000 (got ${oom})`);

  // Whether the host has the LSM is checkHost's question.
  c.str(proc, 'selinuxLabel', 'process.selinuxLabel');

  const sched = c.obj(proc, 'scheduler', 'process.scheduler');
  if (sched) checkScheduler(c, sched);

  const aff = c.obj(proc, 'execCPUAffinity', 'process.execCPUAffinity');
  for (const k of ['initial', 'final'] as const) {
    const list = aff ? c.str(aff, k, `process.execCPUAffinity.${k}`) : undefined;
    if (list !== undefined && !NUMBER_LIST.test(list)) {
      c.add(`process.execCPUAffinity.${k}`, `must be a CPU list like "0-3,7" (got ${quote(list)})`);
    }
  }

  const io = c.obj(proc, 'ioPriority', 'process.ioPriority');
  if (io) {
    c.oneOf(c.str(io, 'class', 'process.ioPriority.class', true), IOPRIO_CLASSES, 'process.ioPriority.class', 'I/O priority class');
    const prio = c.int(io, 'priority', 'process.ioPriority.priority', 'i32');
    // ioprio_set(2): levels 0 (highest) to 7.
    if (prio !== undefined && (prio < 0 || prio > 7)) c.add('process.ioPriority.priority', `must be from 0 to 7 (got ${prio})`);
  }
}

/** sched_setattr(2) constraints, as newer runc checks them (runc 1.1 ignores the field). */
function checkScheduler(c: Checker, s: Obj): void {
  const p = 'process.scheduler';
  const policy = c.str(s, 'policy', `${p}.policy`, true);
  c.oneOf(policy, SCHED_POLICIES, `${p}.policy`, 'scheduler policy');
  const nice = c.int(s, 'nice', `${p}.nice`, 'i32');
  if (nice !== undefined && (nice < -20 || nice > 19)) c.add(`${p}.nice`, `must be from -20 to 19 (got ${nice})`);
  const prio = c.int(s, 'priority', `${p}.priority`, 'i32');
  if (prio && policy !== undefined && policy !== 'SCHED_FIFO' && policy !== 'SCHED_RR') {
    c.add(`${p}.priority`, 'can only be set for SCHED_FIFO or SCHED_RR');
  }
  each(c.strs(s, 'flags', `${p}.flags`), (f, i) => c.oneOf(f, SCHED_FLAGS, `${p}.flags[${i}]`, 'scheduler flag'));
  for (const k of ['runtime', 'deadline', 'period']) {
    const v = c.int(s, k, `${p}.${k}`, 'u64');
    if (v && policy !== undefined && policy !== 'SCHED_DEADLINE') c.add(`${p}.${k}`, 'can only be set for SCHED_DEADLINE');
  }
}

function checkMapping(c: Checker, m: Obj, p: string): void {
  c.int(m, 'containerID', `${p}.containerID`, 'u32');
  c.int(m, 'hostID', `${p}.hostID`, 'u32');
  const size = c.int(m, 'size', `${p}.size`, 'u32', true);
  // user_namespaces(7): a mapping line of length 0 is rejected by the kernel.
  if (size === 0) c.add(`${p}.size`, 'must be at least 1');
}

interface NsEntry {
  index: number;
  path?: string;
}

/** linux.namespaces: known, unique types; returns type → entry for the cross-checks. */
function checkNamespaces(c: Checker, linux: Obj): Map<string, NsEntry> {
  const ns = new Map<string, NsEntry>();
  for (const [n, p] of c.objects(linux, 'namespaces', 'linux.namespaces')) {
    const type = c.str(n, 'type', `${p}.type`, true);
    const path = c.str(n, 'path', `${p}.path`);
    if (type === undefined) continue;
    const index = Number(p.slice(p.lastIndexOf('[') + 1, -1));
    if (!has(NAMESPACE_TYPES, type)) {
      c.add(`${p}.type`, `unknown namespace type ${quote(type)} (valid: ${NAMESPACE_TYPES.join(', ')})`);
    } else if (ns.has(type)) {
      c.add(`${p}.type`, `duplicate namespace type ${quote(type)} (also at linux.namespaces[${ns.get(type)!.index}])`);
    } else {
      ns.set(type, { index, path: path || undefined });
    }
  }
  return ns;
}

function checkLinux(c: Checker, linux: Obj, ns: Map<string, NsEntry>): void {
  for (const k of ['uidMappings', 'gidMappings'] as const) {
    const maps = c.objects(linux, k, `linux.${k}`);
    for (const [m, p] of maps) checkMapping(c, m, p);
    const what = k === 'uidMappings' ? 'uid' : 'gid';
    const user = ns.get('user');
    if (user && !user.path && maps.length === 0 && !some(c.problems, (x) => x.path === `linux.${k}`)) {
      // runc: "User namespaces enabled, but no uid mappings found." Joining one by path needs
      // none (runc 1.1.5 still demands them there; newer runc and the spec do not).
      c.add(`linux.${k}`, `is required when a new user namespace is created (no ${what} mappings)`);
    } else if (!user && maps.length > 0) {
      // Newer runc's validator: "User namespace mappings specified, but USER namespace isn't
      // enabled in the config" (runc 1.1.5 drops them silently).
      c.add(`linux.${k}`, 'set, but there is no user namespace in linux.namespaces');
    }
  }

  const offsets = c.obj(linux, 'timeOffsets', 'linux.timeOffsets');
  if (offsets) {
    for (const [clock, v] of Object.entries(offsets)) {
      const p = `linux.timeOffsets[${quote(clock)}]`;
      if (!has(TIME_CLOCKS, clock)) c.add(p, `unknown clock ${quote(clock)} (valid: ${TIME_CLOCKS.join(', ')})`);
      if (!isObj(v)) {
        c.add(p, `must be an object (got ${kindOf(v)})`);
        continue;
      }
      c.int(v, 'secs', `${p}.secs`, 'i64');
      const nsec = c.int(v, 'nanosecs', `${p}.nanosecs`, 'u32');
      if (nsec !== undefined && nsec >= 1e9) c.add(`${p}.nanosecs`, `must be less than 1000000000 (got ${nsec})`);
    }
    if (Object.keys(offsets).length > 0 && !ns.has('time')) {
      c.add('linux.timeOffsets', 'set, but there is no time namespace in linux.namespaces');
    }
  }

  for (const [d, p] of c.objects(linux, 'devices', 'linux.devices')) {
    const path = c.str(d, 'path', `${p}.path`, true);
    if (path === '') c.add(`${p}.path`, 'must not be empty');
    const type = c.str(d, 'type', `${p}.type`, true);
    // runc: `invalid device type "z"`.
    if (type !== undefined && !has(DEVICE_TYPES, type)) {
      c.add(`${p}.type`, `unknown device type ${quote(type)} (valid: ${DEVICE_TYPES.join(', ')})`);
    }
    // config-linux.md: major and minor are REQUIRED unless the type is p.
    const needNumbers = type !== undefined && type !== 'p';
    const major = c.int(d, 'major', `${p}.major`, 'i64', needNumbers);
    const minor = c.int(d, 'minor', `${p}.minor`, 'i64', needNumbers);
    for (const [what, n] of [['major', major], ['minor', minor]] as const) {
      if (n !== undefined && n < 0) c.add(`${p}.${what}`, `must be a device number, not negative (got ${n})`);
    }
    // The runtime's own nodes (/dev/null, ...) are not the config's to redefine into another
    // device: masking binds /dev/null, and a container must not get a disk there.
    const own = path ? find(DEFAULT_DEVICES, (x) => x.path === cleanPath(path)) : undefined;
    if (own && type !== undefined && major !== undefined && minor !== undefined && (type !== own.type || major !== own.major || minor !== own.minor)) {
      c.add(p, `${own.path} is the runtime's own device (${own.type} ${own.major}:${own.minor}); it cannot be redefined as ${type} ${major}:${minor}`);
    }
    c.int(d, 'fileMode', `${p}.fileMode`, 'u32');
    c.int(d, 'uid', `${p}.uid`, 'u32');
    c.int(d, 'gid', `${p}.gid`, 'u32');
  }

  c.str(linux, 'cgroupsPath', 'linux.cgroupsPath');
  const res = c.obj(linux, 'resources', 'linux.resources');
  if (res) checkResources(c, res);

  const rdt = c.obj(linux, 'intelRdt', 'linux.intelRdt');
  if (rdt) {
    const clos = c.str(rdt, 'closID', 'linux.intelRdt.closID');
    // runc: the closID names a directory under /sys/fs/resctrl.
    if (clos !== undefined && (clos === '.' || clos === '..' || clos.includes('/'))) {
      c.add('linux.intelRdt.closID', `invalid (got ${quote(clos)}): must be a plain directory name`);
    }
    for (const k of ['schemata', 'l3CacheSchema', 'memBwSchema']) c.str(rdt, k, `linux.intelRdt.${k}`);
    for (const k of ['enableCMT', 'enableMBM']) c.bool(rdt, k, `linux.intelRdt.${k}`);
    // Refused rather than ignored: a container that asked for cache or bandwidth limits would
    // run without them.
    c.add('linux.intelRdt', 'not supported: Intel RDT (resctrl)');
  }

  const sysctl = c.strMap(linux, 'sysctl', 'linux.sysctl');
  if (sysctl) {
    for (const key of Object.keys(sysctl)) {
      const msg = sysctlProblem(normalizeSysctlKey(key), ns);
      if (msg) c.add(`linux.sysctl[${quote(key)}]`, msg);
    }
  }

  const sec = c.obj(linux, 'seccomp', 'linux.seccomp');
  if (sec) checkSeccomp(c, sec);

  const prop = c.str(linux, 'rootfsPropagation', 'linux.rootfsPropagation');
  // runc: "rootfsPropagation=bogus is not supported".
  if (prop) c.oneOf(prop, ROOTFS_PROPAGATIONS, 'linux.rootfsPropagation', 'rootfs propagation');

  for (const k of ['maskedPaths', 'readonlyPaths']) {
    const paths = c.strs(linux, k, `linux.${k}`);
    // runc: "unable to restrict sys entries without a private MNT namespace".
    if (paths && paths.length > 0 && !ns.has('mount')) {
      c.add(`linux.${k}`, 'needs a mount namespace (add {"type": "mount"} to linux.namespaces)');
    }
  }
  c.str(linux, 'mountLabel', 'linux.mountLabel');

  const nd = c.obj(linux, 'netDevices', 'linux.netDevices');
  if (nd) {
    // An interface name: 1 to 15 bytes, no '/', ':' or whitespace (dev_valid_name).
    const ifname = (n: string) => n.length > 0 && Buffer.byteLength(n) < 16 && n !== '.' && n !== '..' && !/[/:\s]/.test(n);
    const net = ns.get('network');
    if (!net || net.path) c.add('linux.netDevices', 'needs a new network namespace (a {"type": "network"} without a path in linux.namespaces)');
    const seen = new Map<string, string>();
    for (const host of Object.keys(nd)) {
      const p = `linux.netDevices[${quote(host)}]`;
      if (!ifname(host)) c.add(p, `${quote(host)} is not an interface name`);
      const o = c.obj(nd, host, p);
      const name = o ? c.str(o, 'name', `${p}.name`) : undefined;
      if (name !== undefined && !ifname(name)) c.add(`${p}.name`, `${quote(name)} is not an interface name`);
      const inside = name || host;
      const other = seen.get(inside);
      if (other) c.add(p, `is named ${quote(inside)} in the container, as ${quote(other)} is`);
      seen.set(inside, host);
    }
  }

  const mp = c.obj(linux, 'memoryPolicy', 'linux.memoryPolicy');
  if (mp) {
    const mode = c.str(mp, 'mode', 'linux.memoryPolicy.mode', true);
    c.oneOf(mode, MEMORY_POLICY_MODES, 'linux.memoryPolicy.mode', 'memory policy mode');
    const nodes = c.str(mp, 'nodes', 'linux.memoryPolicy.nodes');
    if (nodes && !NUMBER_LIST.test(nodes)) c.add('linux.memoryPolicy.nodes', `must be a node list like "0-3,7" (got ${quote(nodes)})`);
    each(c.strs(mp, 'flags', 'linux.memoryPolicy.flags'), (f, i) => c.oneOf(f, MEMORY_POLICY_FLAGS, `linux.memoryPolicy.flags[${i}]`, 'memory policy flag'));
  }

  const pers = c.obj(linux, 'personality', 'linux.personality');
  if (pers) {
    c.oneOf(c.str(pers, 'domain', 'linux.personality.domain', true), PERSONALITY_DOMAINS, 'linux.personality.domain', 'personality domain');
    // The spec defines no flag names yet; runc refuses any.
    if (c.strs(pers, 'flags', 'linux.personality.flags')?.length) c.add('linux.personality.flags', 'not supported: personality flags');
  }
}

/**
 * A sysctl name in sysctl(8)'s dotted form. sysctl.d(5) also allows '/' as the separator, in
 * which case a '.' inside a component (an interface "eno2.100") is written as-is; runc swaps the
 * two when the first separator is a '/': "net/ipv4/conf/eno2.100/rp_filter" becomes
 * "net.ipv4.conf.eno2/100.rp_filter". The /proc/sys path is the result with '.' and '/' swapped.
 */
export function normalizeSysctlKey(key: string): string {
  // By hand: the create path uses no regular expression (src/lists.ts).
  const dot = key.indexOf('.');
  const slash = key.indexOf('/');
  if (slash < 0 || (dot >= 0 && dot < slash)) return key;
  let out = '';
  for (let i = 0; i < key.length; i++) out += key[i] === '.' ? '/' : key[i] === '/' ? '.' : key[i];
  return out;
}

/**
 * Why a sysctl cannot be set with these namespaces, or undefined. /proc/sys is only partly
 * namespaced; these are runc's rules (libcontainer/configs/validate). A net.* key in a network
 * namespace joined by path passes here; checkHost makes sure that path is not the host's own.
 */
export function sysctlProblem(key: string, ns: ReadonlyMap<string, unknown>): string | undefined {
  if (has(IPC_SYSCTLS, key) || key.startsWith('fs.mqueue.')) {
    return ns.has('ipc') ? undefined : 'is not allowed in the host IPC namespace (add {"type": "ipc"} to linux.namespaces)';
  }
  if (key.startsWith('net.')) {
    return ns.has('network') ? undefined : 'is not allowed in the host network namespace (add {"type": "network"} to linux.namespaces)';
  }
  // user.* (the user namespace's limits, user_namespaces(7)), as runc 1.4 allows them.
  if (key.startsWith('user.')) {
    return ns.has('user') ? undefined : 'is not allowed in the host user namespace (add {"type": "user"} to linux.namespaces)';
  }
  if (ns.has('uts')) {
    // kernel.domainname is namespaced and has no OCI field; kernel.hostname has one.
    if (key === 'kernel.domainname') return undefined;
    if (key === 'kernel.hostname') return 'conflicts with the "hostname" field (set that instead)';
  }
  return 'is not in a separate kernel namespace (only IPC, network, UTS and user sysctls can be set)';
}

function checkResources(c: Checker, r: Obj): void {
  const P = 'linux.resources';
  for (const [d, p] of c.objects(r, 'devices', `${P}.devices`)) {
    c.bool(d, 'allow', `${p}.allow`, true);
    const type = c.str(d, 'type', `${p}.type`);
    // runc: `invalid cgroup device type "x"`.
    if (type) c.oneOf(type, CGROUP_DEVICE_TYPES, `${p}.type`, 'device cgroup type');
    for (const what of ['major', 'minor'] as const) {
      const n = c.int(d, what, `${p}.${what}`, 'i64');
      // -1 (or absent) is any; another negative number widened the rule to any device.
      if (n !== undefined && n < -1) c.add(`${p}.${what}`, `must be -1 (any) or a device number (got ${n})`);
    }
    const access = c.str(d, 'access', `${p}.access`);
    // runc: "device access at 0 field cannot be empty". Other letters than r, w and m are
    // ignored with a warning, as runc 1.1.5 ignores them (specWarnings).
    if (!access) {
      if (access !== undefined || d.access == null) c.add(`${p}.access`, 'must not be empty (some of "rwm")');
    } else if (!(access.indexOf('r') >= 0 || access.indexOf('w') >= 0 || access.indexOf('m') >= 0)) {
      c.add(`${p}.access`, `must name at least one of r, w and m (got ${quote(access)})`);
    }
  }

  const mem = c.obj(r, 'memory', `${P}.memory`);
  if (mem) {
    for (const k of ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP']) c.int(mem, k, `${P}.memory.${k}`, 'i64');
    const sw = c.int(mem, 'swappiness', `${P}.memory.swappiness`, 'u64');
    // runc: "invalid value:%d. valid memory swappiness range is 0-100".
    if (sw !== undefined && sw > 100) c.add(`${P}.memory.swappiness`, `must be from 0 to 100 (got ${sw})`);
    for (const k of ['disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']) c.bool(mem, k, `${P}.memory.${k}`);
  }

  const cpu = c.obj(r, 'cpu', `${P}.cpu`);
  if (cpu) {
    for (const k of ['shares', 'burst', 'period', 'realtimePeriod']) c.int(cpu, k, `${P}.cpu.${k}`, 'u64');
    for (const k of ['quota', 'realtimeRuntime', 'idle']) c.int(cpu, k, `${P}.cpu.${k}`, 'i64');
    for (const k of ['cpus', 'mems']) c.str(cpu, k, `${P}.cpu.${k}`);
  }

  const pids = c.obj(r, 'pids', `${P}.pids`);
  if (pids) c.int(pids, 'limit', `${P}.pids.limit`, 'i64');

  const bio = c.obj(r, 'blockIO', `${P}.blockIO`);
  if (bio) {
    c.int(bio, 'weight', `${P}.blockIO.weight`, 'u16');
    c.int(bio, 'leafWeight', `${P}.blockIO.leafWeight`, 'u16');
    for (const [d, p] of c.objects(bio, 'weightDevice', `${P}.blockIO.weightDevice`)) {
      c.int(d, 'major', `${p}.major`, 'i64', true);
      c.int(d, 'minor', `${p}.minor`, 'i64', true);
      c.int(d, 'weight', `${p}.weight`, 'u16');
      c.int(d, 'leafWeight', `${p}.leafWeight`, 'u16');
    }
    for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']) {
      for (const [d, p] of c.objects(bio, k, `${P}.blockIO.${k}`)) {
        c.int(d, 'major', `${p}.major`, 'i64', true);
        c.int(d, 'minor', `${p}.minor`, 'i64', true);
        c.int(d, 'rate', `${p}.rate`, 'u64', true);
      }
    }
  }

  for (const [h, p] of c.objects(r, 'hugepageLimits', `${P}.hugepageLimits`)) {
    c.str(h, 'pageSize', `${p}.pageSize`, true);
    c.int(h, 'limit', `${p}.limit`, 'u64', true);
  }

  const net = c.obj(r, 'network', `${P}.network`);
  if (net) {
    c.int(net, 'classID', `${P}.network.classID`, 'u32');
    for (const [n, p] of c.objects(net, 'priorities', `${P}.network.priorities`)) {
      c.str(n, 'name', `${p}.name`, true);
      c.int(n, 'priority', `${p}.priority`, 'u32', true);
    }
  }

  const rdma = c.obj(r, 'rdma', `${P}.rdma`);
  if (rdma) {
    for (const [dev, v] of Object.entries(rdma)) {
      const p = `${P}.rdma[${quote(dev)}]`;
      if (!isObj(v)) {
        c.add(p, `must be an object (got ${kindOf(v)})`);
        continue;
      }
      c.int(v, 'hcaHandles', `${p}.hcaHandles`, 'u32');
      c.int(v, 'hcaObjects', `${p}.hcaObjects`, 'u32');
    }
  }

  c.strMap(r, 'unified', `${P}.unified`);
}

function checkSeccomp(c: Checker, s: Obj): void {
  const P = 'linux.seccomp';
  const action = (v: string | undefined, path: string) => c.oneOf(v, SECCOMP_ACTIONS, path, 'seccomp action');
  const def = c.str(s, 'defaultAction', `${P}.defaultAction`, true);
  action(def, `${P}.defaultAction`);
  // runc: the init's own writes would be notified to an agent that has no listener yet.
  if (def === 'SCMP_ACT_NOTIFY') c.add(`${P}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');
  c.int(s, 'defaultErrnoRet', `${P}.defaultErrnoRet`, 'u32');
  each(c.strs(s, 'architectures', `${P}.architectures`), (a, i) => c.oneOf(a, SECCOMP_ARCHES, `${P}.architectures[${i}]`, 'seccomp architecture'));
  each(c.strs(s, 'flags', `${P}.flags`), (f, i) => c.oneOf(f, SECCOMP_FLAGS, `${P}.flags[${i}]`, 'seccomp flag'));
  const listener = c.str(s, 'listenerPath', `${P}.listenerPath`);
  c.str(s, 'listenerMetadata', `${P}.listenerMetadata`);
  let notified = false;
  for (const [sc, p] of c.objects(s, 'syscalls', `${P}.syscalls`)) {
    c.strs(sc, 'names', `${p}.names`, true);
    const act = c.str(sc, 'action', `${p}.action`, true);
    action(act, `${p}.action`);
    if (act === 'SCMP_ACT_NOTIFY') {
      notified = true;
      if (Array.isArray(sc.names) && has(sc.names, 'write')) c.add(`${p}.names`, 'SCMP_ACT_NOTIFY cannot be used for the write syscall');
    }
    c.int(sc, 'errnoRet', `${p}.errnoRet`, 'u32');
    for (const [a, ap] of c.objects(sc, 'args', `${p}.args`)) {
      const index = c.int(a, 'index', `${ap}.index`, 'u32', true);
      if (index !== undefined && index > 5) c.add(`${ap}.index`, `must be from 0 to 5 (a syscall has 6 arguments; got ${index})`);
      c.int(a, 'value', `${ap}.value`, 'u64', true);
      c.int(a, 'valueTwo', `${ap}.valueTwo`, 'u64');
      c.oneOf(c.str(a, 'op', `${ap}.op`, true), SECCOMP_OPERATORS, `${ap}.op`, 'seccomp operator');
    }
  }
  if (notified && !listener) c.add(`${P}.listenerPath`, 'is required with SCMP_ACT_NOTIFY (the seccomp agent\'s socket)');
}

/**
 * Things runc accepts with a warning, and fields runts reads but does not apply yet; the caller
 * logs them. Takes a spec validateSpec passed.
 */
export function specWarnings(spec: Spec): Problem[] {
  const out: Problem[] = [];
  each(spec.mounts, (m, i) => {
    // runc 1.1: "mount destination proc is not absolute. Support for non-absolute mount
    // destinations will be removed in a future release." It mounts it relative to /.
    if (m.destination && !m.destination.startsWith('/')) {
      out.push({
        path: `mounts[${i}].destination`,
        message: `${quote(m.destination)} is not absolute; mounted at /${m.destination} (deprecated)`,
      });
    }
  });
  // runc: "ignoring unknown or unavailable capabilities: [...]" (engines and newer images name
  // capabilities an older runtime does not know); convert drops them.
  const caps = spec.process?.capabilities;
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const) {
    const unknown = filter(caps?.[set], (n) => !has(CAPABILITIES, n));
    if (unknown.length) {
      out.push({ path: `process.capabilities.${set}`, message: `ignoring unknown or unavailable capabilities: [${unknown.join(' ')}]` });
    }
  }
  each(spec.linux?.resources?.devices, (d, i) => {
    if (d.access && !onlyRwm(d.access)) {
      out.push({ path: `linux.resources.devices[${i}].access`, message: `${quote(d.access)}: letters other than r, w and m are ignored` });
    }
  });
  return out;
}

/**
 * The checks that look at the host, on a converted config (absolute rootfs, normalised sysctl
 * keys): runc's rootfs rule (it must exist and be the real path, not reached through a symlink:
 * "invalid rootfs: not an absolute path, or a symlink"), and net.* sysctls in a network
 * namespace joined by path that turns out to be the host's own.
 */
/** A container path made absolute and lexical ("/dev//null" is "/dev/null"). */
function cleanPath(p: string): string {
  return absolute(p, '/');
}

/** Whether the host has the LSM enabled: AppArmor's module parameter, SELinux's selinuxfs. */
export function lsmEnabled(files: Files, lsm: 'apparmor' | 'selinux'): boolean {
  if (lsm === 'apparmor') return (files.read('/sys/module/apparmor/parameters/enabled') ?? '').startsWith('Y');
  return files.exists('/sys/fs/selinux/enforce');
}

export function checkHost(files: Files, config: Config): Problem[] {
  const out: Problem[] = [];
  try {
    if (!files.stat(config.rootfs).isDir) {
      out.push({ path: 'root.path', message: `invalid rootfs ${config.rootfs}: not a directory` });
    } else {
      const real = files.realpath(config.rootfs);
      if (real !== config.rootfs) {
        out.push({ path: 'root.path', message: `invalid rootfs ${config.rootfs}: a symlink or under one (use ${real})` });
      }
    }
  } catch (err) {
    const code = err instanceof FsError ? err.errnoName : String(err);
    const text = code === 'ENOENT' ? 'no such file or directory' : code === 'ENOTDIR' ? 'not a directory' : code;
    out.push({ path: 'root.path', message: `invalid rootfs: stat ${config.rootfs}: ${text}` });
  }

  // The LSMs fail closed: a label the host cannot apply is an error, never ignored (runc's
  // wording). linux.mountLabel without SELinux is ignored, as runc ignores it (build.ts).
  if (config.process.apparmorProfile && !lsmEnabled(files, 'apparmor')) {
    out.push({ path: 'process.apparmorProfile', message: 'apparmor profile is specified in config, but apparmor is disabled or not supported' });
  }
  if (config.process.selinuxLabel && !lsmEnabled(files, 'selinux')) {
    out.push({ path: 'process.selinuxLabel', message: 'selinux label is specified in config, but selinux is disabled or not supported' });
  }

  for (const d of config.netDevices) {
    if (!files.exists(`/sys/class/net/${d.hostName}`)) {
      out.push({ path: `linux.netDevices[${quote(d.hostName)}]`, message: 'no such network interface on the host' });
    }
  }

  const net = find(config.namespaces, (n) => n.nsType === 'network');
  const netSysctls = filter(config.sysctl, (s) => s.key.startsWith('net.'));
  if (net?.path && netSysctls.length > 0) {
    try {
      const self = files.stat('/proc/self/ns/net');
      const theirs = files.stat(net.path);
      if (self.dev === theirs.dev && self.ino === theirs.ino) {
        for (const s of netSysctls) {
          out.push({ path: `linux.sysctl[${quote(s.key)}]`, message: `is not allowed in the host network namespace (${net.path})` });
        }
      }
    } catch (err) {
      out.push({ path: 'linux.namespaces', message: `invalid network namespace path ${net.path}: ${(err as Error).message}` });
    }
  }
  return out;
}
