// The least a compiled Bun binary can do for `state ROOT ID` with runts's addon: bench/scale.sh
// builds it beside a copy of the addon (./runts.node, embedded as runts embeds it) and times
// it next to each runtime's `state`. It maps the record (Bun.mmap: free), reads the init's
// /proc/<pid>/stat through the addon (a procfs file cannot be mapped, Bun.file's first read
// starts a thread pool, and node:fs costs more than the addon: docs/benchmarks.md) and prints
// runc's JSON. Not runts's code: no flags, no validation, no log, no library. What runts's
// `state` costs beyond this is its own; what this costs beyond the empty binary, any Bun
// `state` built on the addon pays.
declare const Bun: { mmap(path: string): Uint8Array; write(dest: unknown, data: string): Promise<number>; stdout: unknown };
declare const require: (id: string) => { readText(path: string): string | null; pathExists(path: string): boolean };
const addon = require('./runts.node');
const [root, id] = process.argv.slice(2);
const s = JSON.parse(new TextDecoder().decode(Bun.mmap(`${root}/${id}/state.json`)));
let status = 'stopped';
const stat = addon.readText(`/proc/${s.pid}/stat`);
if (stat) {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (f[0] !== 'Z' && f[0] !== 'X' && Number(f[19]) === s.initStartTime) {
    status = addon.pathExists(`${root}/${id}/exec.fifo`) ? 'created' : 'running';
  }
}
const view = { ociVersion: s.ociVersion, id, pid: status === 'stopped' ? 0 : s.pid, status, bundle: s.bundle, rootfs: s.rootfs, created: s.created, owner: s.owner };
await Bun.write(Bun.stdout, JSON.stringify(view, null, 2));
