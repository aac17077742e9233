/** `runts create`: build a container whose process waits for `start`, as `runc create`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';
import { parseCount } from './run.ts';

export default function createCommand(): Command {
  return new Command('create')
    .description('create a container')
    .argument('<container-id>', 'the container instance name')
    .option('-b, --bundle <path>', 'path to the root of the bundle directory, defaults to the current directory')
    .option('--console-socket <path>', "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
    .option('--pid-file <path>', 'specify the file to write the process id to')
    .option('--no-pivot', 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk')
    .option('--no-new-keyring', 'do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key')
    .option('--preserve-fds <n>', 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', parseCount, 0)
    .option('--pidfd-socket <path>', 'path to an AF_UNIX socket which will receive a file descriptor referencing the init process')
    .action(async (id: string, o, cmd: Command) => {
      const { createDetached } = await import('../../container/detached.ts');
      await createDetached(globals(cmd), id, {
        bundle: o.bundle,
        consoleSocket: o.consoleSocket,
        pidFile: o.pidFile,
        noPivot: !o.pivot,
        noNewKeyring: !o.newKeyring,
        preserveFds: o.preserveFds,
        pidfdSocket: o.pidfdSocket,
      });
    });
}
