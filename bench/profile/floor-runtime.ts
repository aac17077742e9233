// The floor runtime: the least a runtime built on Bun and runts's addon does for each call the
// harness makes (bench/harness.c: run, create, start, delete, state, kill, exec), timed by
// bench/run.sh as a runtime of its own beside runts, runc and crun. Compiled with the addon
// beside it (./runts.node, embedded as runts embeds it) and started with
// `<binary>.json` next to it: runts's spec pipeline's output for the bench bundle
// (./floor-config.ts). It parses no flags beyond the harness's shapes, validates nothing,
// converts nothing, keeps no lock, writes one state record, logs nothing and has no library:
// what it costs is Bun, the addon's load and the core's work (the container set-up, the
// cgroups), so runts's time beyond it is runts's TypeScript, and its own time beyond crun's
// is Bun's and the core's. Not for use: no error is handled beyond failing the call.
declare const Bun: { mmap(path: string): Uint8Array; write(dest: unknown, data: string): Promise<number>; stdout: unknown };
declare const require: (id: string) => Addon;

interface Init {
  pid: number;
  startTime: number;
}
interface CgroupPath {
  subsystem: string;
  path: string;
}
interface Spawned {
  init: Init;
  syncFd: number;
  cgroupPaths: CgroupPath[];
}
interface Addon {
  readText(path: string): string | null;
  pathExists(path: string): boolean;
  makeDir(path: string, mode: number, parents: boolean): void;
  removePath(path: string, tree: boolean): void;
  writeReplace(path: string, tmp: string, text: string, mode: number): void;
  create(config: unknown, options: unknown): Spawned;
  exec(config: unknown, options: unknown): Spawned;
  release(syncFd: number, init: Init, memoryDir?: string): void;
  start(syncFd: number): void;
  startFifo(path: string, init: Init, timeoutMs: number): void;
  waitExit(pid: number, killRest: boolean): Promise<{ code: number | null; signal: number | null }>;
  signalInit(init: Init, sig: number): boolean;
  waitGone(init: Init, timeoutMs: number): boolean;
  cgroupDestroy(id: string, saved: unknown): void;
}
interface State {
  id: string;
  init: Init;
  rootfs: string;
  bundle: string;
  cgroup: { driver: string; cgroupsPath: string; rootless: boolean; paths: CgroupPath[]; resources: object };
}

const addon = require('./runts.node');
const args = process.argv.slice(2);
const root = args[1];
const verb = args[2];
const rest = args.slice(3);
const json = (path: string) => JSON.parse(new TextDecoder().decode(Bun.mmap(path)));
const dirOf = (id: string) => `${root}/${id}`;
const stateOf = (id: string): State | undefined => (addon.pathExists(`${dirOf(id)}/state.json`) ? json(`${dirOf(id)}/state.json`) : undefined);
const alive = (s: State) => {
  const stat = addon.readText(`/proc/${s.init.pid}/stat`);
  if (!stat) return false;
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return f[0] !== 'Z' && f[0] !== 'X' && Number(f[19]) === s.init.startTime;
};
const opt = (name: string) => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};
const id = rest[rest.length - 1];

function create(fifo: string | undefined): { s: State; syncFd: number } {
  const { config } = json(`${process.execPath}.json`);
  config.id = id;
  config.cgroup.id = id;
  addon.makeDir(root, 0o711, true);
  addon.makeDir(dirOf(id), 0o711, false);
  const opts = { noPivot: false, noNewKeyring: false, preserveFds: 0, execFifo: fifo, subreaper: !fifo };
  const sp = addon.create(config, opts);
  const s: State = {
    id,
    init: sp.init,
    rootfs: config.rootfs,
    bundle: config.bundle,
    cgroup: { driver: 'cgroupfs', cgroupsPath: config.cgroup.cgroupsPath, rootless: false, paths: sp.cgroupPaths, resources: {} },
  };
  addon.writeReplace(`${dirOf(id)}/state.json`, `${dirOf(id)}/.state.json`, JSON.stringify(s), 0o600);
  return { s, syncFd: sp.syncFd };
}

function remove(s: State) {
  addon.cgroupDestroy(s.id, s.cgroup);
  addon.removePath(dirOf(s.id), true);
}

let code = 0;
if (verb === 'state') {
  const s = stateOf(id)!;
  const status = !alive(s) ? 'stopped' : addon.pathExists(`${dirOf(id)}/exec.fifo`) ? 'created' : 'running';
  await Bun.write(Bun.stdout, JSON.stringify({ id, pid: s.init.pid, status, bundle: s.bundle, rootfs: s.rootfs }, null, 2));
} else if (verb === 'kill') {
  const signals: Record<string, number> = { CONT: 18, KILL: 9, TERM: 15 };
  if (!addon.signalInit(stateOf(rest[0])!.init, signals[rest[1] ?? 'TERM'] ?? Number(rest[1]))) code = 1;
} else if (verb === 'create') {
  const fifo = `${dirOf(id)}/exec.fifo`;
  const { s, syncFd } = create(fifo);
  const pidFile = opt('--pid-file');
  if (pidFile) addon.writeReplace(pidFile, `${pidFile}.tmp`, String(s.init.pid), 0o644);
  const mem = s.cgroup.paths.find((c) => c.subsystem === 'memory') ?? s.cgroup.paths.find((c) => c.subsystem === '');
  addon.release(syncFd, s.init, mem?.path);
} else if (verb === 'start') {
  const fifo = `${dirOf(id)}/exec.fifo`;
  addon.startFifo(fifo, stateOf(id)!.init, 30_000);
  addon.removePath(fifo, false);
} else if (verb === 'delete') {
  const s = stateOf(id);
  if (s) {
    if (alive(s) && addon.signalInit(s.init, 9)) addon.waitGone(s.init, 10_000);
    remove(s);
  } else if (addon.pathExists(dirOf(id))) {
    addon.removePath(dirOf(id), true);
  }
} else if (verb === 'run') {
  const { s, syncFd } = create(undefined);
  addon.start(syncFd);
  const exit = await addon.waitExit(s.init.pid, true);
  remove(s);
  code = exit.signal != null ? 128 + exit.signal : (exit.code ?? 0);
} else if (verb === 'exec') {
  const s = stateOf(rest[0])!;
  const { exec: config } = json(`${process.execPath}.json`);
  config.id = s.id;
  config.process.args = rest.slice(1);
  const target = { pid: s.init.pid, startTime: s.init.startTime, cgroupDirs: s.cgroup.paths.map((p) => p.path) };
  const sp = addon.exec(config, { noPivot: false, noNewKeyring: false, preserveFds: 0, subreaper: true, exec: target });
  addon.start(sp.syncFd);
  const exit = await addon.waitExit(sp.init.pid, false);
  code = exit.signal != null ? 128 + exit.signal : (exit.code ?? 0);
} else {
  code = 2;
}
process.exit(code);
