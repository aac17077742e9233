/**
 * `runts exec <id> [command...]`: a new process in a running container, as `runc exec`. In
 * the foreground runts relays signals to it, proxies a terminal it allocated (--tty without
 * --console-socket) and exits with its status (128+N when signal N killed it); with -d it
 * returns once the process has exec'd. Any failure of the exec itself exits 255 (runc's
 * convention, which Docker and containerd rely on: src/cli/sink.ts).
 */
import { RuntsError } from '../../errors.ts';
import { ID_ARG, parseCount } from '../verb.ts';
import { CONSOLE_SOCKET_FLAG, NO_SUBREAPER_FLAG, PID_FILE_FLAG } from './create.ts';
import type { Options, VerbDef } from '../verb.ts';
import { map } from '../../lists.ts';

/** runc: `--user uid[:gid]`, numbers only. */
function parseUser(u: string): { uid: number; gid?: number } {
  const [uid, gid] = u.split(/:(.*)/s);
  const int = (v: string, what: string) => {
    if (!/^[+-]?\d+$/.test(v)) throw new RuntsError(`parsing ${v} as int for ${what} failed: invalid syntax`);
    const n = Number(v);
    if (n < 0 || n > 0xffffffff) throw new RuntsError(`${what} ${v} is out of range`);
    return n;
  };
  return gid === undefined ? { uid: int(uid, 'uid') } : { gid: int(gid, 'gid'), uid: int(uid, 'uid') };
}

function parseGid(v: string): number {
  const n = Number(v);
  if (!/^[+-]?\d+$/.test(v) || !Number.isSafeInteger(n)) throw new RuntsError(`invalid value "${v}" for flag --additional-gids`);
  if (n < 0) throw new RuntsError(`additional-gids must be a positive number ${n}`);
  return n;
}

/** The --process file, parsed (its JSON errors name the line and column, as config.json's). */
async function readProcessFile(path: string): Promise<unknown> {
  const [{ addonFiles }, { parseSpecText }] = await Promise.all([import('../../native/index.ts'), import('../../spec/load.ts')]);
  const text = addonFiles.read(path);
  if (text === undefined) throw new RuntsError(`open ${path}: no such file or directory`);
  return parseSpecText(text, path);
}

const exec: VerbDef = {
  name: 'exec',
  description: 'execute new process inside the container',
  usage: '[command options] <container-id> <command> [command options]  || -p process.json <container-id>',
  args: [ID_ARG, { name: '[command...]', description: 'the command to run in the container' }],
  passThrough: true,
  flags: [
    CONSOLE_SOCKET_FLAG,
    { flags: '--pidfd-socket <path>', description: 'path to an AF_UNIX socket which will receive a file descriptor referencing the exec process' },
    { flags: '--cwd <path>', description: 'current working directory in the container' },
    { flags: '-e, --env <env>', description: 'set environment variables', repeat: true },
    { flags: '-t, --tty', description: 'allocate a pseudo-TTY' },
    { flags: '-u, --user <uid[:gid]>', description: 'UID (format: <uid>[:<gid>])' },
    { flags: '-g, --additional-gids <gid>', description: 'additional gids', repeat: true },
    { flags: '-p, --process <path>', description: 'path to the process.json' },
    { flags: '-d, --detach', description: "detach from the container's process" },
    PID_FILE_FLAG,
    { flags: '--process-label <label>', description: 'set the asm process label for the process commonly used with selinux' },
    { flags: '--apparmor <profile>', description: 'set the apparmor profile for the process' },
    { flags: '--no-new-privs', description: 'set the no new privileges value for the process' },
    { flags: '-c, --cap <cap>', description: 'add a capability to the bounding set for the process', repeat: true },
    { flags: '--preserve-fds <n>', description: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', parse: parseCount('preserve-fds'), default: 0 },
    { flags: '--cgroup <path>', description: 'run the process in an (existing) sub-cgroup(s). Format is [<controller>:]<cgroup>.', repeat: true },
    { flags: '--ignore-paused', description: 'allow exec in a paused container' },
    NO_SUBREAPER_FLAG,
  ],
  async action(ctx, [id, ...command], o) {
    const rt = await ctx.runtime();
    const what = await processOptions(command, o);
    const how = {
      consoleSocket: o.consoleSocket as string | undefined,
      pidfdSocket: o.pidfdSocket as string | undefined,
      preserveFds: (o.preserveFds as number | undefined) ?? 0,
      cgroup: o.cgroup as string[],
      ignorePaused: !!o.ignorePaused,
      pidFile: o.pidFile as string | undefined,
    };
    if (o.detach) {
      await rt.exec(id, { ...what, ...how });
      return;
    }
    const { foreground } = await import('../foreground.ts');
    process.exitCode = await foreground((onCreated) =>
      rt.exec(id, { ...what, ...how, subreaper: o.subreaper !== false, onCreated }),
    );
  },
};

/** The process: the --process file whole, or the command and the flags that change it. */
async function processOptions(command: string[], o: Options) {
  if (o.process) {
    return { process: await readProcessFile(o.process as string) };
  }
  if (command.length === 0) throw new RuntsError('exec: no command given (a command, or -p process.json)');
  return {
    args: command,
    cwd: o.cwd as string | undefined,
    env: o.env as string[],
    tty: !!o.tty,
    user: o.user ? parseUser(o.user as string) : undefined,
    additionalGids: map(o.additionalGids as string[], parseGid),
    capabilities: o.cap as string[],
    noNewPrivileges: o.newPrivs === false ? true : undefined,
    apparmorProfile: o.apparmor as string | undefined,
    selinuxLabel: o.processLabel as string | undefined,
  };
}

export default exec;
