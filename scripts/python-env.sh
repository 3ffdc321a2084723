# Sourced by scripts/test.sh and scripts/demo.sh: one virtualenv (target/venv) with the pinned
# Python tools — moto's S3 server (CityFibre's photo bucket stand-in) and pytest — rebuilt
# only when scripts/python-requirements.txt changes. Exports JOBPACK_PYTHON.
venv=target/venv
if ! cmp -s scripts/python-requirements.txt "$venv/requirements.txt" 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/python-requirements.txt
  cp scripts/python-requirements.txt "$venv/requirements.txt"
fi
export JOBPACK_PYTHON="$PWD/$venv/bin/python"
