/** `runts state <id>`: the container's OCI state as JSON, as `runc state`. */
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const state: VerbDef = {
  name: 'state',
  description: 'output the state of a container',
  args: [ID_ARG],
  flags: [],
  async action(ctx, [id]) {
    const view = await (await ctx.runtime()).state(id);
    // runc: MarshalIndent with two spaces, no trailing newline.
    await (await import('../output.ts')).print(JSON.stringify(view, null, 2));
  },
};
export default state;
