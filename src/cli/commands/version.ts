/** `runts version`: the same text as `--version`. */
import { VERSION_TEXT } from '../../version.ts';
import type { VerbDef } from '../verb.ts';

const version: VerbDef = {
  name: 'version',
  description: 'print the version',
  args: [],
  flags: [],
  async action() {
    await (await import('../output.ts')).print(`${VERSION_TEXT}\n`);
  },
};
export default version;
