/** `list`: every container under the root, as runc lists them (node:fs: it reads directories). */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { nodeFiles } from '../state/node-files.ts';
import { readState, stateDir } from '../state/store.ts';
import { view } from './state.ts';
import type { StateView } from './state.ts';

/** `list` shows the owner of the state directory by name (runc: user.LookupId, else #uid). */
export function ownerName(root: string, id: string): string {
  const uid = statSync(stateDir(root, id)).uid;
  if (uid === 0) return 'root';
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , u] = line.split(':');
      if (Number(u) === uid && u !== '') return name;
    }
  } catch {
    // no /etc/passwd
  }
  return `#${uid}`;
}

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

/** `list`: every container under the root, sorted by id, with the owner of its directory. */
export function listStates(root: string): StateView[] {
  const views: StateView[] = [];
  for (const id of ids(root)) {
    try {
      const v = view(nodeFiles, root, readState(nodeFiles, root, id));
      // runc fills the owner from the state directory for list (state prints the recorded one).
      views.push({ ...v, owner: ownerName(root, id) });
    } catch {
      // A directory being created or deleted concurrently: not a container (yet, or any more).
    }
  }
  return views;
}
