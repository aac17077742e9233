/**
 * Signal forwarding: the runtime relays what it receives to the container's init, as runc does
 * (every catchable signal but SIGCHLD, SIGWINCH — the tty proxy resizes instead — and SIGURG).
 */
import { signal as sendSignal } from '../native/index.ts';
import { SIGNALS } from '../spec/tables.generated.ts';

/** The signals relayed to the container. SIGKILL/SIGSTOP cannot be caught; SEGV/BUS/FPE/ILL
 *  are reserved by the JavaScript runtimes. */
const FORWARDED = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGABRT', 'SIGUSR1', 'SIGUSR2', 'SIGPIPE', 'SIGALRM', 'SIGTERM',
  'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGXCPU', 'SIGXFSZ', 'SIGVTALRM', 'SIGPROF',
  'SIGIO', 'SIGPWR', 'SIGSYS', 'SIGTRAP',
] as const;

/** Relays signals to `pid` until the returned function is called. */
export function forwardSignals(pid: number): () => void {
  const installed: Array<[NodeJS.Signals, () => void]> = [];
  for (const name of FORWARDED) {
    const num = SIGNALS[name];
    const handler = () => {
      try {
        sendSignal(pid, num);
      } catch {
        // The init is gone; its exit is being reaped.
      }
    };
    try {
      process.on(name, handler);
      installed.push([name, handler]);
    } catch {
      // Deno and Bun refuse a few signals; those are simply not relayed.
    }
  }
  return () => {
    for (const [name, handler] of installed) process.off(name, handler);
  };
}
