//! runts-core: the Linux work of the runts OCI runtime.
//!
//! The TypeScript side resolves an OCI bundle into a [`config::Config`]; this crate forks the
//! container init from it ([`process`]), which builds the namespaces, the root filesystem
//! ([`rootfs`]), the credentials ([`caps`], [`rlimits`]) and execs the user process. The napi
//! crate is a thin adapter over the public functions here.

pub mod caps;
pub mod cgroups;
pub mod config;
pub mod console;
pub mod control;
pub mod criu;
pub mod error;
pub mod files;
pub mod hooks;
pub mod idmap;
pub mod lsm;
pub mod net;
pub mod notify;
pub mod namespaces;
pub mod probe;
pub mod process;
pub mod rlimits;
pub mod rootfs;
pub mod sched;
pub mod seccomp;
pub mod tables;

pub use config::Config;
pub use error::{InitError, Result};
