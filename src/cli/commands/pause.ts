/** `runts pause <id>`: as `runc pause` (v1 freezer, v2 cgroup.freeze). */
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const pause: VerbDef = {
  name: 'pause',
  description: 'pause suspends all processes inside the container',
  args: [ID_ARG],
  flags: [],
  async action(ctx, [id]) {
    await (await ctx.runtime()).pause(id);
  },
};
export default pause;
