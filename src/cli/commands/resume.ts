/** `runts resume <id>`: as `runc resume`. */
import { ID_ARG, warnRootlessCgroups } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const resume: VerbDef = {
  name: 'resume',
  description: 'resumes all processes that have been previously paused',
  args: [ID_ARG],
  flags: [],
  async action(ctx, [id]) {
    const rt = await ctx.runtime();
    await warnRootlessCgroups(rt, 'resume');
    await rt.resume(id);
  },
};
export default resume;
