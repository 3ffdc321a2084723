#!/usr/bin/env bash
# Runs the README's two commands as a newcomer on a fresh machine would, to prove that the
# scripts install everything they need:
#   - a new clone of this repository's HEAD in a temporary directory (uncommitted changes are
#     not in it), with ../shared beside it as the README expects;
#   - a fresh CARGO_TARGET_DIR, a fresh Maven repository and no pip cache, so nothing built
#     or downloaded earlier is reused (the Python venv lives in the new clone's target/);
#   - first, the Debian packages that our scripts install and that a fresh machine of the
#     project's kind does not have are removed (REMOVABLE below; the JDK, Maven and
#     python3-venv ship with the machine and stay).
# Then `bash scripts/demo.sh` and `bash scripts/test.sh` run in the clone, each timed.
#
#   scripts/fresh-check.sh [--keep] [--no-remove] [--only demo|test]
#
# --keep leaves the temporary directory (several GB) for a look; --no-remove skips the
# package removal (for a machine where you may not remove packages). Needs root (or sudo)
# for the removal and for the installs the scripts then make.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

# Installed by scripts/install.sh's need_libclang (libclang-dev and what it pulls in),
# need_chromium (the hub board's browser test), need_postgresql (Debian's postgresql and what
# it pulls in) or by earlier versions of the scripts (clang); none of them is on a fresh machine.
REMOVABLE=(libclang-dev libclang-14-dev libclang1-14 libclang-common-14-dev clang clang-14
  chromium chromium-driver
  postgresql postgresql-15 postgresql-client-15 postgresql-common postgresql-client-common)

keep=0 remove=1 only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --no-remove) remove=0 ;;
    --only) only="$2"; shift ;;
    *) echo "usage: $0 [--keep] [--no-remove] [--only demo|test]" >&2; exit 2 ;;
  esac
  shift
done

source "$repo/scripts/install.sh"
if [ -n "$(git -C "$repo" status --porcelain --untracked-files=no)" ]; then
  echo "note: uncommitted changes in $repo are not part of the check (it clones HEAD)"
fi

if [ "$remove" -eq 1 ]; then
  installed=()
  for package in "${REMOVABLE[@]}"; do
    deb_installed "$package" && installed+=("$package")
  done
  if [ "${#installed[@]}" -gt 0 ]; then
    echo "==> removing packages a fresh machine lacks: ${installed[*]}"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get purge -y -qq "${installed[@]}" >/dev/null
  fi
  if path="$(libclang_path)"; then
    echo "libclang is still present after the removal ($path): the check is not fresh" >&2
    exit 1
  fi
  if [ -e "$POSTGRESQL_INITDB" ]; then
    echo "$POSTGRESQL_INITDB is still present after the removal: the check is not fresh" >&2
    exit 1
  fi
fi

work="$(mktemp -d /tmp/jobpack-fresh.XXXXXX)"
cleanup() {
  if [ "$keep" -eq 1 ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
git clone -q "$repo" "$work/main"
ln -s "$(cd "$repo/../shared" && pwd)" "$work/shared"
echo "==> fresh clone of $(git -C "$work/main" rev-parse --short HEAD) in $work/main"

export CARGO_TARGET_DIR="$work/target"
export MAVEN_OPTS="${MAVEN_OPTS:-} -Dmaven.repo.local=$work/m2"
export PIP_NO_CACHE_DIR=1
unset JOBPACK_BIN JOBPACK_PYTHON JOBPACK_APT_UPDATED

results=()
status=0
run_timed() {
  local name="$1" started code=0
  shift
  echo "==> $name: $*"
  started=$(date +%s)
  (cd "$work/main" && "$@") 2>&1 | tee "$work/$name.log" || code=$?
  results+=("$name: exit $code after $(($(date +%s) - started)) s (log: $work/$name.log)")
  [ "$code" -eq 0 ] || status=1
}
[ "$only" = test ] || run_timed demo bash scripts/demo.sh
[ "$only" = demo ] || run_timed test bash scripts/test.sh

echo
echo "==> fresh check of $(git -C "$work/main" rev-parse --short HEAD)"
printf '  %s\n' "${results[@]}"
[ "$status" -eq 0 ] || keep=1
exit "$status"
