#!/usr/bin/env bash
# Build the brulee image with podman without any container registry and without PyPI inside the
# build: a debootstrap-made debian:bookworm-slim (deploy/base-image.sh, cached by tag), the wheels
# downloaded on this machine (deploy/wheelhouse.sh) and mounted into the build, apt inside the
# build for Debian packages. Root only (debootstrap, rootful podman).
#
# Usage: deploy/build-image.sh [TAG]        TAG default localhost/brulee:dev
# Env:   PYTHON   the Python whose pip downloads the wheels (default: python3)
#        PODMAN_BUILD_ARGS  more podman build arguments, e.g. "--target pdf" or "--layers=false"
set -euo pipefail

tag="${1:-localhost/brulee:dev}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
wheels="$(mktemp -d /var/tmp/brulee-wheels.XXXXXX)"
trap 'rm -rf "${wheels:?}"' EXIT

"$root/deploy/base-image.sh"
"$root/deploy/wheelhouse.sh" "$wheels" "${PYTHON:-python3}"
# PIP_INDEX_URL is unused (no index) but set, so that podman does not warn that it is missing.
# shellcheck disable=SC2086  # PODMAN_BUILD_ARGS is split into words on purpose
podman build --pull=never --isolation chroot \
  --volume "$wheels:/wheelhouse:ro" \
  --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/wheelhouse \
  --build-arg PIP_INDEX_URL=https://pypi.org/simple \
  --ignorefile "$root/deploy/Dockerfile.dockerignore" \
  --file "$root/deploy/Dockerfile" --tag "$tag" ${PODMAN_BUILD_ARGS:-} "$root"
