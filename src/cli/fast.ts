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
 */
const FAST: Record<string, () => Promise<{ default: VerbDef }>> = {
  create: () => import('./commands/create.ts'),
  delete: () => import('./commands/delete.ts'),
  exec: () => import('./commands/exec.ts'),
  kill: () => import('./commands/kill.ts'),
  run: () => import('./commands/run.ts'),
  start: () => import('./commands/start.ts'),
  state: () => import('./commands/state.ts'),
};

/**
 * Reads `--name value`, `--name=value`, `-x value` and boolean flags of `flags` from the start
 * of `args`; returns the options (defaults applied) and where the flags ended, or undefined on
 * anything else.
 */
function readFlags(args: string[], start: number, flags: FlagDef[]): [Options, number] | undefined {
  const shapes = flags.map((f) => ({ def: f, shape: flagShape(f) }));
  const out: Options = {};
  const seen = new Set<string>();
  let i = start;
  for (; i < args.length && args[i].startsWith('-') && args[i] !== '-'; i++) {
    const a = args[i];
    const eq = a.indexOf('=');
    const found = a.startsWith('--')
      ? shapes.find((s) => s.shape.long === (eq > 0 ? a.slice(2, eq) : a.slice(2)))
      : a.length === 2
        ? shapes.find((s) => s.shape.short === a[1])
        : undefined;
    if (!found || (seen.has(found.shape.long) && !found.def.repeat)) return undefined;
    seen.add(found.shape.long);
    const { def, shape } = found;
    if (shape.value) {
      const value = eq > 0 && a.startsWith('--') ? a.slice(eq + 1) : args[++i];
      if (value === undefined || (eq < 0 && value.startsWith('-'))) return undefined;
      try {
        const v = flagValue(def, value);
        out[shape.key] = def.repeat ? [...((out[shape.key] as unknown[] | undefined) ?? []), v] : v;
      } catch {
        return undefined; // commander says what is wrong with it
      }
    } else {
      if (eq > 0) return undefined;
      out[shape.key] = !shape.negate;
    }
  }
  // And the defaults of what was not given, as commander fills them in.
  return [{ ...defaults(flags, out), ...out }, i];
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
  const load = verb === undefined || !Object.hasOwn(FAST, verb) ? undefined : FAST[verb];
  if (!load) return undefined;
  const def = (await load()).default;
  const verbFlags = readFlags(args, at + 1, def.flags);
  if (!verbFlags) return undefined;
  const [opts, end] = verbFlags;
  const rest = args.slice(end);
  const required = def.args.filter((a) => a.name.startsWith('<')).length;
  // A variadic last argument ("[command...]") takes the rest as it is, options and all
  // (passThrough verbs: what follows the first argument is the verb's).
  const variadic = def.args.at(-1)?.name.endsWith('...]') ?? false;
  if (rest.length < required || (!variadic && rest.length > def.args.length)) return undefined;
  const own = variadic ? rest.slice(0, def.args.length - 1) : rest;
  if (own.some((a) => a.startsWith('-') && a !== '-')) return undefined;
  if (variadic && !def.passThrough && rest.some((a) => a.startsWith('-') && a !== '-')) return undefined;
  // Optional arguments with a default, as commander fills them in.
  const full = variadic
    ? rest
    : def.args.map((a, i) => rest[i] ?? a.default).filter((a): a is string => a !== undefined);
  return { verb, globals: g as unknown as GlobalOptions, args: full, opts, def };
}
