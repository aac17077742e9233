/** Signal names and numbers as `runc kill` accepts them: KILL, SIGKILL, 9. */
import { RuntsError } from '../errors.ts';
import { SIGNALS } from '../spec/tables.generated.ts';

export function parseSignal(raw: string): number {
  if (raw !== '' && [...raw].every((c) => c >= '0' && c <= '9')) {
    const n = Number(raw);
    // 0 is runc's liveness probe: nothing is sent, the call fails if the init is gone.
    if (n >= 0 && n < 65) return n;
  } else {
    const name = raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
    if (Object.hasOwn(SIGNALS, name)) return SIGNALS[name];
  }
  throw new RuntsError(`unknown signal "${raw}"`);
}
