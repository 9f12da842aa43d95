#!/usr/bin/env bash
# Installs what scripts/host/wireguard-up.sh needs, idempotently: `wg` (wireguard-tools) and `ip`
# (iproute2), and wireguard-go on request. A host that has them installs nothing and needs no
# network. Debian and Ubuntu (apt); elsewhere the tools must be installed beforehand.
#
# Environment (every value comes from here; callers never splice values into this text):
#   WG_INSTALL_USERSPACE  1 = also install wireguard-go, for kernels without the WireGuard
#                         module (see WG_IMPLEMENTATION in wireguard-up.sh). Default 0.
set -euo pipefail

readonly SCRIPT=wireguard-install.sh

fail() {
    echo "$SCRIPT: $*" >&2
    exit 1
}

apt_get() {
    # Fresh cloud machines often run unattended-upgrades at boot; wait for the dpkg lock.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q "$@"
}

# Prints the packages whose command is missing, one per line.
missing_packages() {
    command -v wg >/dev/null 2>&1 || echo wireguard-tools
    command -v ip >/dev/null 2>&1 || echo iproute2
    if [[ $1 == 1 ]] && ! command -v wireguard-go >/dev/null 2>&1; then
        echo wireguard-go
    fi
}

main() {
    local userspace=${WG_INSTALL_USERSPACE:-0} missing
    [[ $userspace == 0 || $userspace == 1 ]] || fail "WG_INSTALL_USERSPACE must be 0 or 1 (got '$userspace')"
    mapfile -t missing < <(missing_packages "$userspace")
    if ((${#missing[@]} == 0)); then
        echo "$SCRIPT: WireGuard tools already installed"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || fail "missing ${missing[*]} and no apt-get to install them; install them first"
    apt_get update
    apt_get install -y --no-install-recommends "${missing[@]}"
    echo "$SCRIPT: installed ${missing[*]}"
}

main "$@"
