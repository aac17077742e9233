/**
 * runts as a library, for Node (≥ 20), Bun and Deno:
 *
 *     import { Runtime } from 'runts';
 *     const rt = new Runtime({ root: '/run/my-tool' });
 *     await rt.create('c1', { bundle: '/path/to/bundle' });
 *
 * See the README's "Library" section.
 */
export { Runtime } from './runtime/runtime.ts';
export type {
  CheckFinding,
  CheckpointOptions,
  ContainerEvent,
  CreateOptions,
  DeleteOptions,
  EventOptions,
  ExecHandle,
  ExecOptions,
  Features,
  KillOptions,
  Logger,
  Resources,
  RestoreOptions,
  RunHandle,
  RunOptions,
  RuntimeOptions,
  Spec,
  StartOptions,
  StateView,
} from './runtime/runtime.ts';
export { defaultRoot } from './runtime/options.ts';
export {
  AlreadyExistsError,
  BadRecordError,
  FsError,
  InitError,
  NotFoundError,
  NotSupportedError,
  RuntsError,
  StateError,
  ValidationError,
} from './errors.ts';
export type { Problem } from './errors.ts';
export type { Exit } from './native/binding.js';
