/** Version text for `--version` and `version`, shaped as runc's. */
declare const RUNTS_COMMIT: string | undefined;

export const VERSION = '0.1.0';
/**
 * The `ociVersion` runc 1.1.5 writes (the version of the runtime-spec it vendors). Kept as is,
 * rather than "1.0.2", so a drop-in replacement writes the identical files and state.
 */
export const SPEC_VERSION = '1.0.2-dev';
/**
 * The newest runtime-spec whose configs runts carries out, as `features` says it (runc 1.4
 * says 1.3.0 too): everything of 1.3.0 but Intel RDT, which is refused as not supported
 * rather than ignored.
 */
export const SPEC_VERSION_MAX = '1.3.0';
export const COMMIT = typeof RUNTS_COMMIT === 'string' ? RUNTS_COMMIT : 'unknown';
export const VERSION_TEXT = `runts version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}`;
