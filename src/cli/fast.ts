/**
 * The verbs engines send for every container — `create`, `start`, `state`, `kill`, `delete`
 * and `run` (FAST below) — parsed without commander when their
 * command line has the plain shape engines use (containerd's shim:
 * `--root R --log F --log-format json kill ID 15`). Loading and building the commander
 * program is a third of a `state` call's startup (docs/benchmarks.md). Anything else — help,
 * an unknown or repeated flag, a bad value, a wrong number of arguments — returns undefined and
 * goes through commander, which gives the usual behaviour and messages. Both parsers read the
 * same definitions (src/cli/verb.ts), and test/unit/fast.test.ts checks that they hand the
 * verb the same arguments and options.
 */
import { GLOBAL_FLAGS } from './globals.ts';
import type { GlobalOptions } from './globals.ts';
import { defaults, flagShape, flagValue } from './verb.ts';
import type { FlagDef, Options, VerbDef } from './verb.ts';

export interface FastCall {
  verb: string;
  globals: GlobalOptions;
  /** The verb's arguments and options, as commander would give them. */
  args: string[];
  opts: Options;
  def: VerbDef;
}

/**
 * The verbs taken on the fast path, each definition loaded only when its verb is called: an
 * engine's `state` evaluates the `state` definition and nothing of the others (what a call
 * evaluates is what it allocates, and past a threshold that starts the collector's threads).
 *
 * Like the rest of a fast call's path, this file keeps to plain loops, not the engine builtins
 * compiled on first use (src/lists.ts).
 */
function loader(verb: string): (() => Promise<{ default: VerbDef }>) | undefined {
  switch (verb) {
    case 'create':
      return () => import('./commands/create.ts');
    case 'delete':
      return () => import('./commands/delete.ts');
    case 'exec':
      return () => import('./commands/exec.ts');
    case 'kill':
      return () => import('./commands/kill.ts');
    case 'run':
      return () => import('./commands/run.ts');
    case 'start':
      return () => import('./commands/start.ts');
    case 'state':
      return () => import('./commands/state.ts');
    default:
      return undefined;
  }
}

/** The flag of `flags` named by `--long` or `-s` (short given, long undefined). */
function findFlag(flags: FlagDef[], long: string | undefined, short: string | undefined): FlagDef | undefined {
  for (let i = 0; i < flags.length; i++) {
    const shape = flagShape(flags[i]);
    if (long !== undefined ? shape.long === long : shape.short === short) return flags[i];
  }
  return undefined;
}

/**
 * Reads `--name value`, `--name=value`, `-x value` and boolean flags of `flags` from the start
 * of `args`; returns the options (defaults applied) and where the flags ended, or undefined on
 * anything else.
 */
function readFlags(args: string[], start: number, flags: FlagDef[]): [Options, number] | undefined {
  const out: Options = {};
  const seen: string[] = [];
  let i = start;
  for (; i < args.length && args[i].startsWith('-') && args[i] !== '-'; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const def = a.startsWith('--')
      ? findFlag(flags, eq > 0 ? a.slice(2, eq) : a.slice(2), undefined)
      : a.length === 2
        ? findFlag(flags, undefined, a[1])
        : undefined;
    if (!def) return undefined;
    const shape = flagShape(def);
    if (seen.indexOf(shape.long) >= 0 && !def.repeat) return undefined;
    seen.push(shape.long);
    if (shape.value) {
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i];
      if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
      try {
        const v = flagValue(def, value);
        if (def.repeat) {
          const list = (out[shape.key] as unknown[] | undefined) ?? [];
          list.push(v);
          out[shape.key] = list;
        } else {
          out[shape.key] = v;
        }
      } catch {
        return undefined; // commander says what is wrong with it
      }
    } else {
      if (eq > 0) return undefined;
      out[shape.key] = !shape.negate;
    }
  }
  // And the defaults of what was not given, as commander fills them in.
  // Into the defaults by hand (no object spread: src/lists.ts).
  const all = defaults(flags, out);
  for (const k in out) all[k] = out[k];
  return [all, i];
}

/** The verb of a command line: the first argument after the global flags, if they parse. */
export function verbOf(args: string[]): string | undefined {
  const g = readFlags(args, 0, GLOBAL_FLAGS);
  return g ? args[g[1]] : undefined;
}

export async function fastPath(args: string[]): Promise<FastCall | undefined> {
  const globalFlags = readFlags(args, 0, GLOBAL_FLAGS);
  if (!globalFlags) return undefined;
  const [g, at] = globalFlags;
  const verb = args[at];
  const load = verb === undefined ? undefined : loader(verb);
  if (!load) return undefined;
  const def = (await load()).default;
  const verbFlags = readFlags(args, at + 1, def.flags);
  if (!verbFlags) return undefined;
  const [opts, end] = verbFlags;
  const rest = args.slice(end);
  let required = 0;
  for (let i = 0; i < def.args.length; i++) if (def.args[i].name.startsWith('<')) required++;
  // A variadic last argument ("[command...]") takes the rest as it is, options and all
  // (passThrough verbs: what follows the first argument is the verb's).
  const variadic = def.args.length > 0 && def.args[def.args.length - 1].name.endsWith('...]');
  if (rest.length < required || (!variadic && rest.length > def.args.length)) return undefined;
  const own = variadic && def.args.length - 1 < rest.length ? def.args.length - 1 : rest.length;
  const checked = variadic && !def.passThrough ? rest.length : own;
  for (let i = 0; i < checked; i++) if (rest[i].startsWith('-') && rest[i] !== '-') return undefined;
  if (variadic) return { verb, globals: g as unknown as GlobalOptions, args: rest, opts, def };
  // Optional arguments with a default, as commander fills them in.
  const full: string[] = [];
  for (let i = 0; i < def.args.length; i++) {
    const a = rest[i] ?? def.args[i].default;
    if (a !== undefined) full.push(a);
  }
  return { verb, globals: g as unknown as GlobalOptions, args: full, opts, def };
}
