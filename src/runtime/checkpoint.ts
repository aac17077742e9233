/**
 * `checkpoint`: CRIU dumps a running (or paused) container into an images directory, as
 * `runc checkpoint`. The container is described to CRIU from its bundle's config.json (what
 * runc keeps in its state) and frozen through its freezer cgroup. After a dump without
 * `leaveRunning` or `preDump` its processes are gone and the container is destroyed as runc
 * destroys it (cgroup and state removed, poststop hooks run); after a failed one it runs on.
 */
import { RuntsError, StateError } from '../errors.ts';
import { addonFiles as files, checkpointInit } from '../native/index.ts';
import { joinPath } from '../paths.ts';
import { statusOf } from '../state/status.ts';
import type { ContainerState } from '../state/store.ts';
import { bundleConfig } from './build.ts';
import { configFile, criuCommon, pageServer, warnRootless } from './criu.ts';
import type { CriuOptions } from './criu.ts';
import { runLaterHooks } from './hooks.ts';
import { deleteRecorded, locked } from './lifecycle.ts';
import type { Resolved } from './options.ts';

export interface CheckpointOptions extends CriuOptions {
  /** A previous pre-dump's images, relative to the images directory (runc's --parent-path). */
  parentPath?: string;
  /** Leave the container running after the dump. */
  leaveRunning?: boolean;
  /** Dump the memory only (for a later dump with `parentPath`); the container runs on. */
  preDump?: boolean;
  /** With `lazyPages`: CRIU writes a \0 here once the lazy-pages server is ready. */
  statusFd?: number;
  /** ADDRESS:PORT of a CRIU page server to send the memory pages to. */
  pageServer?: string;
}

export async function checkpointContainer(g: Resolved, id: string, o: CheckpointOptions): Promise<void> {
  await warnRootless(g, 'checkpoint');
  const destroyed = locked(g.root, id, (s) => {
    const status = statusOf(files, g.root, s);
    if (status === 'created' || status === 'stopped') throw new StateError(`Container cannot be checkpointed in ${status} state`, status);
    const { config, spec } = bundleConfig(s.id, s.bundle);
    const common = criuCommon(g, o);
    // runc's prepareImagePaths: the images directory is made first, the parent found in it.
    files.mkdir(common.imagesDir, 0o700, true);
    const parentPath = o.parentPath ? checkParent(common.imagesDir, o.parentPath) : undefined;
    const ps = o.pageServer ? pageServer(o.pageServer) : undefined;
    checkpointInit(config, {
      ...common,
      pid: s.pid,
      startTime: s.initStartTime,
      parentPath,
      leaveRunning: !!o.leaveRunning,
      preDump: !!o.preDump,
      statusFd: o.statusFd ?? -1,
      pageServerAddress: ps?.address,
      pageServerPort: ps?.port,
      freezeCgroup: freezerOf(s),
      configFile: configFile(spec.annotations),
    });
    // Its processes are gone: destroyed as a delete --force would.
    return o.leaveRunning || o.preDump ? undefined : deleteRecorded(g.root, s, true);
  });
  if (destroyed) await runLaterHooks('poststop', destroyed, 'stopped', 0, g.logger);
}

/** runc: --parent-path is relative to the images directory, and a directory there. */
function checkParent(images: string, parent: string): string {
  if (parent.startsWith('/')) throw new RuntsError('--parent-path must be relative');
  const at = joinPath(images, parent);
  let problem: string | undefined;
  try {
    if (!files.stat(at).isDir) problem = `stat ${at}: not a directory`;
  } catch (e) {
    problem = (e as Error).message;
  }
  if (problem) throw new RuntsError(`invalid --parent-path: ${problem}`);
  return parent;
}

/** The cgroup CRIU freezes the container with: the v1 freezer, or the cgroup on pure v2. */
function freezerOf(s: ContainerState): string | undefined {
  const paths = s.cgroup?.paths ?? [];
  const freezer = paths.find((p) => p.subsystem === 'freezer');
  if (freezer) return freezer.path;
  return paths.length === 1 && paths[0].subsystem === '' ? paths[0].path : undefined;
}
