/** `runts spec`: write a starter config.json into a bundle, as `runc spec` does. */
import { Command } from 'commander';

export default function specCommand(): Command {
  return new Command('spec')
    .summary('create a new specification file')
    .description(
      'Create a new specification file named "config.json" for the bundle: the same starter ' +
        'file runc writes. It runs "sh" in a read-only rootfs at <bundle>/rootfs; edit it (args, ' +
        'mounts, ...) before running a container. With --rootless, the file is adjusted for a ' +
        'container run by an unprivileged user (a user namespace mapping your own uid and gid, ' +
        'no network namespace, no cgroup limits).',
    )
    .option('-b, --bundle <path>', 'path to the root of the bundle directory')
    .option('--rootless', 'generate a configuration for a rootless container')
    .action(async (opts: { bundle?: string; rootless?: boolean }) => {
      const { writeStarterSpec } = await import('../../spec/defaults.ts');
      writeStarterSpec(opts.bundle ?? '', { rootless: opts.rootless === true });
    });
}
