/** Printing a verb's result on stdout (src/cli/stdio.ts says how, and why not process.stdout). */
import { writeOut } from './stdio.ts';

export function print(text: string): Promise<void> {
  return writeOut(1, text);
}
