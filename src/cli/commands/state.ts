/** `runts state <id>`: the container's OCI state as JSON, as `runc state`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function stateCommand(): Command {
  return new Command('state')
    .description('output the state of a container')
    .argument('<container-id>', 'the container instance name')
    .action(async (id: string, _opts, cmd: Command) => {
      const { printState } = await import('../../container/view.ts');
      printState(globals(cmd).root, id);
    });
}
