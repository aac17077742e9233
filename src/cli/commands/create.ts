/** `runts create`: build a container whose process waits for `start`, as `runc create`. */
import { ID_ARG, parseCount } from '../verb.ts';
import type { FlagDef, Options, VerbDef } from '../verb.ts';

/** runc's flags that several verbs take (create, run, exec, restore), written once. */
export const CONSOLE_SOCKET_FLAG: FlagDef = { flags: '--console-socket <path>', description: "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal" };
export const PID_FILE_FLAG: FlagDef = { flags: '--pid-file <path>', description: 'specify the file to write the process id to' };
export const NO_SUBREAPER_FLAG: FlagDef = { flags: '--no-subreaper', description: 'disable the use of the subreaper used to reap reparented processes' };

/** The flags `create` and `run` share (runc's). */
export const BUILD_FLAGS: FlagDef[] = [
  { flags: '-b, --bundle <path>', description: 'path to the root of the bundle directory, defaults to the current directory' },
  CONSOLE_SOCKET_FLAG,
  PID_FILE_FLAG,
  { flags: '--no-pivot', description: 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk' },
  { flags: '--no-new-keyring', description: 'do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key' },
  { flags: '--preserve-fds <n>', description: 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', parse: parseCount('preserve-fds'), default: 0 },
];

/** The library's create options from the shared flags. */
export function buildOptions(o: Options) {
  return {
    bundle: o.bundle as string | undefined,
    consoleSocket: o.consoleSocket as string | undefined,
    pidFile: o.pidFile as string | undefined,
    noPivot: o.pivot === false,
    noNewKeyring: o.newKeyring === false,
    preserveFds: (o.preserveFds as number | undefined) ?? 0,
    // runc: the caller's sd_notify socket gets the container's READY= (src/runtime/notify.ts).
    notifySocket: process.env.NOTIFY_SOCKET || undefined,
  };
}

const create: VerbDef = {
  name: 'create',
  description: 'create a container',
  args: [ID_ARG],
  flags: [
    ...BUILD_FLAGS,
    { flags: '--pidfd-socket <path>', description: 'path to an AF_UNIX socket which will receive a file descriptor referencing the init process' },
  ],
  async action(ctx, [id], o) {
    await (await ctx.runtime()).create(id, { ...buildOptions(o), pidfdSocket: o.pidfdSocket as string | undefined });
  },
};
export default create;
