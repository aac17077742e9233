/** `runts list`: the containers under --root, as `runc list` prints them. */
import { Command, Option } from 'commander';
import { globals } from '../globals.ts';

export default function listCommand(): Command {
  return new Command('list')
    .description('lists containers started by runts with the given root')
    .addOption(new Option('-f, --format <format>', 'select one of: table or json').choices(['table', 'json']).default('table'))
    .option('-q, --quiet', 'display only container IDs')
    .action(async (opts: { format: string; quiet?: boolean }, cmd: Command) => {
      const { listContainers } = await import('../../container/list.ts');
      listContainers(globals(cmd).root, opts);
    });
}
