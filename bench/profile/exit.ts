// Baseline for bench/profile.sh: does nothing, then process.exit(0) as src/main.ts does.
process.exit(0);
