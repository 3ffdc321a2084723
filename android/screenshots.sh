#!/usr/bin/env bash
# Renders every screen with Robolectric (ScreenshotTest) and copies the PNGs into docs/android/.
# Needs what the Android suite needs: scripts/bindings.sh run, JOBPACK_BIN set (see docs/QA-ANDROID.md).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -f android/pom.xml test -Dtest=ScreenshotTest
mkdir -p docs/android
cp target/android-build/screenshots/*.png docs/android/
ls -l docs/android/
