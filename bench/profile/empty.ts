// Baseline for bench/profile.sh: a `bun build --compile` binary that does nothing. Its start-up
// is the floor for every runts call.
export {};
