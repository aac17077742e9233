/** `runts start`: let a created container's process run, as `runc start`. */
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const start: VerbDef = {
  name: 'start',
  description: 'executes the user defined process in a created container',
  args: [ID_ARG],
  flags: [],
  async action(ctx, [id]) {
    await (await ctx.runtime()).start(id);
  },
};
export default start;
