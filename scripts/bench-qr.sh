#!/usr/bin/env bash
# Side-by-side QR benchmark: Jobpack core vs zxing-cpp, in one run, on one core.
#   scripts/bench-qr.sh [FRAMES_PER_SIZE] [LOFT_FRAMES_PER_CONDITION] [CLIPS]
# Needs python3 + pip (installs zxing-cpp, qrcode, pillow, numpy) and cargo.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
samples="${QR_SAMPLES:-$root/../shared/qr-samples}"
count="${1:-30}"
loft="${2:-12}"
clips="${3:-40}"
out="${QR_BENCH_OUT:-$(mktemp -d)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

python3 -m pip install -q zxing-cpp qrcode pillow numpy
cargo build -j2 --release -p jobpack
python3 "$root/bench/qr/gen_frames.py" "$out" --count "$count" --seed 7
# Frames like a phone in a loft, one set per condition, and aiming clips.
(cd "$root/bench/qr" && python3 gen_loft.py "$out" --count "$loft" --clips "$clips" --seed 11)

sets=("$samples" "$out/frames-1280x720" "$out/frames-1920x1080" "$out/no-code-1280x720")
loft_sets=("$out"/loft-*)
# One core for both engines, so the comparison is like for like.
pin=(); command -v taskset >/dev/null && pin=(taskset -c 0)
export OMP_NUM_THREADS=1 RAYON_NUM_THREADS=1
jobpack="$CARGO_TARGET_DIR/release/jobpack"
{
  "${pin[@]}" "$jobpack" bench-qr --repeat 3 "${sets[@]}"
  # Loft labels may carry a second code: read as the scan session does, past codes that
  # are not ONT labels (zxing-cpp returns every code; any of them counts).
  "${pin[@]}" "$jobpack" bench-qr --repeat 3 --pick-ont "${loft_sets[@]}"
  "${pin[@]}" "$jobpack" bench-qr --clips "$out/clips" --hostile
} > "$out/core.jsonl"
"${pin[@]}" python3 "$root/bench/qr/zxing_run.py" --repeat 3 "${sets[@]}" "${loft_sets[@]}" > "$out/zxing.jsonl"
python3 "$root/bench/qr/report.py" "$out/core.jsonl" "$out/zxing.jsonl"
echo "raw results: $out"
