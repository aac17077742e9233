/**
 * The verbs that act on a running container's cgroup: pause, resume, ps, update. Each takes
 * the container's lock, checks its status and makes one call into the core.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { print } from '../cli/output.ts';
import { RuntsError } from '../errors.ts';
import { cgroupFreeze, cgroupPids, cgroupUpdate } from '../native/index.ts';
import type { Resources } from '../native/binding.js';
import { toNativeResources } from '../spec/resources.ts';
import type { Resources as OciResources } from '../spec/types.ts';
import { statusOf } from '../state/status.ts';
import { writeState } from '../state/store.ts';
import type { ContainerState, SavedCgroup } from '../state/store.ts';
import { locked } from './control.ts';

function cgroupOf(s: ContainerState): SavedCgroup {
  if (!s.cgroup) throw new RuntsError(`container ${s.id} has no cgroup`);
  return s.cgroup;
}

export function pauseContainer(root: string, id: string): void {
  locked(root, id, (s) => {
    const status = statusOf(root, s);
    if (status !== 'running' && status !== 'created') throw new RuntsError('container not running');
    cgroupFreeze(s.id, cgroupOf(s), true);
  });
}

export function resumeContainer(root: string, id: string): void {
  locked(root, id, (s) => {
    if (statusOf(root, s) !== 'paused') throw new RuntsError('container not paused');
    cgroupFreeze(s.id, cgroupOf(s), false);
  });
}

/**
 * `ps`: with -f json the array of pids (what containerd's shim parses); as a table, `ps` run
 * with the given arguments (default -ef) filtered to the container's processes, as runc does.
 */
export function psContainer(root: string, id: string, format: string, psArgs: string[]): void {
  locked(root, id, (s) => {
    // runc lists nothing, without an error, for a stopped container.
    const pids = statusOf(root, s) === 'stopped' ? [] : cgroupPids(s.id, cgroupOf(s));
    if (format === 'json') {
      print(`${JSON.stringify(pids)}\n`);
      return;
    }
    let out: string;
    try {
      out = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
    } catch (e) {
      throw new RuntsError(`ps: ${(e as Error).message}`);
    }
    const lines = out.split('\n');
    const col = lines[0].trim().split(/\s+/).indexOf('PID');
    if (col < 0) throw new RuntsError("couldn't find PID field in ps output");
    const set = new Set(pids);
    const kept = lines.slice(1).filter((l) => l.trim() && set.has(Number(l.trim().split(/\s+/)[col])));
    print(`${[lines[0], ...kept].join('\n')}\n`);
  });
}

/** The `update` flags, as commander gives them (all strings). */
export interface UpdateFlags {
  resources?: string;
  blkioWeight?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuBurst?: string;
  cpuShare?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  cpusetCpus?: string;
  cpusetMems?: string;
  cpuIdle?: string;
  memory?: string;
  memoryReservation?: string;
  memorySwap?: string;
  pidsLimit?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new RuntsError(`invalid value for --${flag}: ${JSON.stringify(v)}`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/**
 * A size flag as runc reads it: -1 (unlimited), or docker's units.RAMInBytes — a number with
 * an optional binary unit, case-insensitive, with or without "i" and "b": 50M, 50mb, 1.5GiB.
 */
export function ramInBytes(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (v === '-1') return -1;
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(v);
  if (!m) throw new RuntsError(`invalid value for ${flag}: invalid size: '${v}'`);
  return Math.trunc(Number(m[1]) * UNITS[(m[2] ?? '').toLowerCase()]);
}

/** runc update: a resources document (file or "-"), or the flags; only what is set changes. */
function requested(f: UpdateFlags): OciResources {
  const r = f.resources ? fromDocument(f.resources) : fromFlags(f);
  // runc: an unlimited memory without a new swap limit makes swap unlimited too; the old
  // memory+swap limit would otherwise be below the memory limit (EINVAL on cgroup v1).
  if (r.memory?.limit === -1 && r.memory.swap === undefined) r.memory.swap = -1;
  return r;
}

function fromDocument(file: string): OciResources {
  const text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as OciResources;
  } catch (e) {
    throw new RuntsError(`failed to parse resources from ${file}: ${(e as Error).message}`);
  }
}

function fromFlags(f: UpdateFlags): OciResources {
  const r: OciResources = {};
  const memory = {
    limit: ramInBytes('memory', f.memory),
    reservation: ramInBytes('memory-reservation', f.memoryReservation),
    swap: ramInBytes('memory-swap', f.memorySwap),
  };
  if (Object.values(memory).some((v) => v !== undefined)) r.memory = memory;
  const cpu = {
    shares: int('cpu-share', f.cpuShare),
    quota: int('cpu-quota', f.cpuQuota),
    burst: int('cpu-burst', f.cpuBurst),
    period: int('cpu-period', f.cpuPeriod),
    realtimeRuntime: int('cpu-rt-runtime', f.cpuRtRuntime),
    realtimePeriod: int('cpu-rt-period', f.cpuRtPeriod),
    cpus: f.cpusetCpus,
    mems: f.cpusetMems,
    idle: int('cpu-idle', f.cpuIdle),
  };
  if (Object.values(cpu).some((v) => v !== undefined)) r.cpu = cpu;
  const weight = int('blkio-weight', f.blkioWeight);
  if (weight !== undefined) r.blockIO = { weight };
  const pids = int('pids-limit', f.pidsLimit);
  if (pids !== undefined) r.pids = { limit: pids };
  return r;
}

export function updateContainer(root: string, id: string, f: UpdateFlags): void {
  if ((f.l3CacheSchema || f.memBwSchema) && !existsSync('/sys/fs/resctrl/schemata')) {
    throw new RuntsError('not supported: --l3-cache-schema/--mem-bw-schema (Intel RDT is not enabled on this host)');
  }
  if (f.l3CacheSchema || f.memBwSchema) {
    throw new RuntsError('not supported: Intel RDT (--l3-cache-schema/--mem-bw-schema) in this build');
  }
  locked(root, id, (s) => {
    if (statusOf(root, s) === 'stopped') throw new RuntsError('container not running');
    const c = cgroupOf(s);
    const merged: Resources = cgroupUpdate(s.id, c, toNativeResources(requested(f)));
    writeState(root, { ...s, cgroup: { ...c, resources: merged } });
  });
}
