/** `runts events <id>`: stats and OOM events as JSON lines, as `runc events`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function eventsCommand(): Command {
  return new Command('events')
    .description('display container events such as OOM notifications, cpu, memory, and IO usage statistics')
    .argument('<container-id>', 'the container instance name')
    .option('--interval <duration>', 'set the stats collection interval', '5s')
    .option('--stats', "display the container's stats then exit")
    .action(async (id: string, o: { interval: string; stats?: boolean }, cmd: Command) => {
      const { parseDuration, streamEvents } = await import('../../container/events.ts');
      await streamEvents(globals(cmd).root, id, !!o.stats, parseDuration(o.interval));
    });
}
