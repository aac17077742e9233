/**
 * How a Runtime is configured: where container state lives, which cgroup driver, rootless or
 * not, and where its warnings go. The library never prints: it hands what runc would log to
 * the logger (the CLI's logs to stderr or --log; the default drops them).
 */
import { fields } from '../text.ts';
import { storeFiles } from '../state/files.ts';

/** Where the library's warnings and debug lines go. */
export interface Logger {
  warn(msg: string): void | Promise<void>;
  /** Lines worth a user's eye that are not warnings (what hooks print). */
  info?(msg: string): void | Promise<void>;
  debug?(msg: string): void | Promise<void>;
}

export interface RuntimeOptions {
  /** The state root (runc's --root): default /run/runts, or $XDG_RUNTIME_DIR/runts when not root. */
  root?: string;
  /** Use systemd's cgroup driver (a transient scope; cgroupsPath "slice:prefix:name"). */
  systemdCgroup?: boolean;
  /** Ignore cgroup permission errors; 'auto' (the default): when not running as root. */
  rootless?: boolean | 'auto';
  /** The criu binary checkpoint and restore drive (runc's --criu): default "criu" on PATH. */
  criu?: string;
  logger?: Logger;
}

/** The options with every default applied. */
export interface Resolved {
  root: string;
  systemdCgroup: boolean;
  rootless: boolean;
  criu: string;
  logger: Logger;
}

const SILENT: Logger = { warn() {} };

/**
 * runc's userns.RunningInUserNS: our uid_map is not the whole identity map of the initial
 * namespace (rootless podman runs the runtime as uid 0 of such a namespace).
 */
export function inUserNamespace(): boolean {
  const map = storeFiles().read('/proc/self/uid_map');
  if (map === undefined) return false;
  return fields(map).join(' ') !== '0 0 4294967295';
}

/**
 * runc's default state root is /run/runc; ours is /run/runts, or $XDG_RUNTIME_DIR/runts where
 * runc would use $XDG_RUNTIME_DIR/runc (shouldHonorXDGRuntimeDir): when not root, or root of
 * a user namespace unless $USER is root.
 */
export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && (process.getuid?.() !== 0 || (process.env.USER !== 'root' && inUserNamespace()))) return `${xdg}/runts`;
  return '/run/runts';
}

export function resolve(o: RuntimeOptions = {}): Resolved {
  const rootless = o.rootless ?? 'auto';
  let auto: boolean | undefined;
  return {
    root: o.root ?? defaultRoot(),
    systemdCgroup: o.systemdCgroup ?? false,
    // runc's --rootless auto: not root, or root of a user namespace (then cgroup permission
    // errors are skipped). Looked up only when a verb asks (create and run do).
    get rootless() {
      if (rootless !== 'auto') return rootless;
      return (auto ??= process.geteuid?.() !== 0 || inUserNamespace());
    },
    criu: o.criu || 'criu',
    logger: o.logger ?? SILENT,
  };
}
