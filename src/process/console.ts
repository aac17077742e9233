/**
 * The console of `process.terminal`: runc's rules for `--console-socket`, the initial window
 * size, and the proxy a foreground `run` puts between its stdio and the container's pty.
 *
 * The pty itself is opened by the container init (crates/core/src/process/init.rs) and its
 * master reaches the runtime over the sync socket; with `--console-socket` the core passes it
 * on (crates/core/src/console.rs), otherwise `create` returns it as `consoleFd`.
 */
import { RuntsError } from '../errors.ts';
import { startConsoleProxy } from '../native/index.ts';

/**
 * runc's checkTerminal (utils_linux.go), in runts' words. A detached container (`create`,
 * `run -d`) with a terminal has nobody to hand the pty master to but the console socket; a
 * console socket is only for a detached container with a terminal (a foreground `run` proxies
 * the pty itself).
 */
export function checkConsole(terminal: boolean, consoleSocket: string | undefined, detach: boolean): void {
  if (detach && terminal && !consoleSocket) {
    throw new RuntsError('cannot allocate tty if runts will detach without setting console socket');
  }
  if ((!detach || !terminal) && consoleSocket) {
    throw new RuntsError('cannot use console socket if runts will not detach or allocate tty');
  }
}

/** A running proxy; `finish` flushes the container's output and restores the terminal. */
export interface ConsoleProxy {
  finish(): void;
}

/**
 * Copies stdin → the pty master and the master → stdout on a native thread (the JS thread is
 * mostly waiting for the init to exit), with the host terminal in raw mode; SIGWINCH copies
 * the host's window size to the pty. Takes ownership of `masterFd`. `finish` is idempotent;
 * call it after the init has exited, and in a `finally` so the terminal is restored on errors.
 */
export function proxyConsole(masterFd: number): ConsoleProxy {
  const native = startConsoleProxy(masterFd);
  const onWinch = () => {
    try {
      native.resize();
    } catch {
      // the host terminal went away; nothing to copy
    }
  };
  let winch = false;
  try {
    process.on('SIGWINCH', onWinch);
    winch = true;
  } catch {
    // a runtime that cannot watch SIGWINCH: the size stays the one at start
  }
  let done = false;
  return {
    finish() {
      if (done) return;
      done = true;
      if (winch) process.off('SIGWINCH', onWinch);
      native.finish();
    },
  };
}
