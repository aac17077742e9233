/** `runts delete`: remove a stopped (or, with -f, any) container, as `runc delete`. */
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const del: VerbDef = {
  name: 'delete',
  description: 'delete any resources held by the container often used with detached container',
  args: [ID_ARG],
  flags: [{ flags: '-f, --force', description: 'Forcibly deletes the container if it is still running (uses SIGKILL)' }],
  async action(ctx, [id], o) {
    await (await ctx.runtime()).delete(id, { force: !!o.force });
  },
};
export default del;
