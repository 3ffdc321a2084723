# Sourced by the scripts that install what they need (test.sh, python-env.sh).
#
# One rule for every install step: the guard asks for exactly the thing that is needed —
# dpkg's own word that the named package is installed, or the exact file a tool loads —
# never a pattern that something else can satisfy. (`ldconfig -p | grep libclang` was
# satisfied by libclang-cpp, which a fresh machine has, so libclang was never installed and
# the lint step broke there while CI, on a machine with a manual install, stayed green.)
# `scripts/fresh-check.sh` proves the steps on a new clone with the packages removed.

# True when dpkg says the package is installed (not merely known, half-removed or held
# in config-files state).
deb_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# Installs from Debian each named package that dpkg does not report installed, then checks
# that each now is. Runs `apt-get update` once per run, and only when something is missing.
need_debs() {
  local missing=() package
  for package in "$@"; do
    deb_installed "$package" || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "installing from Debian: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${JOBPACK_APT_UPDATED:-}" ]; then
    "${sudo[@]}" apt-get update -qq
    export JOBPACK_APT_UPDATED=1
  fi
  "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
  for package in "${missing[@]}"; do
    if ! deb_installed "$package"; then
      echo "apt-get did not install $package" >&2
      return 1
    fi
  done
}

# The shared library bindgen (through clang-sys) loads: libclang.so itself, or a versioned
# libclang-NN.so.N. libclang-cpp.so.NN is a different library and does not count.
libclang_path() {
  local candidate
  for candidate in /usr/lib/llvm-*/lib/libclang.so /usr/lib/llvm-*/lib/libclang.so.[0-9]* \
    /usr/lib/*-linux-gnu/libclang-[0-9]*.so.[0-9]* /usr/lib/*-linux-gnu/libclang.so.[0-9]*; do
    if [ -e "$candidate" ]; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# libclang for the desktop camera feature (nokhwa → v4l2-sys generates its bindings).
need_libclang() {
  need_debs libclang-dev
  if ! libclang_path >/dev/null; then
    echo "libclang-dev is installed but no libclang shared library was found for bindgen" >&2
    return 1
  fi
}

# Debian's Chromium and its WebDriver for the hub board's browser test
# (hub/tests/board_browser.rs), which fails, not skips, without them.
need_chromium() {
  if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    return 0
  fi
  need_debs chromium chromium-driver
  if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "chromium and chromium-driver are installed but /usr/bin/chromium or /usr/bin/chromedriver is missing" >&2
    return 1
  fi
}

# SQLCipher (the database encrypted at rest) is compiled into every build of the core and
# links OpenSSL's libcrypto: its headers come with libssl-dev (docs/SECURITY.md).
need_sqlcipher_build() {
  need_debs libssl-dev
  if [ ! -e /usr/include/openssl/evp.h ]; then
    echo "libssl-dev is installed but /usr/include/openssl/evp.h is missing" >&2
    return 1
  fi
}

# PostgreSQL for the hub's tests and `jobpack demo --postgres`: Debian's server package
# (bookworm's `postgresql` is version 15). Nothing runs as a service for us: the tests and the
# demo make and start their own clusters with these binaries (hub/tests/common/postgres.rs,
# cli/src/demo_pg.rs), so the guard asks for exactly the binary they start with.
POSTGRESQL_INITDB=/usr/lib/postgresql/15/bin/initdb
need_postgresql() {
  [ -x "$POSTGRESQL_INITDB" ] && return 0
  need_debs postgresql
  if [ ! -x "$POSTGRESQL_INITDB" ]; then
    echo "postgresql is installed but $POSTGRESQL_INITDB is missing" >&2
    return 1
  fi
}
