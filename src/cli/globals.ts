/** runc's global flags, shared by every verb, and the library runtime they configure. */
import { RuntsError } from '../errors.ts';
import { defaultRoot } from '../runtime/options.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { LogOptions } from '../log.ts';
import { flagShape } from './verb.ts';
import type { FlagDef } from './verb.ts';

export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
  criu: string;
}

/** The global flags, read by both parsers (src/cli/program.ts, src/cli/fast.ts). */
export const GLOBAL_FLAGS: FlagDef[] = [
  { flags: '--debug', description: 'enable debug logging', default: false },
  { flags: '--log <path>', description: "set the log file to write runts logs to (default is '/dev/stderr')" },
  { flags: '--log-format <format>', description: "set the log format ('text' (default), or 'json')", choices: ['text', 'json'], default: 'text' },
  { flags: '--root <path>', description: 'root directory for storage of container state (this should be located in tmpfs)', default: defaultRoot },
  { flags: '--criu <path>', description: 'path to the criu binary used for checkpoint and restore', default: 'criu' },
  { flags: '--systemd-cgroup', description: 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:runts:434234"', default: false },
  { flags: '--rootless <value>', description: "ignore cgroup permission errors ('true', 'false', or 'auto')", default: 'auto' },
];

/** The library, configured as the global flags say; its warnings go to the CLI's log. */
export async function runtimeFor(g: GlobalOptions): Promise<Runtime> {
  // One import after the other: Promise.all is a builtin compiled on first use (src/lists.ts).
  const { Runtime } = await import('../runtime/runtime.ts');
  const { logDebug, logInfo, logWarn } = await import('../log.ts');
  const rootless = g.rootless === 'true' ? true : g.rootless === 'false' ? false : g.rootless === 'auto' ? 'auto' : undefined;
  if (rootless === undefined) throw new RuntsError(`invalid value for --rootless: ${JSON.stringify(g.rootless)} (true, false or auto)`);
  return new Runtime({
    root: g.root,
    systemdCgroup: g.systemdCgroup,
    rootless,
    criu: g.criu,
    logger: { warn: logWarn, info: logInfo, debug: logDebug },
  });
}

/**
 * The logging flags (--log, --log-format, --debug) among the global flags before the verb,
 * read leniently: they must be in effect before the command line is parsed, so that an
 * argument error is logged too. Unknown flags and bad values are left to the parser.
 */
export function earlyLogOptions(args: string[]): LogOptions {
  const out: LogOptions = {};
  for (let i = 0; i < args.length && args[i].startsWith('-'); i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const long = flag.slice(flag.startsWith('--') ? 2 : 1);
    const def = GLOBAL_FLAGS.find((f) => flagShape(f).long === long);
    if (!def) continue;
    const shape = flagShape(def);
    const value = shape.value ? (eq > 0 ? a.slice(eq + 1) : args[++i]) : undefined;
    if (shape.key === 'log') out.log = value;
    else if (shape.key === 'logFormat') out.logFormat = value;
    else if (shape.key === 'debug') out.debug = true;
  }
  return out;
}
