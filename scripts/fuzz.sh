#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ briefly (FUZZ_SECS each, default 30): argument parsing
# in every content type and list encoding, and cursor decoding. Called from scripts/test.sh;
# longer runs: FUZZ_SECS=3600 bash scripts/fuzz.sh (see README, "Fuzzing").
# cargo-fuzz needs nightly features; on the stable toolchain RUSTC_BOOTSTRAP=1 enables them.
# A crash fails the script; its input is kept under fuzz/artifacts/<target>/ for replay
# (`RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>` from fuzz/).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${FUZZ_SECS:-30}"
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
# Outside the main workspace: its own target dir (under CARGO_TARGET_DIR when set).
target_dir="${CARGO_TARGET_DIR:-$PWD/../target}/fuzz"
export RUSTC_BOOTSTRAP=1
# `cargo fuzz run` has no --locked: check first that fuzz/Cargo.lock is current, so a stale
# lockfile fails here instead of being rewritten by the run.
cargo metadata --locked --format-version 1 >/dev/null
for t in $(cargo fuzz list); do
  dict=()
  if [ -f "dict/$t.dict" ]; then dict=("-dict=dict/$t.dict"); fi
  echo "== fuzz $t for ${secs}s"
  mkdir -p "corpus/$t"
  # corpus/<t> collects what the fuzzer finds (not committed); seeds/<t> are committed inputs
  # in each target's layout, read only.
  cargo fuzz run --target-dir "$target_dir" "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}"
done
