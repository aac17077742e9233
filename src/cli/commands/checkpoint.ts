/** `runts checkpoint <id>`: CRIU dumps the running container, as `runc checkpoint`. */
import { ID_ARG } from '../verb.ts';
import type { FlagDef, Options, VerbDef } from '../verb.ts';

/** The CRIU flags `checkpoint` and `restore` share (runc's). */
export const CRIU_FLAGS: FlagDef[] = [
  { flags: '--work-path <path>', description: 'path for saving work files and logs' },
  { flags: '--tcp-established', description: 'allow open tcp connections' },
  { flags: '--ext-unix-sk', description: 'allow external unix sockets' },
  { flags: '--shell-job', description: 'allow shell jobs' },
  { flags: '--lazy-pages', description: 'use userfaultfd to lazily restore memory pages' },
  { flags: '--file-locks', description: 'handle file locks, for safety' },
  { flags: '--manage-cgroups-mode <mode>', description: 'cgroups mode: soft|full|strict|ignore (default: soft)' },
  { flags: '--empty-ns <ns>', description: "create a namespace, but don't restore its properties", repeat: true },
  { flags: '--auto-dedup', description: 'enable auto deduplication of memory images' },
];

/** The library's CRIU options from the shared flags. */
export function criuOptions(o: Options) {
  return {
    imagePath: o.imagePath as string | undefined,
    workPath: o.workPath as string | undefined,
    tcpEstablished: !!o.tcpEstablished,
    extUnixSk: !!o.extUnixSk,
    shellJob: !!o.shellJob,
    lazyPages: !!o.lazyPages,
    fileLocks: !!o.fileLocks,
    manageCgroupsMode: o.manageCgroupsMode as string | undefined,
    emptyNs: o.emptyNs as string[],
    autoDedup: !!o.autoDedup,
  };
}

/** runc's IntFlag: a decimal integer, negative allowed. */
function parseFd(v: string): number {
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new Error(`invalid value "${v}" for flag --status-fd`);
  return Number(v);
}

const checkpoint: VerbDef = {
  name: 'checkpoint',
  description: 'checkpoint a running container',
  args: [ID_ARG],
  flags: [
    { flags: '--image-path <path>', description: 'path for saving criu image files' },
    { flags: '--parent-path <path>', description: 'path for previous criu image files in pre-dump' },
    { flags: '--leave-running', description: 'leave the process running after checkpointing' },
    { flags: '--status-fd <fd>', description: 'criu writes \\0 to this FD once lazy-pages is ready', parse: parseFd, default: -1 },
    { flags: '--page-server <address:port>', description: 'ADDRESS:PORT of the page server' },
    { flags: '--pre-dump', description: "dump container's memory information only, leave the container running after this" },
    ...CRIU_FLAGS,
  ],
  async action(ctx, [id], o) {
    await (await ctx.runtime()).checkpoint(id, {
      ...criuOptions(o),
      parentPath: o.parentPath as string | undefined,
      leaveRunning: !!o.leaveRunning,
      statusFd: o.statusFd as number,
      pageServer: o.pageServer as string | undefined,
      preDump: !!o.preDump,
    });
  },
};
export default checkpoint;
