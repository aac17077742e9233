/** `runts features`: what this build supports, as runtime-spec features.md (and `runc features`). */
import type { VerbDef } from '../verb.ts';

const features: VerbDef = {
  name: 'features',
  description: 'show the enabled features',
  args: [],
  flags: [],
  async action(ctx) {
    const f = await (await ctx.runtime()).features();
    await (await import('../output.ts')).print(`${JSON.stringify(f, null, 4)}\n`);
  },
};
export default features;
