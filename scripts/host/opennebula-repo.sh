#!/usr/bin/env bash
# Adds OpenNebula's apt repository (what oneprovision's opennebula-repository role did):
# the signing key in /etc/apt/keyrings/opennebula.gpg and
# /etc/apt/sources.list.d/opennebula.list, then `apt-get update` when either changed.
#
# Environment:
#   ACTION               create (default); delete: remove the sources list, and the keyring when
#                        this script downloaded it
#   ONE_VERSION          6.10 (default) or 7.0
#   ONE_REPO_PRINT_ONLY  1: only print what would be installed (ONE_REPO_URL, ONE_REPO_KEY_URL,
#                        ONE_REPO_KEYRING, ONE_REPO_LIST, ONE_REPO_LINE), no network, no writes
#   HOST_ROOT            prefix for every file read or written (default: none, i.e. /)
#
# Supported systems (from $HOST_ROOT/etc/os-release): Ubuntu 22.04, Ubuntu 24.04, Debian 12.
# The key is downloaded only when the keyring is missing, so re-runs need no network.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name opennebula-repo.sh

readonly KEY_URL=https://downloads.opennebula.io/repo/repo2.key
readonly KEYRING=/etc/apt/keyrings/opennebula.gpg
readonly LIST=/etc/apt/sources.list.d/opennebula.list

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

# Downloads and de-armors the key into the keyring unless it is already there.
install_key() {
  local keyring=$ROOT$KEYRING tmp
  [[ -s $keyring ]] && return 0
  install_tools
  mkdir -p "$(dirname "$keyring")"
  tmp=$(temp_file)
  curl -fsSL --retry 5 "$KEY_URL" | gpg --dearmor --yes --output "$tmp" ||
    die "could not download the OpenNebula signing key from $KEY_URL"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$keyring"
  remember_value downloaded-key yes
  CHANGED_FILES+=("$keyring")
  say "installed the signing key in $keyring"
}

create() {
  install_key
  printf '%s\n' "# Managed by opennebula-edge (opennebula-repo.sh)" "$LINE" | write_if_changed "$ROOT$LIST" 0644
  # With HOST_ROOT the files belong to another tree, not to this system's apt.
  if [[ ${#CHANGED_FILES[@]} -gt 0 && -z $ROOT ]]; then
    apt_get update
  fi
  say "OpenNebula $VERSION repository $URL"
}

delete() {
  remove_file "$ROOT$LIST"
  if [[ $(recalled_value downloaded-key) == yes ]]; then
    remove_file "$ROOT$KEYRING"
    forget_value downloaded-key
  fi
}

main() {
  read_action create delete
  VERSION=${ONE_VERSION:-6.10}
  [[ $VERSION == 6.10 || $VERSION == 7.0 ]] ||
    die "ONE_VERSION must be 6.10 or 7.0 (got '$VERSION')"
  local print_only=${ONE_REPO_PRINT_ONLY:-0}
  [[ $print_only == 0 || $print_only == 1 ]] ||
    die "ONE_REPO_PRINT_ONLY must be 0 or 1 (got '$print_only')"

  URL="https://downloads.opennebula.io/repo/$VERSION/$(distribution_path)"
  LINE="deb [signed-by=$KEYRING] $URL stable opennebula"

  if [[ $print_only == 1 ]]; then
    printf '%s\n' "ONE_REPO_URL=$URL" "ONE_REPO_KEY_URL=$KEY_URL" "ONE_REPO_KEYRING=$KEYRING" \
      "ONE_REPO_LIST=$LIST" "ONE_REPO_LINE=$LINE"
    return 0
  fi
  "$ACTION"
}

main "$@"
