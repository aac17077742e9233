/**
 * NOTIFY_SOCKET (runc's notify_socket.go): when the caller of create/run/start has a host
 * sd_notify socket (systemd's, or podman's for `--sdnotify=container`), the container gets a
 * socket of its own at /run/notify/notify.sock — bound by the runtime in
 * `<root>/<id>/notify/`, which is bind-mounted there read-only — and NOTIFY_SOCKET pointing
 * at it. `start` (and `run`) bind it, let the process run, and relay its READY= to the host
 * with MAINPID= of the init (crates/core/src/notify.rs); `start` and `run -d` return only
 * once that is done or the init has exited, as runc's do.
 */
import { notifyBind, notifyRelay } from '../native/index.ts';
import type { Config } from '../native/index.ts';
import { inDir, initOf, stateDir } from '../state/store.ts';
import type { ContainerState } from '../state/store.ts';
import type { Logger } from './options.ts';

const DIR = 'notify';
const SOCKET = 'notify.sock';
/** Where the container finds its socket (runc's path). */
export const NOTIFY_IN_CONTAINER = '/run/notify/notify.sock';

/** The state directory's notify directory (made by `create`, bound into the container). */
export function notifyDir(root: string, id: string): string {
  return inDir(stateDir(root, id), DIR);
}

/**
 * runc's setupSpec, on the converted config: the socket's directory bound read-only at
 * /run/notify and NOTIFY_SOCKET set for the process (not in what `exec` starts from: runc's
 * exec reads the bundle's config.json). Only with a mount namespace: runts mounts nothing in
 * its own.
 */
export function withNotifySocket(config: Config, root: string, id: string): void {
  if (!config.namespaces.some((n) => n.nsType === 'mount')) return;
  config.mounts.push({ destination: '/run/notify', mountType: 'bind', source: notifyDir(root, id), options: ['bind', 'nosuid', 'noexec', 'nodev', 'ro'], uidMappings: [], gidMappings: [] });
  config.process.env.push(`NOTIFY_SOCKET=${NOTIFY_IN_CONTAINER}`);
}

/** Binds the container's socket before its process runs; returns the listener. */
export function bindNotify(root: string, id: string): number {
  return notifyBind(inDir(notifyDir(root, id), SOCKET));
}

/** Relays the container's READY= to `host`; resolves once done or once the init has exited. */
export async function relayReady(listener: number, host: string, s: ContainerState, logger: Logger): Promise<void> {
  const r = await notifyRelay(listener, host, initOf(s));
  if (!r.ready) await logger.debug?.(`container ${s.id} exited before it sent READY=`);
}
