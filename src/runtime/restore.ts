/**
 * `restore`: a new container built from a bundle whose process is a checkpoint's, restored
 * by CRIU (`runc restore`). It is made as `create` makes one (state claimed, cgroup made and
 * its limits written, create hooks run, state recorded) but its init is the restored process,
 * running already: in the foreground the caller gets `run`'s handle (the container is
 * deleted once it exits), detached the container is left running.
 */
import type { ContainerState } from '../state/store.ts';
import { createContainer } from './build.ts';
import type { CreateOptions } from './build.ts';
import { criuCommon, warnRootless } from './criu.ts';
import type { CriuOptions } from './criu.ts';
import type { Resolved } from './options.ts';
import { runForeground } from './run.ts';
import type { RunHandle, RunOptions } from './run.ts';

export interface RestoreOptions extends CriuOptions, Omit<RunOptions, 'notifySocket' | 'restore' | 'preserveFds'> {
  /** An LSM profile for the restored processes, TYPE:NAME (CRIU ≥ 3.16). */
  lsmProfile?: string;
  /** An LSM mount context for the restored mounts (CRIU ≥ 3.16). */
  lsmMountContext?: string;
}

function restoreOf(g: Resolved, o: RestoreOptions, detach: boolean): CreateOptions['restore'] {
  return { criu: { ...criuCommon(g, o), lsmProfile: o.lsmProfile || undefined, lsmMountContext: o.lsmMountContext || undefined }, detach };
}

/** Restores in the foreground: `run`'s handle; deleted after its exit unless `keep`. */
export async function restoreForeground(g: Resolved, id: string, o: RestoreOptions): Promise<RunHandle> {
  await warnRootless(g, 'restore');
  return runForeground(g, id, { ...o, restore: restoreOf(g, o, false) });
}

/** `restore -d`: the restored container is left running. */
export async function restoreDetached(g: Resolved, id: string, o: Omit<RestoreOptions, 'keep' | 'onCreated' | 'subreaper'>): Promise<ContainerState> {
  await warnRootless(g, 'restore');
  const { state } = await createContainer(g, id, { ...o, restore: restoreOf(g, o, true) });
  return state;
}
