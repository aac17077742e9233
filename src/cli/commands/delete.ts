/** `runts delete`: remove a stopped (or, with -f, any) container, as `runc delete`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function deleteCommand(): Command {
  return new Command('delete')
    .description('delete any resources held by the container often used with detached container')
    .argument('<container-id>', 'the container instance name')
    .option('-f, --force', 'Forcibly deletes the container if it is still running (uses SIGKILL)')
    .action(async (id: string, o: { force?: boolean }, cmd: Command) => {
      const { deleteContainer } = await import('../../container/control.ts');
      deleteContainer(globals(cmd).root, id, !!o.force);
    });
}
