/** `runts run`: create and run a container in the foreground, as `runc run`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function runCommand(): Command {
  return new Command('run')
    .description('create and run a container')
    .argument('<container-id>', 'the container instance name')
    .option('-b, --bundle <path>', 'path to the root of the bundle directory, defaults to the current directory')
    .option('--console-socket <path>', "path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal")
    .option('-d, --detach', "detach from the container's process")
    .option('--keep', 'do not delete the container after it exits')
    .option('--pid-file <path>', 'specify the file to write the process id to')
    .option('--no-subreaper', 'disable the use of the subreaper used to reap reparented processes')
    .option('--no-pivot', 'do not use pivot root to jail process inside rootfs.  This should be used whenever the rootfs is on top of a ramdisk')
    .option('--no-new-keyring', 'do not create a new session keyring for the container.  This will cause the container to inherit the calling processes session key')
    .option('--preserve-fds <n>', 'Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)', (v) => parseCount(v), 0)
    .action(async (id: string, opts, cmd: Command) => {
      const { runVerb } = await import('../../container/run.ts');
      process.exitCode = await runVerb(globals(cmd), id, opts);
    });
}

export function parseCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`invalid value "${v}" for flag --preserve-fds`);
  return n;
}
