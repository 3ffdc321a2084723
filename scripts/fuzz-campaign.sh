#!/usr/bin/env bash
# A long fuzzing campaign over every target in fuzz/ (issue #12): builds the libFuzzer binaries
# (nightly, cargo-fuzz), then runs each target for SECONDS in LANES parallel lanes at the lowest
# CPU priority, so it can soak up a machine's idle time beside other work.
#   scripts/fuzz-campaign.sh [SECONDS_PER_TARGET=840] [LANES=2]
# Grown corpora go to fuzz/corpus/NAME (git-ignored; the checked-in seeds stay in fuzz/seeds/),
# crashes to fuzz/artifacts/NAME/, logs and a per-target summary (wall time, executions) to
# fuzz/campaign/. A crash found here becomes a test by adding its input under fuzz/seeds/NAME/,
# which core/tests/fuzz_corpus.rs replays on every `cargo test`.
set -uo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-840}"
lanes="${2:-2}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
nice -n 5 cargo +nightly fuzz build -O || exit 1
bin="target/x86_64-unknown-linux-gnu/release"
mapfile -t targets < <(cargo +nightly fuzz list)
mkdir -p campaign
summary="campaign/summary.txt"
run_lane() {
  for t in "$@"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    start=$(date +%s)
    nice -n 19 "$bin/$t" "corpus/$t" "seeds/$t" -max_total_time="$secs" -timeout=25 \
      -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="artifacts/$t/" \
      >"campaign/$t.log" 2>&1
    rc=$?
    execs=$(grep -E '^stat::number_of_executed_units' "campaign/$t.log" | awk '{print $2}')
    echo "$t rc=$rc wall=$(($(date +%s) - start))s executions=${execs:-?}" >>"$summary"
  done
}
for ((lane = 0; lane < lanes; lane++)); do
  mine=()
  for ((i = lane; i < ${#targets[@]}; i += lanes)); do mine+=("${targets[$i]}"); done
  run_lane "${mine[@]}" &
done
wait
cat "$summary"
find artifacts -type f | grep -q . && { echo "crashes found: see fuzz/artifacts/" >&2; exit 1; }
echo "no crashes"
