#!/usr/bin/env bash
# Installs what scripts/host/wireguard-up.sh needs, idempotently: `wg` (wireguard-tools) and `ip`
# (iproute2), and wireguard-go on request. A host that has them installs nothing and needs no
# network. Debian and Ubuntu (apt); elsewhere the tools must be installed beforehand.
#
# Environment (every value comes from here; callers never splice values into this text):
#   WG_INSTALL_USERSPACE  1 = also install wireguard-go, for kernels without the WireGuard
#                         module (see WG_IMPLEMENTATION in wireguard-up.sh). Default 0.
#
# Installs only (ACTION=create): packages are not removed, other software on the host may use them.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name wireguard-install.sh

# Prints the packages whose command is missing, one per line.
missing_packages() {
  command -v wg >/dev/null 2>&1 || echo wireguard-tools
  command -v ip >/dev/null 2>&1 || echo iproute2
  if [[ $1 == 1 ]] && ! command -v wireguard-go >/dev/null 2>&1; then
    echo wireguard-go
  fi
}

main() {
  read_action create
  local userspace=${WG_INSTALL_USERSPACE:-0} missing
  [[ $userspace == 0 || $userspace == 1 ]] || die "WG_INSTALL_USERSPACE must be 0 or 1 (got '$userspace')"
  mapfile -t missing < <(missing_packages "$userspace")
  if ((${#missing[@]} == 0)); then
    say "WireGuard tools already installed"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them; install them first"
  apt_get update
  apt_get install -y --no-install-recommends "${missing[@]}"
  say "installed ${missing[*]}"
}

main "$@"
