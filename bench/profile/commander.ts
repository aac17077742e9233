// Baseline for bench/profile.sh: commander alone, parsing `state <id>` with a one-verb program,
// then process.exit(0) as src/main.ts does.
import { Command } from 'commander';

const program = new Command('x').exitOverride();
program.command('state').argument('<id>').action(() => {});
program.parseAsync(process.argv).then(() => process.exit(0));
