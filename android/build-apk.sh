#!/usr/bin/env bash
# Builds the Android APK: the core for the Android ABIs (cargo-ndk), the Kotlin bindings, then
# Gradle. Needs what this project's CI machine does not have: the Android SDK (ANDROID_HOME,
# with platform 35 and build-tools), the NDK (ANDROID_NDK_HOME) and Gradle 8.9+ (`gradle` on
# PATH). Output: android/app/build/outputs/apk/debug/app-debug.apk.
#   bash android/build-apk.sh            # debug APK
#   bash android/build-apk.sh release    # release APK (sign it with your key afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."

variant="${1:-debug}"
: "${ANDROID_HOME:?set ANDROID_HOME to the Android SDK}"
: "${ANDROID_NDK_HOME:?set ANDROID_NDK_HOME to the Android NDK}"
command -v gradle >/dev/null || { echo "gradle (8.9 or later) is needed on PATH" >&2; exit 1; }

targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)
installed=$(rustup target list --installed)
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
command -v cargo-ndk >/dev/null || cargo install cargo-ndk --locked

# The core per ABI into the jniLibs layout Gradle packs (lib/<abi>/libjobpack_ffi.so).
# API 26 is the app's minSdk. SQLCipher's libcrypto is compiled in (Android's BoringSSL is not
# public API); iOS builds use CommonCrypto instead and need no feature.
source scripts/phone-build-env.sh
cargo ndk --platform 26 -t arm64-v8a -t armeabi-v7a -t x86_64 -o target/android/jniLibs \
  build -p jobpack-ffi --profile release-ffi --features vendored-crypto

# The Kotlin bindings are the same for every ABI: generate them from the host build.
bash scripts/bindings.sh

task="assemble${variant^}"
(cd android && gradle --no-daemon "$task")
ls -l android/app/build/outputs/apk/"$variant"/
