/** The OCI state of a container as runc reports it for `state` and `list`. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { statusOf } from '../state/status.ts';
import type { Status } from '../state/status.ts';
import { nodeFiles } from '../state/node-files.ts';
import { readState, stateDir } from '../state/store.ts';
import { validateId } from '../state/id.ts';
import type { ContainerState } from '../state/store.ts';

/** runc's `state` JSON, field for field and in its order. */
export interface StateView {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

export function view(root: string, s: ContainerState): StateView {
  const status = statusOf(nodeFiles, root, s);
  const v: StateView = {
    ociVersion: s.ociVersion,
    id: s.id,
    // runc reports pid 0 once the container has stopped.
    pid: status === 'stopped' ? 0 : s.pid,
    status,
    bundle: s.bundle,
    rootfs: s.rootfs,
    created: s.created,
    annotations: sortedAnnotations(s.annotations),
    owner: s.owner,
  };
  if (!v.annotations) delete v.annotations;
  return v;
}

/** Go's encoding/json prints map keys sorted; runc's annotations are a map. */
function sortedAnnotations(a: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!a || !Object.keys(a).length) return undefined;
  return Object.fromEntries(Object.keys(a).sort().map((k) => [k, a[k]]));
}

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

/** `state`: the container's state as runc reports it. */
export function stateOf(root: string, id: string): StateView {
  return view(root, readState(nodeFiles, root, validateId(id)));
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
      const v = view(root, readState(nodeFiles, root, id));
      // runc fills the owner from the state directory for list (state prints the recorded one).
      views.push({ ...v, owner: ownerName(root, id) });
    } catch {
      // A directory being created or deleted concurrently: not a container (yet, or any more).
    }
  }
  return views;
}
