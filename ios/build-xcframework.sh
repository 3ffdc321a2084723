#!/usr/bin/env bash
# Builds JobpackFFI.xcframework (device, simulator and macOS static libraries with the
# generated C header and module map) and copies the generated Swift into Sources/Jobpack.
# macOS with Xcode and rustup only; untested here (no Swift toolchain on the project's
# Linux machines). Usage: bash ios/build-xcframework.sh
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin)
rustup target add "${targets[@]}"
for target in "${targets[@]}"; do
  cargo build -p jobpack-ffi --profile release-ffi --target "$target"
done
cargo_target="${CARGO_TARGET_DIR:-$PWD/target}"

# Bindings from the host library (metadata is read from symbols, so before any stripping).
bash scripts/bindings.sh
swift_out=target/bindings/swift

work=$(mktemp -d)
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

cp "$swift_out/Jobpack.swift" ios/Sources/Jobpack/Jobpack.swift
echo "ios/JobpackFFI.xcframework and ios/Sources/Jobpack/Jobpack.swift are ready: swift build --package-path ios"
