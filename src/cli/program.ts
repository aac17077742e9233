/**
 * The commander program: runc's global flags and one command per verb (src/cli/commands/).
 * Verb files import their implementation lazily so that `state` or `kill` pays only for itself.
 */
import { Command, Option } from 'commander';
import { writeSync } from 'node:fs';
import { defaultRoot } from './globals.ts';
import createCommand from './commands/create.ts';
import deleteCommand from './commands/delete.ts';
import eventsCommand from './commands/events.ts';
import featuresCommand from './commands/features.ts';
import killCommand from './commands/kill.ts';
import listCommand from './commands/list.ts';
import pauseCommand from './commands/pause.ts';
import psCommand from './commands/ps.ts';
import resumeCommand from './commands/resume.ts';
import runCommand from './commands/run.ts';
import specCommand from './commands/spec.ts';
import startCommand from './commands/start.ts';
import stateCommand from './commands/state.ts';
import updateCommand from './commands/update.ts';
import versionCommand from './commands/version.ts';
import { VERSION_TEXT } from '../version.ts';

export function buildProgram(): Command {
  const program = new Command('runts')
    .description('Open Container Initiative runtime (a drop-in replacement for runc)')
    .usage('[global options] command [command options] [arguments...]')
    .version(VERSION_TEXT, '-v, --version', 'print the version')
    .option('--debug', 'enable debug logging', false)
    .option('--log <path>', "set the log file to write runts logs to (default is '/dev/stderr')")
    .addOption(
      new Option('--log-format <format>', "set the log format ('text' (default), or 'json')")
        .choices(['text', 'json'])
        .default('text'),
    )
    .option('--root <path>', 'root directory for storage of container state (this should be located in tmpfs)', defaultRoot())
    .option('--criu <path>', 'path to the criu binary used for checkpoint and restore', 'criu')
    .option('--systemd-cgroup', 'enable systemd cgroup support, expects cgroupsPath to be of form "slice:prefix:name" for e.g. "system.slice:runts:434234"', false)
    .option('--rootless <value>', "ignore cgroup permission errors ('true', 'false', or 'auto')", 'auto')
    .exitOverride()
    // commander prints help and errors through process.stdout/stderr: their first use costs
    // ~10 ms of startup under Bun, so write to the descriptors directly.
    .configureOutput({ writeOut: (s) => writeSync(1, s), writeErr: (s) => writeSync(2, s) })
    .showSuggestionAfterError(false)
    // Global flags go before the verb, as runc's; a verb may reuse a global name (spec --rootless).
    .enablePositionalOptions();
  for (const make of [
    createCommand, deleteCommand, eventsCommand, featuresCommand, killCommand, listCommand,
    pauseCommand, psCommand, resumeCommand, runCommand, specCommand, startCommand, stateCommand,
    updateCommand, versionCommand,
  ]) {
    program.addCommand(make().copyInheritedSettings(program));
  }
  return program;
}
