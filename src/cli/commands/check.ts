/**
 * `runts check`: what this host gives containers (cgroups, namespaces, seccomp, the system
 * calls runts uses, LSMs, CRIU, runts' own directories, the engines' configuration), a line
 * each, OK / WARN / FAIL, with how to fix what is not OK. Exits 1 when something FAILs.
 * runc has no such command.
 */
import type { VerbDef } from '../verb.ts';

const check: VerbDef = {
  name: 'check',
  description: 'check what this host gives containers (not in runc)',
  args: [],
  flags: [{ flags: '-f, --format <format>', description: 'select one of: text or json', choices: ['text', 'json'], default: 'text' }],
  async action(ctx, _args, o) {
    const found = await (await ctx.runtime()).check();
    const { print } = await import('../output.ts');
    if (o.format === 'json') {
      await print(`${JSON.stringify(found, null, 2)}\n`);
    } else {
      const width = Math.max(...found.map((f) => f.area.length)) + 2;
      const lines = found.map((f) => {
        const head = `${f.status.toUpperCase().padEnd(6)}${f.area.padEnd(width)}${f.detail}`;
        return f.fix ? `${head}\n${' '.repeat(6 + width)}fix: ${f.fix}` : head;
      });
      await print(`${lines.join('\n')}\n`);
    }
    if (found.some((f) => f.status === 'fail')) process.exitCode = 1;
  },
};
export default check;
