/**
 * `runts restore <id>`: a new container from the bundle, its process restored from a
 * checkpoint by CRIU, as `runc restore`. In the foreground runts relays signals to it,
 * proxies its terminal (a terminal container without --console-socket) and exits with its
 * status, then deletes it; with -d it returns once the process runs again.
 */
import { CRIU_FLAGS, criuOptions } from './checkpoint.ts';
import { ID_ARG } from '../verb.ts';
import { CONSOLE_SOCKET_FLAG, NO_SUBREAPER_FLAG, PID_FILE_FLAG } from './create.ts';
import type { VerbDef } from '../verb.ts';

const restore: VerbDef = {
  name: 'restore',
  description: 'restore a container from a previous checkpoint',
  args: [ID_ARG],
  flags: [
    CONSOLE_SOCKET_FLAG,
    { flags: '--image-path <path>', description: 'path to criu image files for restoring' },
    ...CRIU_FLAGS,
    { flags: '-b, --bundle <path>', description: 'path to the root of the bundle directory' },
    { flags: '-d, --detach', description: "detach from the container's process" },
    PID_FILE_FLAG,
    NO_SUBREAPER_FLAG,
    // runc takes it too; CRIU enters the rootfs by itself, so it changes nothing here.
    { flags: '--no-pivot', description: 'do not use pivot root to jail process inside rootfs (accepted as runc does: CRIU enters the rootfs itself)' },
    { flags: '--lsm-profile <type:name>', description: 'Specify an LSM profile to be used during restore in the form of TYPE:NAME.' },
    { flags: '--lsm-mount-context <context>', description: 'Specify an LSM mount context to be used during restore.' },
  ],
  async action(ctx, [id], o) {
    const rt = await ctx.runtime();
    const options = {
      ...criuOptions(o),
      bundle: o.bundle as string | undefined,
      consoleSocket: o.consoleSocket as string | undefined,
      pidFile: o.pidFile as string | undefined,
      lsmProfile: o.lsmProfile as string | undefined,
      lsmMountContext: o.lsmMountContext as string | undefined,
    };
    if (o.detach) {
      await rt.restoreDetached(id, options);
      return;
    }
    const { foreground } = await import('../foreground.ts');
    process.exitCode = await foreground((onCreated) => rt.restore(id, { ...options, subreaper: o.subreaper !== false, onCreated }));
  },
};
export default restore;
