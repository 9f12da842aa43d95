#!/usr/bin/env bash
# Installs, for the lab only, a wireguard-go with TUN offloads (GSO/GRO, wireguard-go 0.0.20230223
# and later; Debian bookworm ships 0.0.20220316, which writes one packet per system call). It is
# Debian trixie's package, fetched by apt with a temporary sources list, state and cache: apt checks
# trixie's signed index against the Debian archive keyring and the package against the index. The
# system's apt sources are not touched and no package is installed or replaced: only the program
# is copied, to $LAB_WIREGUARD_GO_DIR/wireguard-go, next to wireguard-go.version (the Debian
# version and the SHA256 of the .deb it came from). The lab uses that program when it is there.
# Idempotent: with a working program of at least the minimum version in place it downloads nothing.
#
# Environment:
#   LAB_WIREGUARD_GO_DIR     where the program goes. Default /usr/local/lib/oneedge-lab/bin
#   LAB_WIREGUARD_GO_SUITE   Debian suite to take it from. Default trixie
#   LAB_WIREGUARD_GO_MIRROR  Debian mirror. Default http://deb.debian.org/debian
#   LAB_WIREGUARD_GO_KEYRING keyring that signs the suite. Default /usr/share/keyrings/debian-archive-keyring.gpg
set -euo pipefail

readonly MIN_VERSION=0.0.20230223
dir=${LAB_WIREGUARD_GO_DIR:-/usr/local/lib/oneedge-lab/bin}
suite=${LAB_WIREGUARD_GO_SUITE:-trixie}
mirror=${LAB_WIREGUARD_GO_MIRROR:-http://deb.debian.org/debian}
keyring=${LAB_WIREGUARD_GO_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
program="$dir/wireguard-go"

say() { echo "install-wireguard-go.sh: $*"; }
die() {
  echo "install-wireguard-go.sh: $*" >&2
  exit 1
}

# The upstream version a wireguard-go program reports ("wireguard-go v0.0.20231211" → 0.0.20231211).
program_version() {
  "$1" --version 2>/dev/null | sed -n '1s/^wireguard-go v\([0-9][0-9.]*\).*$/\1/p'
}

already_installed() {
  [[ -x $program && -s $dir/wireguard-go.version ]] || return 1
  local version
  version=$(program_version "$program")
  [[ -n $version ]] && dpkg --compare-versions "$version" ge "$MIN_VERSION"
}

main() {
  [[ $(id -u) == 0 ]] || die "run as root (it writes $dir)"
  if already_installed; then
    say "$program is wireguard-go $(program_version "$program") ($(cut -d' ' -f1 "$dir/wireguard-go.version") from Debian); nothing to do"
    return 0
  fi
  [[ $(dpkg --print-architecture) == amd64 ]] || die "only amd64 is supported (this machine is $(dpkg --print-architecture))"
  [[ -r $keyring ]] || die "no Debian archive keyring at $keyring to verify $suite's index (Debian package debian-archive-keyring)"
  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: the trap runs after main's locals are gone
  trap "rm -rf '$work'" EXIT
  mkdir -p "$work/sources" "$work/lists/partial" "$work/archives/partial" "$work/deb"
  # apt downloads as the unprivileged user _apt where it exists.
  if id _apt >/dev/null 2>&1; then
    chmod 0755 "$work"
    chown _apt "$work/lists/partial" "$work/archives/partial" "$work/deb"
  fi
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n' "$mirror" "$suite" "$keyring" >"$work/sources/lab.sources"
  : >"$work/status"
  # Everything apt reads or writes is in $work: its own sources, index, cache and (empty) dpkg
  # status; the host's configuration (proxies, mirrors) still applies.
  local apt=(apt-get -q
    -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$work/sources"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null"
    -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=$work/status"
    -o "Dir::Cache=$work" -o "Dir::Cache::archives=$work/archives"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Architectures::=amd64" -o "Acquire::Languages=none"
    -o "APT::Get::AllowUnauthenticated=false" -o "Acquire::AllowInsecureRepositories=false")
  "${apt[@]}" update >"$work/update.log" 2>&1 || die "apt-get update of $suite from $mirror failed: $(tail -n 5 "$work/update.log")"
  (cd "$work/deb" && "${apt[@]}" download wireguard-go >"$work/download.log" 2>&1) || die "apt-get download wireguard-go from $suite failed: $(tail -n 5 "$work/download.log")"
  local deb
  deb=$(find "$work/deb" -name 'wireguard-go_*.deb' | head -n 1)
  [[ -n $deb ]] || die "apt-get download left no wireguard-go package"
  local version sha
  version=$(dpkg-deb -f "$deb" Version)
  sha=$(sha256sum "$deb" | cut -d' ' -f1)
  dpkg-deb -x "$deb" "$work/root"
  [[ -x $work/root/usr/bin/wireguard-go ]] || die "wireguard-go $version has no usr/bin/wireguard-go"
  local upstream
  upstream=$(program_version "$work/root/usr/bin/wireguard-go")
  [[ -n $upstream ]] || die "wireguard-go $version from $suite does not run here: $("$work/root/usr/bin/wireguard-go" --version 2>&1 | head -n 3)"
  dpkg --compare-versions "$upstream" ge "$MIN_VERSION" || die "$suite has wireguard-go $upstream, older than $MIN_VERSION (no TUN offloads)"
  install -d -m 0755 "$dir"
  install -m 0755 "$work/root/usr/bin/wireguard-go" "$program.tmp"
  mv -f "$program.tmp" "$program"
  printf '%s %s %s\n' "$version" "$sha" "$(basename "$deb")" >"$dir/wireguard-go.version"
  say "installed wireguard-go $upstream (Debian $suite $version, .deb SHA256 $sha, verified by apt against $suite's signed index) as $program"
}

main "$@"
