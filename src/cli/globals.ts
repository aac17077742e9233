/** The global flags runc has, shared by every verb. */
import type { Command } from 'commander';

export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
  criu: string;
}

/** runc's default state root is /run/runc; ours is /run/runts ($XDG_RUNTIME_DIR/runts when not root). */
export function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (process.getuid?.() !== 0 && xdg) return `${xdg}/runts`;
  return '/run/runts';
}

/** The global options as seen from a verb's action. */
export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}
