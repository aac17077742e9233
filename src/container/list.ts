/** `list`: every container under the state root, as runc's table or JSON. */
import { readdirSync } from 'node:fs';
import { print } from '../cli/output.ts';
import { readState } from '../state/store.ts';
import { ownerName, view } from './view.ts';
import type { StateView } from './view.ts';

function ids(root: string): string[] {
  try {
    return readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** Go's text/tabwriter as runc sets it up: minwidth 12, padding 3, spaces. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(12, ...rows.map((r) => r[c].length + 3)));
  return rows
    .map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join(''))
    .join('\n') + '\n';
}

export function listContainers(root: string, opts: { format: string; quiet?: boolean }): void {
  const views: StateView[] = [];
  for (const id of ids(root)) {
    try {
      const v = view(root, readState(root, id));
      // runc fills the owner from the state directory for list (state prints the recorded one).
      views.push({ ...v, owner: ownerName(root, id) });
    } catch {
      // A directory being created or deleted concurrently: not a container (yet, or any more).
    }
  }
  if (opts.quiet) {
    print(views.map((v) => `${v.id}\n`).join(''));
  } else if (opts.format === 'json') {
    print(`${views.length ? JSON.stringify(views) : 'null'}\n`);
  } else {
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
    for (const v of views) rows.push([v.id, String(v.pid), v.status, v.bundle, v.created, v.owner]);
    print(table(rows));
  }
}
