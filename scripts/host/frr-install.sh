#!/usr/bin/env bash
# Installs FRR (zebra and bgpd) for the overlay's EVPN fabric, idempotently: a host whose FRR
# daemons are already there (oneprovision's KVM hosts have them) installs nothing and needs no
# network. scripts/host/frr-apply.sh then writes the configuration and (re)starts FRR.
# Debian and Ubuntu (apt); elsewhere FRR must be installed beforehand.
#
# Environment (every value comes from here; callers never splice values into this text):
#   FRR_SOURCE    distribution (default): the system's own apt repositories;
#                 frrouting: FRR's repository deb.frrouting.org, as oneprovision's frr role did.
#   FRR_CHANNEL   channel of deb.frrouting.org: frr-stable (default), or a release line such as
#                 frr-10 or frr-9.1. Only with FRR_SOURCE=frrouting.
#   FRR_SBIN_DIR  where the daemons are once installed. Default /usr/lib/frr.
set -euo pipefail

readonly SCRIPT=frr-install.sh
readonly KEY_URL=https://deb.frrouting.org/frr/keys.gpg
readonly KEYRING=/usr/share/keyrings/frrouting.gpg
readonly LIST=/etc/apt/sources.list.d/frr.list

source=${FRR_SOURCE:-distribution}
channel=${FRR_CHANNEL:-frr-stable}
sbin_dir=${FRR_SBIN_DIR:-/usr/lib/frr}

fail() {
    echo "$SCRIPT: $*" >&2
    exit 1
}

check_inputs() {
    [[ $source =~ ^(distribution|frrouting)$ ]] || fail "FRR_SOURCE must be distribution or frrouting (got '$source')"
    [[ $channel =~ ^frr-(stable|[0-9]+(\.[0-9]+)?)$ ]] || fail "FRR_CHANNEL must be frr-stable or a release line such as frr-10 (got '$channel')"
}

apt_get() {
    # Fresh cloud machines often run unattended-upgrades at boot; wait for the dpkg lock.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q "$@"
}

installed() {
    [[ -x $sbin_dir/zebra && -x $sbin_dir/bgpd ]]
}

# The codename of the system (bookworm, jammy, noble …), read as data (os-release is not sourced).
os_codename() {
    sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | head -n 1 | tr -d '"'"'"
}

install_download_tools() {
    local missing=()
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
    if ((${#missing[@]} > 0)); then
        apt_get update
        apt_get install -y --no-install-recommends "${missing[@]}"
    fi
}

# Adds deb.frrouting.org: its signing key (de-armored when served armored) and the apt source.
add_frrouting_repository() {
    local codename tmp
    codename=$(os_codename)
    [[ $codename =~ ^[a-z]+$ ]] || fail "cannot read VERSION_CODENAME from /etc/os-release for deb.frrouting.org"
    install_download_tools
    if [[ ! -s $KEYRING ]]; then
        tmp=$(mktemp)
        curl -fsSL --retry 5 "$KEY_URL" -o "$tmp" || fail "could not download FRR's signing key from $KEY_URL"
        if grep -q -- '-----BEGIN PGP' "$tmp"; then
            gpg --dearmor --yes --output "$tmp.gpg" "$tmp"
            mv -f "$tmp.gpg" "$tmp"
        fi
        install -D -m 0644 "$tmp" "$KEYRING"
        rm -f "$tmp"
    fi
    printf 'deb [signed-by=%s] https://deb.frrouting.org/frr %s %s\n' "$KEYRING" "$codename" "$channel" >"$LIST.tmp"
    chmod 0644 "$LIST.tmp"
    mv -f "$LIST.tmp" "$LIST"
}

main() {
    check_inputs
    if installed; then
        echo "$SCRIPT: FRR already installed ($sbin_dir/bgpd)"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || fail "FRR is not installed and there is no apt-get to install it; install frr first"
    if [[ $source == frrouting ]]; then
        add_frrouting_repository
    fi
    apt_get update
    apt_get install -y frr frr-pythontools
    installed || fail "the frr package is installed but $sbin_dir/bgpd or $sbin_dir/zebra is missing; set FRR_SBIN_DIR"
    echo "$SCRIPT: installed FRR from $source"
}

main "$@"
