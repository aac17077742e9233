/**
 * `runts ps <id> [ps options]`: the container's processes, as `runc ps`: with -f json the
 * array of pids (what containerd's shim parses); as a table, ps(1) run with the given
 * options (default -ef) and filtered to the container's processes.
 */
import { execFileSync } from 'node:child_process';
import { RuntsError } from '../../errors.ts';
import { ID_ARG, warnRootlessCgroups } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const ps: VerbDef = {
  name: 'ps',
  description: 'ps displays the processes running inside a container',
  usage: '[command options] <container-id> [ps options]',
  args: [ID_ARG, { name: '[ps-options...]', description: 'options passed to ps(1) (default -ef)' }],
  flags: [{ flags: '-f, --format <format>', description: 'select one of: table or json', choices: ['table', 'json'], default: 'table' }],
  passThrough: true,
  async action(ctx, [id, ...psArgs], o) {
    const rt = await ctx.runtime();
    await warnRootlessCgroups(rt, 'ps');
    const pids = await rt.ps(id);
    const { print } = await import('../output.ts');
    if (o.format === 'json') {
      await print(`${JSON.stringify(pids)}\n`);
      return;
    }
    let out: string;
    try {
      out = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
    } catch (e) {
      throw new RuntsError(`ps: ${(e as Error).message}`);
    }
    const lines = out.split('\n');
    const col = lines[0].trim().split(/\s+/).indexOf('PID');
    if (col < 0) throw new RuntsError("couldn't find PID field in ps output");
    const set = new Set(pids);
    const kept = lines.slice(1).filter((l) => l.trim() && set.has(Number(l.trim().split(/\s+/)[col])));
    await print(`${[lines[0], ...kept].join('\n')}\n`);
  },
};
export default ps;
