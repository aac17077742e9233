/** Signal names and numbers as `runc kill` accepts them: KILL, SIGKILL, 9. */
import { RuntsError } from '../errors.ts';
import { SIGNALS } from '../spec/tables.generated.ts';
import { isDigits } from '../text.ts';

/** (By hand, not every() and Object.hasOwn: src/lists.ts.) */
export function parseSignal(raw: string): number {
  if (isDigits(raw)) {
    const n = Number(raw);
    // 0 is runc's liveness probe: nothing is sent, the call fails if the init is gone.
    if (n >= 0 && n < 65) return n;
  } else {
    const name = raw.toUpperCase().startsWith('SIG') ? raw.toUpperCase() : `SIG${raw.toUpperCase()}`;
    // Upper case: never a name Object.prototype has.
    const n = SIGNALS[name];
    if (typeof n === 'number') return n;
  }
  throw new RuntsError(`unknown signal "${raw}"`);
}
