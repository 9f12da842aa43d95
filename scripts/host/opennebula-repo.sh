#!/usr/bin/env bash
# Adds OpenNebula's apt repository (what oneprovision's opennebula-repository role did):
# the signing key in /etc/apt/keyrings/opennebula.gpg and
# /etc/apt/sources.list.d/opennebula.list, then `apt-get update` when either changed.
#
# Environment:
#   ONE_VERSION          6.10 (default) or 7.0
#   ONE_REPO_PRINT_ONLY  1: only print what would be installed (ONE_REPO_URL, ONE_REPO_KEY_URL,
#                        ONE_REPO_KEYRING, ONE_REPO_LIST, ONE_REPO_LINE), no network, no writes
#   HOST_ROOT            prefix for every file read or written (default: none, i.e. /)
#
# Supported systems (from $HOST_ROOT/etc/os-release): Ubuntu 22.04, Ubuntu 24.04, Debian 12.
# The key is downloaded only when the keyring is missing, so re-runs need no network.
set -euo pipefail

readonly SCRIPT=opennebula-repo.sh
readonly ROOT=${HOST_ROOT:-}
readonly KEY_URL=https://downloads.opennebula.io/repo/repo2.key
readonly KEYRING=/etc/apt/keyrings/opennebula.gpg
readonly LIST=/etc/apt/sources.list.d/opennebula.list

die() {
  echo "$SCRIPT: $*" >&2
  exit 1
}

# The value of KEY in os-release, read as data (the file is not sourced).
os_release_value() {
  local key=$1 file=$ROOT/etc/os-release
  [[ -r $file ]] || die "cannot read $file to find the distribution"
  sed -n "s/^$key=//p" "$file" | head -n 1 | tr -d '"'"'"
}

# "Ubuntu/22.04" or "Debian/12": the distribution part of the repository URL.
distribution_path() {
  local id version
  id=$(os_release_value ID)
  version=$(os_release_value VERSION_ID)
  case "$id/$version" in
    ubuntu/22.04 | ubuntu/24.04) echo "Ubuntu/$version" ;;
    debian/12) echo "Debian/12" ;;
    *) die "unsupported system '$id $version': OpenNebula edge hosts need Ubuntu 22.04, Ubuntu 24.04 or Debian 12" ;;
  esac
}

CHANGED=no

# Writes CONTENT to FILE when it differs, and records the change in CHANGED.
write_if_changed() {
  local file=$1 content=$2
  if [[ -f $file && $(cat "$file") == "$content" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" >"$file.tmp"
  chmod 0644 "$file.tmp"
  mv -f "$file.tmp" "$file"
  CHANGED=yes
  echo "$SCRIPT: wrote $file"
}

apt_get() {
  # Fresh cloud machines often run unattended-upgrades at boot; wait for the dpkg lock.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q "$@"
}

install_tools() {
  local missing=()
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
  if ((${#missing[@]} > 0)); then
    apt_get update
    apt_get install -y "${missing[@]}"
  fi
}

# Downloads and de-armors the key into the keyring unless it is already there.
install_key() {
  local keyring=$ROOT$KEYRING tmp
  [[ -s $keyring ]] && return 0
  install_tools
  mkdir -p "$(dirname "$keyring")"
  tmp=$(mktemp)
  curl -fsSL --retry 5 "$KEY_URL" | gpg --dearmor --yes --output "$tmp" ||
    die "could not download the OpenNebula signing key from $KEY_URL"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$keyring"
  CHANGED=yes
  echo "$SCRIPT: installed the signing key in $keyring"
}

main() {
  local version=${ONE_VERSION:-6.10}
  [[ $version == 6.10 || $version == 7.0 ]] ||
    die "ONE_VERSION must be 6.10 or 7.0 (got '$version')"
  local print_only=${ONE_REPO_PRINT_ONLY:-0}
  [[ $print_only == 0 || $print_only == 1 ]] ||
    die "ONE_REPO_PRINT_ONLY must be 0 or 1 (got '$print_only')"

  local url line
  url="https://downloads.opennebula.io/repo/$version/$(distribution_path)"
  line="deb [signed-by=$KEYRING] $url stable opennebula"

  if [[ $print_only == 1 ]]; then
    printf '%s\n' "ONE_REPO_URL=$url" "ONE_REPO_KEY_URL=$KEY_URL" "ONE_REPO_KEYRING=$KEYRING" \
      "ONE_REPO_LIST=$LIST" "ONE_REPO_LINE=$line"
    return 0
  fi

  install_key
  write_if_changed "$ROOT$LIST" "# Managed by opennebula-edge (opennebula-repo.sh)
$line"
  # With HOST_ROOT the files belong to another tree, not to this system's apt.
  if [[ $CHANGED == yes && -z $ROOT ]]; then
    apt_get update
  fi
  echo "$SCRIPT: OpenNebula $version repository $url"
}

main "$@"
