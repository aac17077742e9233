// The README's library example (the import there is 'runts'): a busybox container's whole
// life from Node, Bun or Deno. Usage: lifecycle.ts BUNDLE ROOT — the bundle's process should
// run for a while (e.g. `sleep 100`). test/runtimes/library.test.ts runs it under all three.
import { NotFoundError, Runtime } from '../src/index.ts';

const [bundle, root] = process.argv.slice(2);
const rt = new Runtime({ root });
const id = `example-${process.pid}`;

await rt.create(id, { bundle });
await rt.start(id);
const { pid, status } = await rt.state(id);
console.log(`${id}: ${status}, pid ${pid}`);

const probe = await rt.exec(id, { args: ['sh', '-c', 'echo "exec: pid $$ in the container"; exit 3'] });
console.log(`exec exited with ${await probe.wait()}`);

let n = 0;
for await (const ev of rt.stats(id, { intervalMs: 100 })) {
  const pids = (ev.data?.pids as { current?: number } | undefined)?.current;
  console.log(`stats: ${pids} process(es)`);
  if (++n === 3) break;
}

await rt.kill(id, 'KILL');
await rt.wait(id);
console.log(`${id}: ${(await rt.state(id)).status}`);
await rt.delete(id);
try {
  await rt.state(id);
} catch (e) {
  if (!(e instanceof NotFoundError)) throw e;
  console.log(`after delete: ${e.message}`);
}
