#!/usr/bin/env bash
# The end-to-end demo: the CityFibre simulator (mutual TLS), moto's S3 server for the photos,
# the partner hub, and five engineer cores working a day of jobs through it (--direct: no hub). Makes the Python virtualenv the S3 server
# needs on first use; extra arguments go to `jobpack demo` (try --help).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python-env.sh
need_sqlcipher_build
# `--postgres` runs two hub processes on one PostgreSQL server the demo starts itself.
for arg in "$@"; do
  if [ "$arg" = --postgres ]; then
    need_postgresql
  fi
done
cargo run --release -q -p jobpack -- demo "$@"
