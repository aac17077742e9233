/** `runts start`: let a created container's process run, as `runc start`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function startCommand(): Command {
  return new Command('start')
    .description('executes the user defined process in a created container')
    .argument('<container-id>', 'the container instance name')
    .action(async (id: string, _o, cmd: Command) => {
      const { startContainer } = await import('../../container/control.ts');
      startContainer(globals(cmd).root, id);
    });
}
