/**
 * The entry of the runts executable: build the program, run the verb, and map whatever fails
 * to runc's exit codes through the one error sink. Only this file calls process.exit.
 */
import { buildProgram } from './cli/program.ts';
import { report } from './cli/sink.ts';
import { closeLog, configureLog } from './log.ts';

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let verb: string | undefined;
  program.hook('preAction', (_cmd, action) => {
    verb = action.name();
    configureLog(action.optsWithGlobals());
  });
  try {
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
