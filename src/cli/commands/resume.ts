/** `runts resume <id>`: as `runc resume` (v1 freezer, v2 cgroup.freeze). */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function resumeCommand(): Command {
  return new Command('resume')
    .description('resumes all processes that have been previously paused')
    .argument('<container-id>', 'the container instance name')
    .action(async (id: string, _o, cmd: Command) => {
      const { resumeContainer } = await import('../../container/cgroupctl.ts');
      resumeContainer(globals(cmd).root, id);
    });
}
