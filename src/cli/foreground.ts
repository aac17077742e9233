/**
 * A container process in the foreground, as runc's `run` and `exec` keep one: signals
 * forwarded to it from before it starts (so that none is missed), a pty master the runtime
 * holds proxied to our stdio (runc's tty.recvtty), and its exit status (128+N for signal N)
 * once it has exited, with all it wrote on our stdout. The host terminal is restored on every
 * path, before the error sink prints anything.
 */
export interface Foreground {
  readonly pid: number;
  readonly consoleFd: number;
  wait(): Promise<number>;
}

/** `start` starts the process, calling `onCreated` once it is set up and before it runs. */
export async function foreground(start: (onCreated: (h: Foreground) => void) => Promise<Foreground>): Promise<number> {
  // One after the other: Promise.all is a builtin compiled on first use (src/lists.ts).
  const { forwardSignals } = await import('../process/signals.ts');
  const { proxyConsole } = await import('../process/console.ts');
  let stopForwarding = () => {};
  let tty: { finish(): void } | undefined;
  try {
    const handle = await start((h) => {
      stopForwarding = forwardSignals(h.pid);
      if (h.consoleFd >= 0) tty = proxyConsole(h.consoleFd);
    });
    const status = await handle.wait();
    tty?.finish();
    return status;
  } finally {
    tty?.finish();
    stopForwarding();
  }
}
