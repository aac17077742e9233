/** `runts kill <id> [signal]`: signal the container's init (default SIGTERM), as `runc kill`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function killCommand(): Command {
  return new Command('kill')
    .description("kill sends the specified signal (default: SIGTERM) to the container's init process")
    .argument('<container-id>', 'the container instance name')
    .argument('[signal]', 'signal name (KILL, SIGKILL) or number', 'SIGTERM')
    .option('-a, --all', 'send the specified signal to all processes inside the container')
    .action(async (id: string, sig: string, o: { all?: boolean }, cmd: Command) => {
      const { killContainer } = await import('../../container/control.ts');
      killContainer(globals(cmd).root, id, sig, !!o.all);
    });
}
