#!/usr/bin/env bash
# Builds JobpackFFI.xcframework — the Rust core as static libraries for iOS devices
# (aarch64-apple-ios), the iOS simulator (aarch64-apple-ios-sim and x86_64-apple-ios, one fat
# library) and macOS (aarch64-apple-darwin), each with the generated C header and module map —
# and copies the generated Swift into Sources/Jobpack/Generated. Then:
#   swift build --package-path ios        (or an Xcode app depending on the JobpackApp product)
# macOS with Xcode and rustup only; not run on the project's Linux machines (no Xcode, no
# Apple SDK), where scripts/test.sh tests the same Swift against the host library instead.
# Usage: bash ios/build-xcframework.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null; then
  echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo, the iOS SDKs)" >&2
  exit 1
fi

export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin)
rustup target add "${targets[@]}"
source scripts/phone-build-env.sh
for target in "${targets[@]}"; do
  # The library alone (never --workspace: see scripts/bindings.sh), size-optimised.
  cargo build -p jobpack-ffi --profile release-ffi --target "$target"
done
cargo_target="${CARGO_TARGET_DIR:-$PWD/target}"

# Bindings from the host library (metadata is read from symbols, so before any stripping),
# and the generated Swift copied into the package.
bash scripts/bindings.sh
bash ios/use-bindings.sh
swift_out=target/bindings/swift

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/headers"
cp "$swift_out/JobpackFFI.h" "$work/headers/"
cp "$swift_out/JobpackFFI.modulemap" "$work/headers/module.modulemap"

lib() { echo "$cargo_target/$1/release-ffi/libjobpack_ffi.a"; }
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/libjobpack_ffi_sim.a"

rm -rf ios/JobpackFFI.xcframework
xcodebuild -create-xcframework \
  -library "$(lib aarch64-apple-ios)" -headers "$work/headers" \
  -library "$work/libjobpack_ffi_sim.a" -headers "$work/headers" \
  -library "$(lib aarch64-apple-darwin)" -headers "$work/headers" \
  -output ios/JobpackFFI.xcframework

echo "ios/JobpackFFI.xcframework and ios/Sources/Jobpack/Generated are ready: swift build --package-path ios"
