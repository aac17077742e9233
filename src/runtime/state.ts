/** The OCI state of a container as runc reports it for `state` (and `list`, ./list.ts). */
import type { Files } from '../state/files.ts';
import { statusOf } from '../state/status.ts';
import type { Status } from '../state/status.ts';
import { readState } from '../state/store.ts';
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

export function view(files: Files, root: string, s: ContainerState): StateView {
  return viewAs(s, statusOf(files, root, s));
}

/** The view of a record whose status the caller knows (`create`: just made, "created"). */
export function viewAs(s: ContainerState, status: Status): StateView {
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

/**
 * Go's encoding/json prints map keys sorted; runc's annotations are a map. Sorted by hand (an
 * insertion sort of a few keys, by UTF-16 code unit as sort() does): sort, map and fromEntries
 * are builtins compiled on first use (src/lists.ts), and engines' containers have
 * annotations on every `state`.
 */
function sortedAnnotations(a: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!a) return undefined;
  const keys = Object.keys(a);
  if (!keys.length) return undefined;
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i];
    let j = i - 1;
    for (; j >= 0 && keys[j] > k; j--) keys[j + 1] = keys[j];
    keys[j + 1] = k;
  }
  const out: Record<string, string> = {};
  // Defined, not assigned: a "__proto__" annotation stays an annotation.
  for (let i = 0; i < keys.length; i++) Object.defineProperty(out, keys[i], { value: a[keys[i]], enumerable: true, writable: true, configurable: true });
  return out;
}

/** `state`: the container's state as runc reports it. */
export function stateOf(files: Files, root: string, id: string): StateView {
  return view(files, root, readState(files, root, validateId(id)));
}
