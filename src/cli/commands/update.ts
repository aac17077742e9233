/**
 * `runts update <id>`: change a running container's resources, as `runc update`: a
 * linux.resources document (-r FILE, or - for stdin), or the flags; only what is set changes.
 */
import { readFileSync, statSync } from 'node:fs';
import { NotSupportedError, RuntsError, fsError } from '../../errors.ts';
import type { Resources as OciResources } from '../../spec/types.ts';
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

/** The `update` flags, as both parsers give them (all strings). */
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

function fromDocument(file: string): OciResources {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw fsError('read', file === '-' ? 'the standard input' : file, e);
  }
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


function hasResctrl(): boolean {
  try {
    return statSync('/sys/fs/resctrl/schemata').isFile();
  } catch {
    return false;
  }
}

const update: VerbDef = {
  name: 'update',
  description: 'update container resource constraints',
  args: [ID_ARG],
  flags: [
    { flags: '-r, --resources <path>', description: "path to the file containing the resources to update or '-' to read from the standard input" },
    { flags: '--blkio-weight <n>', description: 'Specifies per cgroup weight, range is from 10 to 1000' },
    { flags: '--cpu-period <n>', description: 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default' },
    { flags: '--cpu-quota <n>', description: 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period' },
    { flags: '--cpu-burst <n>', description: 'CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period' },
    { flags: '--cpu-share <n>', description: 'CPU shares (relative weight vs. other containers)' },
    { flags: '--cpu-rt-period <n>', description: 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default' },
    { flags: '--cpu-rt-runtime <n>', description: 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period' },
    { flags: '--cpuset-cpus <list>', description: 'CPU(s) to use' },
    { flags: '--cpuset-mems <list>', description: 'Memory node(s) to use' },
    { flags: '--cpu-idle <n>', description: 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE' },
    { flags: '--memory <bytes>', description: 'Memory limit (in bytes)' },
    { flags: '--memory-reservation <bytes>', description: 'Memory reservation or soft_limit (in bytes)' },
    { flags: '--memory-swap <bytes>', description: "Total memory usage (memory + swap); set '-1' to enable unlimited swap" },
    { flags: '--pids-limit <n>', description: 'Maximum number of pids allowed in the container' },
    { flags: '--l3-cache-schema <schema>', description: 'The string of Intel RDT/CAT L3 cache schema' },
    { flags: '--mem-bw-schema <schema>', description: 'The string of Intel RDT/MBA memory bandwidth schema' },
  ],
  async action(ctx, [id], o) {
    const f = o as UpdateFlags;
    if (f.l3CacheSchema || f.memBwSchema) {
      throw new NotSupportedError(
        hasResctrl()
          ? 'Intel RDT (--l3-cache-schema/--mem-bw-schema) in this build'
          : '--l3-cache-schema/--mem-bw-schema (Intel RDT is not enabled on this host)',
      );
    }
    const resources = f.resources ? fromDocument(f.resources) : fromFlags(f);
    await (await ctx.runtime()).update(id, resources);
  },
};
export default update;
