/** `runts update <id>`: change a running container's resources, as `runc update`. */
import { Command } from 'commander';
import { globals } from '../globals.ts';

export default function updateCommand(): Command {
  return new Command('update')
    .description('update container resource constraints')
    .argument('<container-id>', 'the container instance name')
    .option('-r, --resources <path>', "path to the file containing the resources to update or '-' to read from the standard input")
    .option('--blkio-weight <n>', 'Specifies per cgroup weight, range is from 10 to 1000')
    .option('--cpu-period <n>', 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default')
    .option('--cpu-quota <n>', 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period')
    .option('--cpu-burst <n>', 'CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period')
    .option('--cpu-share <n>', 'CPU shares (relative weight vs. other containers)')
    .option('--cpu-rt-period <n>', 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default')
    .option('--cpu-rt-runtime <n>', 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period')
    .option('--cpuset-cpus <list>', 'CPU(s) to use')
    .option('--cpuset-mems <list>', 'Memory node(s) to use')
    .option('--cpu-idle <n>', 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE')
    .option('--memory <bytes>', 'Memory limit (in bytes)')
    .option('--memory-reservation <bytes>', 'Memory reservation or soft_limit (in bytes)')
    .option('--memory-swap <bytes>', "Total memory usage (memory + swap); set '-1' to enable unlimited swap")
    .option('--pids-limit <n>', 'Maximum number of pids allowed in the container')
    .option('--l3-cache-schema <schema>', 'The string of Intel RDT/CAT L3 cache schema')
    .option('--mem-bw-schema <schema>', 'The string of Intel RDT/MBA memory bandwidth schema')
    .action(async (id: string, o, cmd: Command) => {
      const { updateContainer } = await import('../../container/cgroupctl.ts');
      updateContainer(globals(cmd).root, id, o);
    });
}
