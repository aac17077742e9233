/**
 * How a Runtime is configured: where container state lives, which cgroup driver, rootless or
 * not, and where its warnings go. The library never prints: it hands what runc would log to
 * the logger (the CLI's logs to stderr or --log; the default drops them).
 */

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
  logger?: Logger;
}

/** The options with every default applied. */
export interface Resolved {
  root: string;
  systemdCgroup: boolean;
  rootless: boolean;
  logger: Logger;
}

const SILENT: Logger = { warn() {} };

/** runc's default state root is /run/runc; ours is /run/runts ($XDG_RUNTIME_DIR/runts when not root). */
export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (process.getuid?.() !== 0 && xdg) return `${xdg}/runts`;
  return '/run/runts';
}

export function resolve(o: RuntimeOptions = {}): Resolved {
  const rootless = o.rootless ?? 'auto';
  return {
    root: o.root ?? defaultRoot(),
    systemdCgroup: o.systemdCgroup ?? false,
    rootless: rootless === 'auto' ? process.geteuid?.() !== 0 : rootless,
    logger: o.logger ?? SILENT,
  };
}
