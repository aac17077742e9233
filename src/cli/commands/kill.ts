/** `runts kill <id> [signal]`: signal the container's init (default SIGTERM), as `runc kill`. */
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const kill: VerbDef = {
  name: 'kill',
  description: "kill sends the specified signal (default: SIGTERM) to the container's init process",
  args: [ID_ARG, { name: '[signal]', description: 'signal name (KILL, SIGKILL) or number', default: 'SIGTERM' }],
  flags: [{ flags: '-a, --all', description: 'send the specified signal to all processes inside the container' }],
  async action(ctx, [id, sig], o) {
    await (await ctx.runtime()).kill(id, sig ?? 'SIGTERM', { all: !!o.all });
  },
};
export default kill;
