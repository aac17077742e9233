/**
 * What `checkpoint` and `restore` share: their CRIU flags (runc's), checked and resolved as
 * runc's criuOptions does, for the core's CRIU driver (crates/core/src/criu/).
 */
import { RuntsError } from '../errors.ts';
import { absolute } from '../paths.ts';
import { inUserNamespace } from './options.ts';
import type { Resolved } from './options.ts';

/** The CRIU flags both verbs take. */
export interface CriuOptions {
  /** Where the images are (default `./checkpoint`, as runc). */
  imagePath?: string;
  /** Where CRIU's log and work files go (default: the images directory). */
  workPath?: string;
  tcpEstablished?: boolean;
  extUnixSk?: boolean;
  shellJob?: boolean;
  fileLocks?: boolean;
  autoDedup?: boolean;
  lazyPages?: boolean;
  /** CRIU's --manage-cgroups-mode: "soft" (CRIU's default), "full", "strict" or "ignore". */
  manageCgroupsMode?: string;
  /** Namespaces CRIU creates empty instead of restoring them; only "network" (runc). */
  emptyNs?: string[];
}

const CLONE_NEWNET = 0x40000000;
const CG_MODES = ['', 'soft', 'full', 'strict', 'ignore'];
/** CRIU reads this (when it exists) unless the bundle's org.criu.config annotation says otherwise. */
const CRIU_CONFIG = '/etc/criu/runts.conf';

/** The options the core's CheckpointOptions and RestoreOptions share, resolved (but configFile). */
export function criuCommon(g: Resolved, o: CriuOptions) {
  if (!CG_MODES.includes(o.manageCgroupsMode ?? '')) throw new RuntsError('Invalid manage-cgroups-mode value');
  return {
    criu: g.criu,
    imagesDir: imagesDir(o.imagePath),
    workDir: o.workPath ? absolute(o.workPath) : undefined,
    tcpEstablished: !!o.tcpEstablished,
    extUnixSk: !!o.extUnixSk,
    shellJob: !!o.shellJob,
    fileLocks: !!o.fileLocks,
    autoDedup: !!o.autoDedup,
    lazyPages: !!o.lazyPages,
    manageCgroupsMode: o.manageCgroupsMode || undefined,
    emptyNs: emptyNsMask(o.emptyNs),
  };
}

export function imagesDir(imagePath: string | undefined): string {
  return absolute(imagePath || 'checkpoint');
}

/** runc: the network namespace is always left empty (runc does not manage network devices). */
export function emptyNsMask(list: string[] = []): number {
  for (const ns of list) if (ns !== 'network') throw new RuntsError(`namespace ${JSON.stringify(ns)} is not supported`);
  return CLONE_NEWNET;
}

/**
 * runc's handleCriuConfigurationFile: the org.criu.config annotation names CRIU's
 * configuration file (empty: none); without it, the runtime's own, which CRIU skips when
 * missing. CRIU's settings there override the ones runts sends.
 */
export function configFile(annotations: Record<string, string> | undefined): string | undefined {
  const named = annotations?.['org.criu.config'];
  if (named === undefined) return CRIU_CONFIG;
  return named || undefined;
}

/** runc's warning: CRIU of rootless containers is untested. */
export async function warnRootless(g: Resolved, verb: string): Promise<void> {
  if (process.geteuid?.() !== 0 || inUserNamespace()) await g.logger.warn(`runts ${verb} is untested with rootless containers`);
}

/** `--page-server ADDRESS:PORT` as Go's net.SplitHostPort splits it (IPv6 in brackets). */
export function pageServer(spec: string): { address: string; port: number } {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(spec) ?? /^([^:[\]]*):([^:]*)$/.exec(spec);
  if (!m || !m[1] || !m[2]) throw new RuntsError('Use --page-server ADDRESS:PORT to specify page server');
  if (!/^[+-]?\d+$/.test(m[2]) || !Number.isSafeInteger(Number(m[2]))) throw new RuntsError('Invalid port number');
  return { address: m[1], port: Number(m[2]) };
}
