/**
 * The library: a `Runtime` owns the container lifecycle under one state root. Its operations
 * return typed values (runc's state, stats and features shapes), throw the typed errors of
 * src/errors.ts, and never print, read argv or exit; the CLI (src/cli/) is flags → one call
 * here → print.
 *
 * Each operation loads its implementation on first use: an engine's `state` or `kill` call
 * starts the whole program and should pay only for what it runs. (`state` and `list` are
 * loaded with this module: they are small, need no addon, and `state` is the call engines
 * make most.)
 */
import type { Spec } from '../spec/types.ts';
import type { Resources } from '../spec/types.ts';
import type { ContainerState as StoredState } from '../state/store.ts';
import type { ContainerEvent, EventOptions } from './events.ts';
import type { Features } from './features.ts';
import type { Logger, Resolved, RuntimeOptions } from './options.ts';
import { readerFiles } from '../state/files.ts';
import { resolve } from './options.ts';
import type { RunHandle, RunOptions } from './run.ts';
import type { StateView } from './state.ts';
import type { DetachedOptions } from './create.ts';
import type { ExecHandle, ExecOptions } from './exec.ts';
import type { CheckpointOptions } from './checkpoint.ts';
import type { CheckFinding } from './check.ts';
import type { RestoreOptions } from './restore.ts';

export type {
  CheckFinding,
  CheckpointOptions,
  ContainerEvent,
  EventOptions,
  ExecHandle,
  ExecOptions,
  Features,
  Logger,
  Resources,
  RestoreOptions,
  RunHandle,
  RunOptions,
  RuntimeOptions,
  Spec,
  StateView,
};
export type CreateOptions = DetachedOptions;

export interface StartOptions {
  /** The caller's sd_notify socket: wait for the container's READY= and relay it there. */
  notifySocket?: string;
}

export interface KillOptions {
  /** Every process of the container, not only its init (runc's --all). */
  all?: boolean;
}

export interface DeleteOptions {
  /** Kill it first if it still runs; no error if it does not exist (runc's --force). */
  force?: boolean;
}

export class Runtime {
  readonly options: Resolved;

  constructor(options: RuntimeOptions = {}) {
    this.options = resolve(options);
  }

  /** The state root this runtime keeps its containers under. */
  get root(): string {
    return this.options.root;
  }

  /** Builds the container from its bundle; its process waits for `start`. */
  async create(id: string, o: CreateOptions = {}): Promise<StateView> {
    const { createDetached } = await import('./create.ts');
    const { viewAs } = await import('./state.ts');
    const stored: StoredState = await createDetached(this.options, id, o);
    // Its init was released to wait for `start`: "created", as `state` would say, without
    // reading back what was just written (0.3 ms of every create).
    return viewAs(stored, 'created');
  }

  /**
   * Lets a created container's process run; returns once it has exec'd (with `notifySocket`,
   * once the container's READY= has been relayed there).
   */
  async start(id: string, o: StartOptions = {}): Promise<void> {
    await (await import('./lifecycle.ts')).startContainer(this.root, id, this.options.logger, o.notifySocket);
  }

  /**
   * Creates and starts a container in this process: the handle has its pid, the pty master
   * (terminal without a console socket) and `wait()` for its exit status; the container is
   * deleted once it has exited unless `keep`.
   */
  async run(id: string, o: RunOptions = {}): Promise<RunHandle> {
    return (await import('./run.ts')).runForeground(this.options, id, o);
  }

  /** `run -d`: create and start, and leave it running. */
  async runDetached(id: string, o: CreateOptions = {}): Promise<StateView> {
    await this.create(id, o);
    await this.start(id, { notifySocket: o.notifySocket });
    return this.state(id);
  }

  /**
   * Starts a process in the running container (runc exec): the container's own process with
   * the changes `o` gives, or `o.process` whole. The handle has its pid, the pty master
   * (terminal without a console socket) and `wait()` for its exit status.
   */
  async exec(id: string, o: ExecOptions): Promise<ExecHandle> {
    return (await import('./exec.ts')).execProcess(this.options, id, o);
  }

  /**
   * CRIU dumps the running (or paused) container into `o.imagePath` (default ./checkpoint);
   * unless `leaveRunning` or `preDump`, the container is then gone (deleted as runc does).
   */
  async checkpoint(id: string, o: CheckpointOptions = {}): Promise<void> {
    await (await import('./checkpoint.ts')).checkpointContainer(this.options, id, o);
  }

