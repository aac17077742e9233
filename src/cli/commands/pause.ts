/** `runts pause <id>`: as `runc pause` (v1 freezer, v2 cgroup.freeze). */
import { ID_ARG, warnRootlessCgroups } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const pause: VerbDef = {
  name: 'pause',
  description: 'pause suspends all processes inside the container',
  args: [ID_ARG],
  flags: [],
  async action(ctx, [id]) {
    const rt = await ctx.runtime();
    await warnRootlessCgroups(rt, 'pause');
    await rt.pause(id);
  },
};
export default pause;
