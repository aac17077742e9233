/**
 * `runts run`: create and run a container, as `runc run`. In the foreground runts relays
 * signals to the container, proxies its terminal (process.terminal without a console socket)
 * and exits with its status (128+N when signal N killed it); with -d it returns at once.
 */
import { BUILD_FLAGS, buildOptions } from './create.ts';
import { ID_ARG } from '../verb.ts';
import type { VerbDef } from '../verb.ts';

const run: VerbDef = {
  name: 'run',
  description: 'create and run a container',
  args: [ID_ARG],
  flags: [
    ...BUILD_FLAGS,
    { flags: '-d, --detach', description: "detach from the container's process" },
    { flags: '--keep', description: 'do not delete the container after it exits' },
    { flags: '--no-subreaper', description: 'disable the use of the subreaper used to reap reparented processes' },
  ],
  async action(ctx, [id], o) {
    const rt = await ctx.runtime();
    if (o.detach) {
      await rt.runDetached(id, buildOptions(o));
      return;
    }
    const [{ forwardSignals }, { proxyConsole }] = await Promise.all([
      import('../../process/signals.ts'),
      import('../../process/console.ts'),
    ]);
    let stopForwarding = () => {};
    let tty: { finish(): void } | undefined;
    try {
      const handle = await rt.run(id, {
        ...buildOptions(o),
        keep: !!o.keep,
        subreaper: o.subreaper !== false,
        // Before the process starts: no signal and no output is missed.
        onCreated(h) {
          stopForwarding = forwardSignals(h.pid);
          // With a terminal and no console socket the pty master is ours: proxy it to our
          // stdio (runc's tty.recvtty). With a console socket the receiver has it.
          if (h.consoleFd >= 0) tty = proxyConsole(h.consoleFd);
        },
      });
      const status = await handle.wait();
      // All the container wrote reaches our stdout before we exit.
      tty?.finish();
      process.exitCode = status;
    } finally {
      // Restores the host terminal on every path, before the error sink prints anything.
      tty?.finish();
      stopForwarding();
    }
  },
};
export default run;
