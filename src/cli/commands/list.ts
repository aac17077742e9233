/** `runts list`: the containers under --root, as `runc list` prints them. */
import type { VerbDef } from '../verb.ts';

/** Go's text/tabwriter as runc sets it up: minwidth 12, padding 3, spaces. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(12, ...rows.map((r) => r[c].length + 3)));
  return rows
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join(''))
    .join('\n') + '\n';
}

const list: VerbDef = {
  name: 'list',
  description: 'lists containers started by runts with the given root',
  args: [],
  flags: [
    { flags: '-f, --format <format>', description: 'select one of: table or json', choices: ['table', 'json'], default: 'table' },
    { flags: '-q, --quiet', description: 'display only container IDs' },
  ],
  async action(ctx, _args, o) {
    const views = await (await ctx.runtime()).list();
    const { print } = await import('../output.ts');
    if (o.quiet) {
      await print(views.map((v) => `${v.id}\n`).join(''));
    } else if (o.format === 'json') {
      await print(`${views.length ? JSON.stringify(views) : 'null'}\n`);
    } else {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
      for (const v of views) rows.push([v.id, String(v.pid), v.status, v.bundle, v.created, v.owner]);
      await print(table(rows));
    }
  },
};
export default list;
