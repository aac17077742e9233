/** `runts spec`: write a starter config.json into a bundle, as `runc spec` does. */
import type { VerbDef } from '../verb.ts';

const spec: VerbDef = {
  name: 'spec',
  summary: 'create a new specification file',
  description:
    'Create a new specification file named "config.json" for the bundle: the same starter ' +
    'file runc writes. It runs "sh" in a read-only rootfs at <bundle>/rootfs; edit it (args, ' +
    'mounts, ...) before running a container. With --rootless, the file is adjusted for a ' +
    'container run by an unprivileged user (a user namespace mapping your own uid and gid, ' +
    'no network namespace, no cgroup limits).',
  args: [],
  flags: [
    { flags: '-b, --bundle <path>', description: 'path to the root of the bundle directory' },
    { flags: '--rootless', description: 'generate a configuration for a rootless container' },
  ],
  async action(_ctx, _args, o) {
    const { writeStarterSpec } = await import('../../spec/defaults.ts');
    writeStarterSpec((o.bundle as string | undefined) ?? '', { rootless: o.rootless === true });
  },
};
export default spec;
