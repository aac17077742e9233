/** Version text for `--version` and `version`, shaped as runc's. */
declare const RUNTS_COMMIT: string | undefined;

export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.0.2-dev';
export const COMMIT = typeof RUNTS_COMMIT === 'string' ? RUNTS_COMMIT : 'unknown';
export const VERSION_TEXT = `runts version ${VERSION}\ncommit: ${COMMIT}\nspec: ${SPEC_VERSION}`;
