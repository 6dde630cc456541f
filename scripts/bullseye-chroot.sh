#!/usr/bin/env bash
# Makes the Debian bullseye chroot that the prebuilt binaries are compiled in
# (scripts/prebuild.sh): bullseye's glibc 2.31 is the oldest any binary built
# there needs, so the prebuilds load on Ubuntu 20.04, Debian 11 and later.
# Holds gcc 10 for x86-64 and for arm64 (cross), cmake and make. The build
# uses no Node (scripts/package-tests.sh adds bullseye's, to load a prebuild
# on glibc 2.31).
# Idempotent: a ready chroot is left as it is. Needs root. Prints its path.
set -euo pipefail

chroot_dir="${SIMD_OPTIM_BULLSEYE:-/var/cache/simd-optim/bullseye}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
packages=(g++ cmake make binutils g++-aarch64-linux-gnu binutils-aarch64-linux-gnu)

log() { printf '[bullseye-chroot] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "needs root (debootstrap and chroot)"
  exit 1
fi

ready="$chroot_dir/.simd-optim-ready"
if [ -f "$ready" ] && [ "$(cat "$ready")" = "${packages[*]}" ]; then
  log "bullseye chroot already at $chroot_dir"
else
  if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
  fi
  mkdir -p "$chroot_dir"
  if [ ! -x "$chroot_dir/usr/bin/apt-get" ]; then
    log "debootstrap bullseye into $chroot_dir (a minute or two)"
    debootstrap --variant=minbase bullseye "$chroot_dir" "$mirror" >/dev/null
  fi
  log "installing ${packages[*]} in the chroot (a few minutes)"
  # apt's chatter (no /dev/pts, no apt-utils in a minbase chroot) is harmless:
  # keep it in a log, shown only if the install fails.
  if ! chroot "$chroot_dir" /usr/bin/env DEBIAN_FRONTEND=noninteractive sh -c \
    "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${packages[*]}" >"$chroot_dir/.apt.log" 2>&1; then
    cat "$chroot_dir/.apt.log" >&2
    exit 1
  fi
  # The list of packages marks the chroot ready: a changed list reinstalls.
  echo "${packages[*]}" >"$ready"
fi
echo "$chroot_dir"
