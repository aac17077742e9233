// Looking for what a stress run left behind: processes, state entries, mounts
// and cgroups. Each scan returns descriptions, so the stress test can count
// them, print them and then clean them up.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { mountsUnder, procStat } from '../integration/helpers.ts';

export interface ProcInfo {
  pid: number;
  state: string;
  comm: string;
  why: string;
}

function readlink(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Whether `ancestor` is a (transitive) parent of `pid`. */
function descendsFrom(pid: number, ancestor: number): boolean {
  for (let p = pid, n = 0; p > 1 && n < 64; n++) {
    const st = procStat(p);
    if (!st) return false;
    if (st.ppid === ancestor) return true;
    p = st.ppid;
  }
  return false;
}

export interface ProcessScan {
  /** Directory holding every bundle of the run. */
  dir: string;
  /** The rootfs directories: a process whose root is one of them is in a container. */
  rootfses: string[];
  /** Pids recorded during the run (from pid files), with their start times. */
  recorded: Map<number, string>;
  /** Runtime-named processes (runc:[2:INIT], runts:...) are only counted when
   * they descend from this pid (our subreaper): other people's containers on
   * the same machine are not ours to report. */
  ancestor: number | undefined;
  /** Our own pid, never reported. */
  self: number;
}

/**
 * Processes the run left: whose root is one of the rootfses (same dev/inode,
 * whatever their mount namespace) or whose cwd or root path lies under `dir`,
 * or whose pid and start time were recorded, or (below `ancestor`) that are
 * named like a runtime's stage (`runc:[1:CHILD]`, `runts:...`, `runc init`).
 * Zombies are included, with state Z: they are still a pid that was not reaped.
 */
export function leftoverProcesses(s: ProcessScan): ProcInfo[] {
  const roots = s.rootfses
    .map((r) => {
      try {
        return fs.statSync(r);
      } catch {
        return undefined;
      }
    })
    .filter((x): x is fs.Stats => x !== undefined);
  const out: ProcInfo[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === s.self) continue;
    const st = procStat(pid);
    if (!st) continue;
    const name = comm(pid);
    const why: string[] = [];
    if (s.recorded.get(pid) === st.startTime) why.push('recorded pid');
    try {
      const rs = fs.statSync(`/proc/${pid}/root`);
      if (roots.some((r) => r.dev === rs.dev && r.ino === rs.ino)) why.push('root is a rootfs');
    } catch {
      // zombie or gone
    }
    for (const link of ['cwd', 'root']) {
      const target = readlink(`/proc/${pid}/${link}`);
      if (target && (target === s.dir || target.startsWith(s.dir + '/'))) why.push(`${link} under the bundles`);
    }
    if (/^(runc|runts)(:|$)/.test(name) || /^(runc|runts) init/.test(name)) {
      if (s.ancestor !== undefined && descendsFrom(pid, s.ancestor)) why.push('runtime-named');
    }
    if (why.length > 0) out.push({ pid, state: st.state, comm: name, why: why.join(', ') });
  }
  return out;
}

/** Entries under the runtime's --root. */
export function leftoverState(root: string): string[] {
  try {
    return fs.readdirSync(root);
  } catch {
    return [];
  }
}

/** Mount points at or under `dir`. */
export function leftoverMounts(dir: string): string[] {
  return mountsUnder(dir).map((m) => m.mountPoint);
}

/** Directories anywhere under /sys/fs/cgroup/<hierarchy>/ whose name is one
 * of `ids` (runc makes <hierarchy>/<id> or <hierarchy>/<our cgroup>/<id>; the
 * walk does not assume which). Deepest first, so they can be rmdir'd in order. */
export function leftoverCgroups(ids: Set<string>, base = '/sys/fs/cgroup'): string[] {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    if (depth > 12) return;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of entries) {
      if (!d.isDirectory()) continue;
      const p = path.join(dir, d.name);
      walk(p, depth + 1);
      if (ids.has(d.name)) found.push(p);
    }
  };
  walk(base, 0);
  return found;
}
