#!/usr/bin/env bash
# Side-by-side QR benchmark: Jobpack core vs zxing-cpp, in one run, on one core.
#   scripts/bench-qr.sh [FRAMES_PER_SIZE]
# Needs python3 + pip (installs zxing-cpp, qrcode, pillow, numpy) and cargo.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samples="${QR_SAMPLES:-$root/../shared/qr-samples}"
count="${1:-30}"
out="${QR_BENCH_OUT:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

python3 -m pip install -q zxing-cpp qrcode pillow numpy
cargo build -j2 --release -p jobpack
python3 "$root/bench/qr/gen_frames.py" "$out" --count "$count" --seed 7

sets=("$samples" "$out/frames-1280x720" "$out/frames-1920x1080" "$out/no-code-1280x720")
# One core for both engines, so the comparison is like for like.
pin=(); command -v taskset >/dev/null && pin=(taskset -c 0)
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1
"${pin[@]}" "$CARGO_TARGET_DIR/release/jobpack" bench-qr --repeat 3 "${sets[@]}" > "$out/core.jsonl"
"${pin[@]}" python3 "$root/bench/qr/zxing_run.py" --repeat 3 "${sets[@]}" > "$out/zxing.jsonl"
python3 "$root/bench/qr/report.py" "$out/core.jsonl" "$out/zxing.jsonl"
echo "raw results: $out"
