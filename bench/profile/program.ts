// Baseline for bench/profile.sh: loads runts's commander program (src/cli/program.ts and every
// verb file it imports) and builds it, then exits without parsing: what building the program
// costs before any verb runs.
import { buildProgram } from '../../src/cli/program.ts';

buildProgram();
process.exit(0);
