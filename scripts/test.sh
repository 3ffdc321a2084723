#!/usr/bin/env bash
# Runs every test suite of the project, installing first whatever a fresh machine of the
# project's kind (Debian, Rust by rustup, Python, Java) lacks. CI runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
# Two cores: two build jobs, and tests that start servers stay within the machine.
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

section() { printf '\n==> %s\n' "$*"; }

# Maven is quiet: a suite's counts come from its Surefire reports, as "NAME: N passed, N failed".
surefire_summary() {
  awk -v name="$1" 'match($0, /<testsuite [^>]*>/) {
       head = substr($0, RSTART, RLENGTH)
       n = split("tests failures errors skipped", keys, " ")
       for (i = 1; i <= n; i++) {
         if (match(head, " " keys[i] "=\"[0-9]+\"")) {
           v = substr(head, RSTART, RLENGTH); gsub(/[^0-9]/, "", v); c[keys[i]] += v
         }
       }
     }
     END { printf "%s: %d passed, %d failed\n", name, c["tests"] - c["failures"] - c["errors"] - c["skipped"], c["failures"] + c["errors"] }' \
    "$2"/TEST-*.xml 2>/dev/null
}

section "toolchain"
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: this machine kind ships Rust by rustup" >&2
  exit 1
fi
# Format and lint are part of the test command, so their tools are required, not optional.
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  echo "rustfmt and clippy are required: rustup component add rustfmt clippy failed" >&2
  exit 1
fi
cargo --version
source scripts/install.sh
# The desktop camera feature (nokhwa) generates bindings with bindgen, which loads libclang.
need_libclang
echo "libclang for bindgen: $(libclang_path)"
need_sqlcipher_build
# The hub board's headless-browser test drives Debian's Chromium through chromedriver.
need_chromium
# The hub's tests run on SQLite and on a real PostgreSQL server they start themselves.
need_postgresql

section "python tools"
source scripts/python-env.sh
"$JOBPACK_PYTHON" -c "import moto, pytest; print('moto', moto.__version__, '· pytest', pytest.__version__)"

section "format"
cargo fmt --all --check

section "lint"
cargo clippy --workspace --all-targets -- -D warnings
# The camera feature is built too, so it cannot rot (no camera is needed to build it).
cargo clippy -p jobpack-core -p jobpack --all-targets --features jobpack-core/camera -- -D warnings
cargo build -p jobpack --features jobpack-core/camera

section "rust tests"
mkdir -p target
cargo test --workspace 2>&1 | tee target/test-rust.log

section "bindings"
# The release phone library and its Kotlin, Swift and Python bindings (target/bindings/).
bash scripts/bindings.sh
# The foreign suites start the simulator through the CLI that `cargo test` just built
# (its integration tests need the binary). `cargo build -p jobpack` here would compile
# core, sim and CLI again for the package's own feature set, which differs from the
# workspace's: a needless minute or more on CI.
export JOBPACK_BIN="${CARGO_TARGET_DIR:-$PWD/target}/debug/jobpack"
test -x "$JOBPACK_BIN" || cargo build -p jobpack

section "python bindings tests"
PYTHONPATH="$PWD/target/bindings/python" "$JOBPACK_PYTHON" -m pytest -q -p no:cacheprovider \
  bindings/python/tests 2>&1 | tee target/test-python.log

section "kotlin bindings tests"
# Maven running on a JDK of at least 17 (the Kotlin target): from Debian when missing.
maven_java_major() { mvn -B -v 2>/dev/null | sed -n 's/^Java version: \([0-9]*\).*/\1/p' | head -n 1; }
if ! [ "$(maven_java_major)" -ge 17 ] 2>/dev/null; then
  need_debs openjdk-17-jdk-headless maven
  if ! [ "$(maven_java_major)" -ge 17 ] 2>/dev/null; then
    echo "Maven does not run on a JDK >= 17 (mvn -v says: $(mvn -v 2>&1 | grep -m1 'Java version'))" >&2
    exit 1
  fi
fi
reports=target/kotlin-build/surefire-reports
rm -rf "$reports"
kotlin_status=0
mvn -B -q -f bindings/kotlin/pom.xml test || kotlin_status=$?
surefire_summary kotlin "$reports" | tee target/test-kotlin.log
[ "$kotlin_status" -eq 0 ] || exit "$kotlin_status"

section "android shell tests"
# android/: the presenters (plain JUnit) and the screens (Robolectric, SDK 35) against the
# host library from target/bindings/kotlin, the simulator (JOBPACK_BIN) and moto's S3
# (JOBPACK_PYTHON). Maven resolves everything, the Android framework jar included; Robolectric
# then runs offline from the local repository (android/pom.xml says how).
android_reports=target/android-build/surefire-reports
rm -rf "$android_reports"
android_status=0
JOBPACK_PYTHON="$JOBPACK_PYTHON" mvn -B -q -f android/pom.xml test || android_status=$?
surefire_summary android "$android_reports" | tee target/test-android.log
[ "$android_status" -eq 0 ] || exit "$android_status"

section "swift tests"
# The iOS package's Swift layer and view models (ios/), on Linux against the host library:
# Swift from a cached Debian 13 tree when the machine has none (scripts/swift-env.sh).
source scripts/swift-env.sh
bash ios/use-bindings.sh
# CityFibre's photo bucket (moto) on the host; the tests reach it over loopback.
s3_out=target/swift-s3-endpoint
rm -f "$s3_out"
"$JOBPACK_PYTHON" ios/Tests/s3_stand_in.py cityfibre-evidence >"$s3_out" &
s3_pid=$!
trap 'kill "$s3_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -s "$s3_out" ] && break
  kill -0 "$s3_pid" 2>/dev/null || { echo "the S3 stand-in did not start" >&2; exit 1; }
  sleep 0.2
done
export JOBPACK_S3_ENDPOINT=$(head -n 1 "$s3_out")
export JOBPACK_S3_BUCKET=cityfibre-evidence
swift_status=0
jobpack_swift ios test 2>&1 | tee target/swift-test.out || swift_status=$?
kill "$s3_pid" 2>/dev/null || true
wait "$s3_pid" 2>/dev/null || true
trap - EXIT
# XCTest's closing lines ("Executed N tests, with [S tests skipped and] M failures ..."),
# one per bundle and one for all: the last one counts.
awk 'function num(pattern) { return match($0, pattern) ? substr($0, RSTART, RLENGTH) + 0 : 0 }
     /Executed [0-9]+ tests?, with / {
       n = num("[0-9]+ tests?,"); s = num("[0-9]+ tests? skipped"); f = num("[0-9]+ failures?")
     }
     END { printf "swift: %d passed, %d failed, %d skipped\n", n - f - s, f, s }' \
  target/swift-test.out | tee target/test-swift.log
[ "$swift_status" -eq 0 ] || exit "$swift_status"

# One closing line for the whole run, counted from every suite's own summary.
passed=$(grep -ho '[0-9]* passed' target/test-*.log | awk '{s+=$1} END {print s+0}')
failed=$(grep -ho '[0-9]* failed' target/test-*.log | awk '{s+=$1} END {print s+0}')
printf '\ntotal: %s passed, %s failed\n' "$passed" "$failed"