  /**
   * A new container `id` from the bundle `o.bundle`, its process restored from a checkpoint
   * by CRIU, in this process: `run`'s handle (deleted once it exits unless `keep`).
   */
  async restore(id: string, o: RestoreOptions = {}): Promise<RunHandle> {
    return (await import('./restore.ts')).restoreForeground(this.options, id, o);
  }

  /** `restore -d`: the restored container is left running. */
  async restoreDetached(id: string, o: Omit<RestoreOptions, 'keep' | 'onCreated' | 'subreaper'> = {}): Promise<StateView> {
    await (await import('./restore.ts')).restoreDetached(this.options, id, o);
    return this.state(id);
  }

  /** The container's state as `runc state` prints it. */
  async state(id: string): Promise<StateView> {
    // Through the addon when it is loaded already (--log) or cheap to load, else node:fs
    // (src/state/files.ts).
    // One after the other: Promise.all is a builtin compiled on first use (src/lists.ts).
    const { stateOf } = await import('./state.ts');
    const files = await readerFiles();
    return stateOf(files, this.root, id);
  }

  /** Every container under the root, sorted by id (`runc list`). */
  async list(): Promise<StateView[]> {
    return (await import('./list.ts')).listStates(this.root);
  }

  /** Sends a signal (a name such as "TERM" or "SIGKILL", or a number; 0 probes) to the init. */
  async kill(id: string, signal: string | number = 'SIGTERM', o: KillOptions = {}): Promise<void> {
    await (await import('./lifecycle.ts')).killContainer(this.root, id, signal, !!o.all);
  }

  /** Resolves once the container has stopped (at most `timeoutMs`, default 30 s). */
  async wait(id: string, o: { timeoutMs?: number } = {}): Promise<void> {
    await (await import('./lifecycle.ts')).waitStopped(this.root, id, o.timeoutMs ?? 30_000);
  }

  /** Removes a stopped (or created) container; with `force`, a running one too. */
  async delete(id: string, o: DeleteOptions = {}): Promise<void> {
    await (await import('./lifecycle.ts')).deleteContainer(this.root, id, !!o.force, this.options.logger);
  }

  /** Freezes every process of the container. */
  async pause(id: string): Promise<void> {
    (await import('./cgroups.ts')).pauseContainer(this.root, id);
  }

  async resume(id: string): Promise<void> {
    (await import('./cgroups.ts')).resumeContainer(this.root, id);
  }

  /** Changes the container's resources (linux.resources shape); only what is set changes. */
  async update(id: string, resources: Resources): Promise<void> {
    (await import('./cgroups.ts')).updateContainer(this.root, id, resources);
  }

  /** The pids of the container's processes (in this pid namespace). */
  async ps(id: string): Promise<number[]> {
    return (await import('./cgroups.ts')).containerPids(this.root, id);
  }

  /**
   * The container's stats, once (`runc events --stats`); with `interval`, a stream of them
   * until the container stops.
   */
  stats(id: string): Promise<ContainerEvent>;
  stats(id: string, o: { intervalMs: number }): AsyncGenerator<ContainerEvent>;
  stats(id: string, o?: { intervalMs: number }): Promise<ContainerEvent> | AsyncGenerator<ContainerEvent> {
    if (o) return this.events(id, { intervalMs: o.intervalMs, statsOnly: true });
    return (async () => {
      const [{ statsJson }, { statsEvent }] = await Promise.all([import('./cgroups.ts'), import('./events.ts')]);
      return statsEvent(id, statsJson(this.root, id));
    })();
  }

  /** Stats every `intervalMs` and OOM kills, until the container stops (`runc events`). */
  async *events(id: string, o: EventOptions = {}): AsyncGenerator<ContainerEvent> {
    yield* (await import('./events.ts')).events(this.root, id, o);
  }

  /**
   * What this host gives containers (`runts check`): cgroups, namespaces, seccomp, the system
   * calls runts uses, LSMs, CRIU, the state root, TMPDIR, RLIMIT_NOFILE and the engines'
   * configuration, each probed, OK / WARN / FAIL with how to fix what is not OK.
   */
  async check(): Promise<CheckFinding[]> {
    return (await import('./check.ts')).checkHost(this.options);
  }

  /** What this build supports (runtime-spec features.md). */
  async features(): Promise<Features> {
    return (await import('./features.ts')).features();
  }

  /** The starter config.json `runc spec` writes (optionally for a rootless container). */
  async spec(o: { rootless?: boolean } = {}): Promise<Spec> {
    const { defaultSpec, rootlessSpec } = await import('../spec/defaults.ts');
    return o.rootless ? rootlessSpec(defaultSpec()) : defaultSpec();
  }
}
