//! The init program: stage 1 and the container init of runts, started by the runtime
//! (`runts_core::process::InitProgram`), never by hand. See crates/core/src/process/bootstrap.rs.

fn main() {
    runts_core::process::init_main()
}
