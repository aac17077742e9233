/** `runts state <id>`: the container's OCI state as JSON, as `runc state`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function stateCommand(): Command {
  return new Command('state')
    .description('output the state of a container')
    .argument('<container-id>', 'the container instance name')
    .action(async (id: string, _opts, cmd: Command) => {
      const [{ readState }, { view }, { print }, { validateId }] = await Promise.all([
        import('../../state/store.ts'),
        import('../../container/view.ts'),
        import('../output.ts'),
        import('../../state/id.ts'),
      ]);
      const root = globals(cmd).root;
      // runc prints the JSON without a trailing newline.
      print(JSON.stringify(view(root, readState(root, validateId(id))), null, 2));
    });
}
