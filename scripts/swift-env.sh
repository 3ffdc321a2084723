# Sourced by scripts/test.sh: defines `jobpack_swift DIR ARGS...`, which runs Swift's `swift`
# command (ARGS, e.g. `test`) in the package directory DIR of this clone.
#
# Where the machine has a working `swift` (a Mac, a Linux with Swift installed) that one is
# used. Debian 12, the project's machine kind, has no Swift package; Debian 13 ("trixie") has
# `swiftlang`. So the first run makes a minimal Debian 13 tree with debootstrap, with
# swiftlang in it, in a cache outside the clone (JOBPACK_SWIFT_TREE, default
# /var/cache/jobpack/swift-trixie) that later runs and CI on the same machine reuse; swift
# then runs chrooted in that tree. The tree is only trusted when its swift actually runs;
# a tree that fails that check (an interrupted debootstrap) is made again.
#
# Every mount (proc, dev, a tmpfs, the clone and cargo's target directory bound at their
# own paths so that host paths mean the same inside) is made inside a private mount
# namespace (`unshare --mount`) that ends with the command: nothing stays mounted on the
# host even when the run is killed, and a trap unmounts them in reverse order on a normal
# exit of the namespace's shell. The Rust library and the `jobpack` binary are the host's
# builds: binaries linked against Debian 12's glibc run under Debian 13's newer one.

jobpack_swift_tree="${JOBPACK_SWIFT_TREE:-/var/cache/jobpack/swift-trixie}"

# The Debian mirror the host's apt already uses (so no address is written here).
jobpack_debian_mirror() {
  if [ -n "${JOBPACK_DEBIAN_MIRROR:-}" ]; then
    echo "$JOBPACK_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri=$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
  if [ -z "$uri" ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
  fi
  if [ -z "$uri" ]; then
    echo "no Debian mirror in the host's apt sources; set JOBPACK_DEBIAN_MIRROR" >&2
    return 1
  fi
  echo "$uri"
}

# Runs "$@" chrooted in the tree with the mounts swift needs, then drops them.
jobpack_in_tree() {
  local binds=("$PWD")
  local target="${CARGO_TARGET_DIR:-$PWD/target}"
  case "$target" in "$PWD"/*) ;; *) binds+=("$target") ;; esac
  unshare --mount --propagation private -- bash -euo pipefail -c '
    tree=$1; nbinds=$2; shift 2
    mounted=()
    cleanup() {
      local i
      for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
    }
    trap cleanup EXIT
    mount -t proc proc "$tree/proc"; mounted+=("$tree/proc")
    mount --rbind /dev "$tree/dev"; mounted+=("$tree/dev")
    mount -t tmpfs tmpfs "$tree/tmp"; mounted+=("$tree/tmp")
    for ((i = 0; i < nbinds; i++)); do
      mkdir -p "$tree$1"
      mount --bind "$1" "$tree$1"; mounted+=("$tree$1")
      shift
    done
    # A clean environment, plus the JOBPACK_* variables the tests read.
    pass=()
    while IFS= read -r name; do pass+=("$name=${!name}"); done < <(compgen -e | grep "^JOBPACK_" || true)
    chroot "$tree" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 \
      "${pass[@]}" "$@"
  ' jobpack-swift "$jobpack_swift_tree" "${#binds[@]}" "${binds[@]}" "$@"
}

# What the tree must hold: Swift (compiler, Foundation, XCTest), the C library's headers
# and start files that linking a test binary needs, and OpenSSL's libcrypto, which the core's
# library loads for SQLCipher (the encrypted database).
jobpack_swift_packages=(swiftlang libc6-dev libssl3t64)

jobpack_tree_swift_runs() {
  local package
  [ -d "$jobpack_swift_tree/usr/libexec/swift/bin" ] || return 1
  for package in "${jobpack_swift_packages[@]}"; do
    [ "$(chroot "$jobpack_swift_tree" dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = "install ok installed" ] ||
      return 1
  done
  jobpack_in_tree swift --version >/dev/null 2>&1
}

if command -v swift >/dev/null && swift --version >/dev/null 2>&1; then
  jobpack_swift() {
    local dir=$1
    shift
    (cd "$dir" && swift "$@")
  }
else
  if ! jobpack_tree_swift_runs; then
    if [ "$(dpkg-query -W -f='${Status}' debootstrap 2>/dev/null)" != "install ok installed" ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq debootstrap >/dev/null
    fi
    mirror=$(jobpack_debian_mirror)
    echo "making a Debian 13 tree with swiftlang in $jobpack_swift_tree (a few minutes, once)"
    # Trees are only ever mounted on inside private namespaces (debootstrap's own proc and
    # sys mounts too), so nothing of the host can be reached through them when removing.
    rm -rf --one-file-system "$jobpack_swift_tree"
    mkdir -p "$(dirname "$jobpack_swift_tree")"
    # A half-made tree is never mistaken for a good one: it is built beside and renamed.
    rm -rf --one-file-system "$jobpack_swift_tree.partial"
    unshare --mount --propagation private -- \
      debootstrap --variant=minbase --include="$(IFS=,; echo "${jobpack_swift_packages[*]}")" trixie \
      "$jobpack_swift_tree.partial" "$mirror" >"$(dirname "$jobpack_swift_tree")/debootstrap.log" 2>&1 ||
      { tail -n 20 "$(dirname "$jobpack_swift_tree")/debootstrap.log" >&2; exit 1; }
    # Package downloads are not needed again.
    rm -rf "$jobpack_swift_tree.partial"/var/cache/apt/archives/*.deb
    mv "$jobpack_swift_tree.partial" "$jobpack_swift_tree"
    if ! jobpack_tree_swift_runs; then
      echo "swift does not run in $jobpack_swift_tree" >&2
      exit 1
    fi
  fi
  jobpack_swift() {
    local dir=$1
    shift
    local abs
    abs=$(cd "$dir" && pwd)
    jobpack_in_tree /bin/sh -c 'cd "$1" && shift && exec swift "$@"' swift-in-tree "$abs" "$@"
  }
fi
jobpack_swift_version=$(jobpack_swift . --version 2>/dev/null | head -n 1)
echo "swift: $jobpack_swift_version"
