/** `runts ps <id> [ps options]`: the container's processes, as `runc ps`. */
import { Command, Option } from 'commander';
import { globals } from '../globals.ts';

export default function psCommand(): Command {
  return new Command('ps')
    .description('ps displays the processes running inside a container')
    .usage('[command options] <container-id> [ps options]')
    .addOption(new Option('-f, --format <format>', 'select one of: table or json').choices(['table', 'json']).default('table'))
    .argument('<container-id>', 'the container instance name')
    .argument('[ps-options...]', 'options passed to ps(1) (default -ef)')
    .passThroughOptions()
    .action(async (id: string, psArgs: string[], o: { format: string }, cmd: Command) => {
      const { psContainer } = await import('../../container/cgroupctl.ts');
      psContainer(globals(cmd).root, id, o.format, psArgs);
    });
}
