#!/usr/bin/env bash
# Copies the bindings that scripts/bindings.sh generated (target/bindings/swift) into the
# package: the generated Swift into the Jobpack target and, on Linux, the C header, a module
# map for Linux and the host library into Linux/ (the system library target JobpackFFI).
# uniffi's module map says `use "Darwin"`, a module Linux does not have; the Linux one drops
# that line and names the library to link instead. All copies are ignored by git.
# Usage: bash ios/use-bindings.sh   (after scripts/bindings.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

swift_out=target/bindings/swift
cargo_target="${CARGO_TARGET_DIR:-$PWD/target}"
for file in Jobpack.swift JobpackFFI.h JobpackFFI.modulemap; do
  if [ ! -f "$swift_out/$file" ]; then
    echo "$swift_out/$file is missing: run scripts/bindings.sh first" >&2
    exit 1
  fi
done

mkdir -p ios/Sources/Jobpack/Generated
generated=ios/Sources/Jobpack/Generated/JobpackGenerated.swift
# bindings/uniffi.toml renames the handle and its error for Swift (JobpackBridge,
# JobpackBridgeError), but uniffi 0.32 leaves the old names in the constructor it generates
# (its return type and converters); those three spots are renamed here, and the copy is
# refused if any old name is left.
sed -e 's/) *throws *-> Jobpack *{/)throws -> JobpackBridge {/' \
  -e 's/FfiConverterTypeJobpack_lift(/FfiConverterTypeJobpackBridge_lift(/g' \
  -e 's/FfiConverterTypeJobpackError_lift)/FfiConverterTypeJobpackBridgeError_lift)/g' \
  "$swift_out/Jobpack.swift" >"$generated"
if grep -nE 'FfiConverterType(Jobpack|JobpackError|ScanSession)_|-> (Jobpack|ScanSession) *\{' "$generated"; then
  echo "$generated: names the Swift rename should have replaced (see bindings/uniffi.toml)" >&2
  exit 1
fi

if [ "$(uname -s)" = Linux ]; then
  ffi=ios/Linux/JobpackFFI
  mkdir -p "$ffi" ios/Linux/lib
  cp "$swift_out/JobpackFFI.h" "$ffi/"
  grep -v 'use "Darwin"' "$swift_out/JobpackFFI.modulemap" |
    sed 's/^\( *\)export \*$/\1export *\n\1link "jobpack_ffi"/' >"$ffi/module.modulemap"
  grep -q 'link "jobpack_ffi"' "$ffi/module.modulemap" || {
    echo "unexpected module map from uniffi: $swift_out/JobpackFFI.modulemap" >&2
    exit 1
  }
  # The library the bindings were generated from (a Swift binary links it by name);
  # JOBPACK_FFI_LIB names another build of it (a debug one while iterating).
  cp "${JOBPACK_FFI_LIB:-$cargo_target/release-ffi/libjobpack_ffi.so}" ios/Linux/lib/
fi
