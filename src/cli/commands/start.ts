/** `runts start`: let a created container's process run, as `runc start`. */
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const start: VerbDef = {
  name: 'start',
  description: 'executes the user defined process in a created container',
  args: [ID_ARG],
  flags: [],
  async action(ctx, [id]) {
    // With $NOTIFY_SOCKET, returns once the container's READY= is relayed there (runc).
    await (await ctx.runtime()).start(id, { notifySocket: process.env.NOTIFY_SOCKET || undefined });
  },
};
export default start;
