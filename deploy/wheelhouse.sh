#!/usr/bin/env bash
# Download every wheel the image build needs (requirements.lock + deploy/requirements-build.lock,
# hash-checked) into DIR, for building deploy/Dockerfile where pip cannot reach PyPI from inside
# the build (see deploy/build-image.sh). Runs pip on this machine; the wheels are chosen for the
# image's Python (Debian bookworm: CPython 3.11, glibc 2.36) and this machine's CPU.
#
# Usage: deploy/wheelhouse.sh DIR [PYTHON]     (PYTHON: the pip to run, default python3)
set -euo pipefail

dir="${1:?usage: deploy/wheelhouse.sh DIR [PYTHON]}"
python="${2:-python3}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
arch="$(uname -m)"

mkdir -p "$dir"
# --platform: the manylinux tags glibc 2.36 accepts; pure-Python wheels match too. One pip run per
# lock file, since the two may pin the same package differently.
for lock in requirements.lock deploy/requirements-build.lock; do
  "$python" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
    --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 --abi abi3 --abi none \
    --platform "manylinux_2_36_$arch" --platform "manylinux_2_28_$arch" \
    --platform "manylinux_2_17_$arch" --platform "manylinux2014_$arch" \
    --platform "manylinux2010_$arch" --platform "manylinux1_$arch" --platform any \
    -r "$root/$lock" -d "$dir"
done
