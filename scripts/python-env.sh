# Sourced by scripts/test.sh and scripts/demo.sh: one virtualenv (target/venv) with the pinned
# Python tools — moto's S3 server (CityFibre's photo bucket stand-in) and pytest. Exports
# JOBPACK_PYTHON.
#
# The venv is rebuilt when scripts/python-requirements.txt changed or when its own Python no
# longer runs or cannot import the tools (a matching copy of the requirements file alone says
# nothing about a venv whose interpreter was removed or upgraded under it).
source "$(dirname "${BASH_SOURCE[0]}")/install.sh"

venv=target/venv
venv_ready() {
  cmp -s scripts/python-requirements.txt "$venv/requirements.txt" 2>/dev/null &&
    "$venv/bin/python" -c 'import moto.server, pytest' >/dev/null 2>&1
}
if ! venv_ready; then
  # Debian's own python3 has venv and ensurepip only with python3-venv; others bring them.
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need_debs python3-venv
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/python-requirements.txt
  cp scripts/python-requirements.txt "$venv/requirements.txt"
  if ! venv_ready; then
    echo "the Python virtualenv $venv was built but cannot import moto.server and pytest" >&2
    return 1
  fi
fi
export JOBPACK_PYTHON="$PWD/$venv/bin/python"
