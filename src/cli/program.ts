/**
 * The commander program: runc's global flags and one command per verb, each built from its
 * definition in src/cli/commands/ (the same definitions the fast path parses with).
 */
import { Command, Option } from 'commander';
import { writeSync } from 'node:fs';
import { GLOBAL_FLAGS, runtimeFor } from './globals.ts';
import type { GlobalOptions } from './globals.ts';
import { VERBS } from './commands/index.ts';
import { defaultValue } from './verb.ts';
import type { FlagDef, VerbContext, VerbDef } from './verb.ts';
import { VERSION_TEXT } from '../version.ts';
import { usageMessage } from './sink.ts';

function option(f: FlagDef): Option {
  const o = new Option(f.flags, f.description);
  if (f.choices) o.choices(f.choices);
  if (f.repeat) {
    const parse = f.parse ?? ((v: string) => v);
    o.argParser((v: string, previous: unknown[] | undefined) => [...(previous ?? []), parse(v)]);
  } else if (f.parse) o.argParser(f.parse);
  if (f.default !== undefined || f.repeat) o.default(defaultValue(f));
  return o;
}

export function contextFor(globals: GlobalOptions): VerbContext {
  return { globals, runtime: () => runtimeFor(globals) };
}

function command(def: VerbDef): Command {
  const c = new Command(def.name).description(def.description);
  if (def.summary) c.summary(def.summary);
  if (def.usage) c.usage(def.usage);
  for (const a of def.args) c.argument(a.name, a.description, a.default);
  for (const f of def.flags) c.addOption(option(f));
  if (def.passThrough) c.passThroughOptions();
  c.action(async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const args = (cmd.processedArgs as unknown[]).flat().filter((a): a is string => typeof a === 'string');
    await def.action(contextFor(cmd.optsWithGlobals() as GlobalOptions), args, cmd.opts());
  });
  return c;
}

export function buildProgram(): Command {
  const program = new Command('runts')
    .description('Open Container Initiative runtime (a drop-in replacement for runc)')
    .usage('[global options] command [command options] [arguments...]')
    .version(VERSION_TEXT, '-v, --version', 'print the version');
  for (const f of GLOBAL_FLAGS) program.addOption(option(f));
  program
    .exitOverride()
    // commander prints help and errors through process.stdout/stderr: their first use costs
    // ~10 ms of startup under Bun, so write to the descriptors directly.
    .configureOutput({
      writeOut: (s) => writeSync(1, s),
      writeErr: (s) => writeSync(2, s),
      outputError: (s, write) => write(usageMessage(s)),
    })
    .showSuggestionAfterError(false)
    // Global flags go before the verb, as runc's; a verb may reuse a global name (spec --rootless).
    .enablePositionalOptions();
  for (const def of VERBS) program.addCommand(command(def).copyInheritedSettings(program));
  return program;
}
