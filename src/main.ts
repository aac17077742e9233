/**
 * The entry of the runts executable: run the verb, and map whatever fails to runc's exit
 * codes through the one error sink. Only this file calls process.exit.
 *
 * The verbs engines send for every container (create, start, state, kill, delete, run) in
 * their plain shapes skip loading commander (src/cli/fast.ts); everything else goes through
 * the commander program (src/cli/program.ts), loaded on demand. Both run the verb's one
 * definition (src/cli/commands/), which calls the library (src/runtime/) and prints.
 */
import { fastPath, verbOf } from './cli/fast.ts';
import { earlyLogOptions, runtimeFor } from './cli/globals.ts';
import { report } from './cli/sink.ts';
import { RuntsError } from './errors.ts';
import { closeLog, configureLog } from './log.ts';

async function main(argv: string[]): Promise<number> {
  let verb: string | undefined;
  try {
    // The fast path parses the global flags itself (strictly); only a command line it leaves
    // to commander needs the lenient early read of the logging flags (0.1 ms of every engine call).
    const fast = await fastPath(argv.slice(2));
    if (fast) {
      verb = fast.verb;
      await configureLog(fast.globals);
      await fast.def.action({ globals: fast.globals, runtime: () => runtimeFor(fast.globals) }, fast.args, fast.opts);
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    }
    await configureLog(earlyLogOptions(argv.slice(2)));
    const { buildProgram } = await import('./cli/program.ts');
    const program = buildProgram();
    // commander answers `<unknown> --help` with the global help and status 0, which would tell
    // a caller probing for a verb (`runts exec --help`) that it exists.
    const named = verbOf(argv.slice(2));
    if (named && named !== 'help' && !program.commands.some((c) => c.name() === named || c.aliases().includes(named))) {
      throw new RuntsError(`unknown command '${named}'`);
    }
    program.hook('preAction', async (_cmd, action) => {
      verb = action.name();
      await configureLog(action.optsWithGlobals());
    });
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return report(e, verb);
  }
}

main(process.argv).then((code) => {
  closeLog();
  process.exit(code);
});
