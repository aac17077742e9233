/** runc's global flags, shared by every verb, and the library runtime they configure. */
import { RuntsError } from '../errors.ts';
import { defaultRoot } from '../runtime/options.ts';
import type { Runtime } from '../runtime/runtime.ts';
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
  const [{ Runtime }, { logDebug, logWarn }] = await Promise.all([import('../runtime/runtime.ts'), import('../log.ts')]);
  const rootless = g.rootless === 'true' ? true : g.rootless === 'false' ? false : g.rootless === 'auto' ? 'auto' : undefined;
  if (rootless === undefined) throw new RuntsError(`invalid value for --rootless: ${JSON.stringify(g.rootless)} (true, false or auto)`);
  return new Runtime({
    root: g.root,
    systemdCgroup: g.systemdCgroup,
    rootless,
    logger: { warn: logWarn, debug: logDebug },
  });
}
