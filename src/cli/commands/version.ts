/** `runts version`: the same text as `--version`. */
import { Command } from 'commander';
import { VERSION_TEXT } from '../../version.ts';

export default function versionCommand(): Command {
  return new Command('version')
    .description('print the version')
    .action(async () => {
      const { print } = await import('../output.ts');
      print(`${VERSION_TEXT}\n`);
    });
}
