#!/usr/bin/env bash
# Make a local stand-in for debian:bookworm-slim with debootstrap, for building deploy/Dockerfile
# where no container registry can be reached (CI, offline machines). Root only.
#
# Usage: deploy/base-image.sh [--force] [TAG]
#   TAG      default docker.io/library/debian:bookworm-slim (what the Dockerfile's FROM resolves to)
#   --force  rebuild even when TAG already exists
# Env:     DEBIAN_MIRROR (default http://deb.debian.org/debian),
#          DEBIAN_SECURITY_MIRROR (default http://deb.debian.org/debian-security)
#
# The image is cached by its tag: when TAG exists (made here before, or a real pulled image), nothing
# is done. It is a minbase bookworm like the official slim image: the same apt sources (bookworm,
# -updates, -security), the same dpkg excludes for documentation, no apt lists or .debs, CMD bash.
set -euo pipefail

force=0
if [ "${1:-}" = "--force" ]; then
  force=1
  shift
fi
tag="${1:-docker.io/library/debian:bookworm-slim}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

die() { echo "base-image.sh: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap)"
for tool in debootstrap podman tar; do
  command -v "$tool" >/dev/null || die "needs $tool (apt-get install -y podman debootstrap)"
done

if [ "$force" -eq 0 ] && podman image exists "$tag"; then
  echo "base-image.sh: $tag exists, nothing to do (--force rebuilds it)" >&2
  exit 0
fi

workdir="$(mktemp -d /var/tmp/brulee-base.XXXXXX)"
rootfs="$workdir/rootfs"
cleanup() {
  # debootstrap mounts proc and sys inside the target; never delete through a live mount.
  for mnt in "$rootfs/proc" "$rootfs/sys" "$rootfs/dev/pts"; do
    if mountpoint -q "$mnt" 2>/dev/null; then umount -l "$mnt" || true; fi
  done
  if grep -q " ${workdir}/" /proc/mounts; then
    echo "base-image.sh: $workdir still has mounts; left in place" >&2
  else
    rm -rf "${workdir:?}"
  fi
}
trap cleanup EXIT

started=$SECONDS
echo "base-image.sh: debootstrap bookworm (minbase) from $mirror" >&2
debootstrap --variant=minbase --components=main bookworm "$rootfs" "$mirror" >"$workdir/log" 2>&1 \
  || { tail -n 30 "$workdir/log" >&2; die "debootstrap failed"; }

# What the official image sets up (docker-library/debian's "slimify" and apt configuration).
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
find "$rootfs/usr/share/doc" -mindepth 2 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/man" "$rootfs/usr/share/info" -mindepth 1 -delete 2>/dev/null || true
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.cache
: >"$rootfs/etc/resolv.conf"
: >"$rootfs/etc/hostname"

tar --numeric-owner --xattrs -C "$rootfs" -c . \
  | podman import --quiet \
      --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'LABEL org.opencontainers.image.description="debian:bookworm-slim stand-in made by brulee deploy/base-image.sh (debootstrap)"' \
      - "$tag" >/dev/null
echo "base-image.sh: made $tag in $((SECONDS - started))s" >&2
