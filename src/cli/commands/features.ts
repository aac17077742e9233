/** `runts features`: what this build supports, as runtime-spec features.md (and `runc features`). */
import { Command } from 'commander';

export default function featuresCommand(): Command {
  return new Command('features')
    .description('show the enabled features')
    .action(async () => {
      const [{ features }, { print }] = await Promise.all([
        import('../../container/features.ts'),
        import('../output.ts'),
      ]);
      print(`${JSON.stringify(features(), null, 4)}\n`);
    });
}
