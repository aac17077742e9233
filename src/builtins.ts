/**
 * A Node built-in module, synchronously: through process.getBuiltinModule where the runtime has
 * one (Bun, Deno, Node 20.16 and later), else through a require made from node:module, which
 * is imported only there (the top-level await below). Imported at the top of a module on the
 * compiled runts's path, node:module costs each of its calls 0.1 ms, and it needs none of this.
 */
type WithBuiltins = { getBuiltinModule?: (id: string) => unknown };

const legacyRequire = (process as WithBuiltins).getBuiltinModule
  ? undefined
  : (await import('node:module')).createRequire(import.meta.url);

export function builtinModule<T>(id: string): T {
  const p = process as WithBuiltins;
  return (p.getBuiltinModule ? p.getBuiltinModule(id) : legacyRequire!(id)) as T;
}
