/** `runts pause <id>`: as `runc pause` (v1 freezer, v2 cgroup.freeze). */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function pauseCommand(): Command {
  return new Command('pause')
    .description('pause suspends all processes inside the container')
    .argument('<container-id>', 'the container instance name')
    .action(async (id: string, _o, cmd: Command) => {
      const { pauseContainer } = await import('../../container/cgroupctl.ts');
      pauseContainer(globals(cmd).root, id);
    });
}
