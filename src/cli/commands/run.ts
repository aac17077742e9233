/**
 * `runts run`: create and run a container, as `runc run`. In the foreground runts relays
 * signals to the container, proxies its terminal (process.terminal without a console socket)
 * and exits with its status (128+N when signal N killed it); with -d it returns at once.
 */
import { BUILD_FLAGS, NO_SUBREAPER_FLAG, buildOptions } from './create.ts';
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const run: VerbDef = {
  name: 'run',
  description: 'create and run a container',
  args: [ID_ARG],
  flags: [
    ...BUILD_FLAGS,
    { flags: '-d, --detach', description: "detach from the container's process" },
    { flags: '--keep', description: 'do not delete the container after it exits' },
    NO_SUBREAPER_FLAG,
  ],
  async action(ctx, [id], o) {
    const rt = await ctx.runtime();
    if (o.detach) {
      await rt.runDetached(id, buildOptions(o));
      return;
    }
    const { foreground } = await import('../foreground.ts');
    process.exitCode = await foreground((onCreated) =>
      rt.run(id, { ...buildOptions(o), keep: !!o.keep, subreaper: o.subreaper !== false, onCreated }),
    );
  },
};
export default run;
