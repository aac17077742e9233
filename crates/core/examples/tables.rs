//! Writes the core's name tables as the TypeScript module the CLI validates with (see
//! runts_core::tables): `npm run build:tables`, which runs
//!
//! ```text
//! cargo run -p runts-core --example tables -- src/spec/tables.generated.ts
//! ```
//!
//! With no argument the module goes to stdout. The file is rewritten only when its content
//! changes, through a temporary file and a rename, so a failed run never leaves half a module.

use std::process::ExitCode;

fn main() -> ExitCode {
    let ts = runts_core::tables::typescript();
    let Some(path) = std::env::args_os().nth(1) else {
        print!("{ts}");
        return ExitCode::SUCCESS;
    };
    let path = std::path::PathBuf::from(path);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(ts.as_str()) {
        return ExitCode::SUCCESS;
    }
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    match std::fs::write(&tmp, &ts).and_then(|()| std::fs::rename(&tmp, &path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            eprintln!("tables: write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
