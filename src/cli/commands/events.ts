/** `runts events <id>`: stats and OOM events as JSON lines, as `runc events`. */
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const events: VerbDef = {
  name: 'events',
  description: 'display container events such as OOM notifications, cpu, memory, and IO usage statistics',
  args: [ID_ARG],
  flags: [
    { flags: '--interval <duration>', description: 'set the stats collection interval', default: '5s' },
    { flags: '--stats', description: "display the container's stats then exit" },
  ],
  async action(ctx, [id], o) {
    const [rt, { parseDuration }, { print }] = await Promise.all([
      ctx.runtime(),
      import('../../runtime/events.ts'),
      import('../output.ts'),
    ]);
    const intervalMs = parseDuration(o.interval as string);
    if (o.stats) {
      await print(`${(await rt.stats(id)).json}\n`);
      return;
    }
    for await (const ev of rt.events(id, { intervalMs })) await print(`${ev.json}\n`);
  },
};
export default events;
