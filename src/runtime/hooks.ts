/**
 * The runtime-spec hooks, as the runtime runs them. The ones of `create` and `start`
 * (prestart, createRuntime, createContainer, startContainer) travel in the native config: the
 * core runs them at their points while it builds and starts the container (in the runtime's
 * namespaces or the container's, as the spec says), and a failure fails the create or the
 * start, which removes what was made. poststart (after `start`) and poststop (after `delete`)
 * run here, through the core's executor; their failures are logged as warnings and the
 * lifecycle goes on (the spec's rule; runc kills the container on a poststart failure).
 * Their hooks are kept in the state record, so `start` and `delete` need no bundle
 * (src/spec/convert.ts makes both lists).
 */
import type { ContainerState } from '../state/store.ts';
import type { Logger } from './options.ts';


/**
 * The runtime-spec state a hook reads on its stdin, as runc's specs.State marshals: in its
 * field order, a pid of 0 (poststop) and empty annotations left out. (The core renders the
 * create and start hooks' states from this, with their pid and status.)
 */
export function hookState(s: Pick<ContainerState, 'ociVersion' | 'id' | 'pid' | 'bundle' | 'annotations'>, status: string, pid = s.pid): string {
  const annotations = s.annotations && Object.keys(s.annotations).length ? s.annotations : undefined;
  return JSON.stringify({ ociVersion: s.ociVersion, id: s.id, status, pid: pid || undefined, bundle: s.bundle, annotations });
}

/**
 * poststart or poststop of a recorded container: run in order; a failure is a warning (with
 * the hook's output) and the rest of the lifecycle goes on. What the hooks print is logged (info).
 */
export async function runLaterHooks(kind: 'poststart' | 'poststop', s: ContainerState, status: string, pid: number, logger: Logger): Promise<void> {
  const hooks = s.hooks?.[kind] ?? [];
  if (!hooks.length) return;
  const { runHooks } = await import('../native/index.ts');
  try {
    for (const line of runHooks(kind, hooks, hookState(s, status, pid))) await (logger.info ?? logger.debug)?.(line);
  } catch (e) {
    await logger.warn((e as Error).message);
  }
}
