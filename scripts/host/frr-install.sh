#!/usr/bin/env bash
# Installs FRR (zebra, bgpd and frr-reload.py) for the overlay's EVPN fabric, idempotently: a host
# that has them (oneprovision's KVM hosts have the daemons) installs nothing and needs no network.
# scripts/host/frr-apply.sh then writes the configuration and applies it (frr-reload.py).
# Debian and Ubuntu (apt); elsewhere FRR must be installed beforehand.
#
# Environment (every value comes from here; callers never splice values into this text):
#   FRR_SOURCE    distribution (default): the system's own apt repositories;
#                 frrouting: FRR's repository deb.frrouting.org, as oneprovision's frr role did.
#   FRR_CHANNEL   channel of deb.frrouting.org: frr-stable (default), or a release line such as
#                 frr-10 or frr-9.1. Only with FRR_SOURCE=frrouting.
#   FRR_SBIN_DIR  where the daemons and frr-reload.py are once installed. Default /usr/lib/frr.
#
# Installs only (ACTION=create): packages are not removed, other software on the host may use them.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name frr-install.sh

readonly KEY_URL=https://deb.frrouting.org/frr/keys.gpg
readonly KEYRING=/usr/share/keyrings/frrouting.gpg
readonly LIST=/etc/apt/sources.list.d/frr.list

source=${FRR_SOURCE:-distribution}
channel=${FRR_CHANNEL:-frr-stable}
sbin_dir=${FRR_SBIN_DIR:-/usr/lib/frr}

check_inputs() {
  [[ $source =~ ^(distribution|frrouting)$ ]] || die "FRR_SOURCE must be distribution or frrouting (got '$source')"
  [[ $channel =~ ^frr-(stable|[0-9]+(\.[0-9]+)?)$ ]] || die "FRR_CHANNEL must be frr-stable or a release line such as frr-10 (got '$channel')"
}

installed() {
  [[ -x $sbin_dir/zebra && -x $sbin_dir/bgpd && -x $sbin_dir/frr-reload.py ]]
}

# The codename of the system (bookworm, jammy, noble …), read as data (os-release is not sourced).
os_codename() {
  sed -n 's/^VERSION_CODENAME=//p' /etc/os-release 2>/dev/null | head -n 1 | tr -d '"'"'"
}

# Adds deb.frrouting.org: its signing key (de-armored when served armored) and the apt source.
add_frrouting_repository() {
  local codename tmp
  codename=$(os_codename)
  [[ $codename =~ ^[a-z]+$ ]] || die "cannot read VERSION_CODENAME from /etc/os-release for deb.frrouting.org"
  install_tools
  if [[ ! -s $KEYRING ]]; then
    tmp=$(temp_file)
    run curl -fsSL --retry 5 "$KEY_URL" -o "$tmp" || die "could not download FRR's signing key from $KEY_URL"
    if grep -q -- '-----BEGIN PGP' "$tmp"; then
      gpg --dearmor --yes --output "$tmp.gpg" "$tmp"
      mv -f "$tmp.gpg" "$tmp"
    fi
    install -D -m 0644 "$tmp" "$KEYRING"
  fi
  printf 'deb [signed-by=%s] https://deb.frrouting.org/frr %s %s\n' "$KEYRING" "$codename" "$channel" |
    write_if_changed "$LIST" 0644
}

main() {
  read_action create
  check_inputs
  if installed; then
    say "FRR already installed ($sbin_dir/bgpd, $sbin_dir/frr-reload.py)"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 || die "FRR is not installed and there is no apt-get to install it; install frr and frr-pythontools first"
  if [[ $source == frrouting ]]; then
    add_frrouting_repository
  fi
  apt_get update
  apt_get install -y frr frr-pythontools
  installed || die "the frr packages are installed but $sbin_dir/bgpd, zebra or frr-reload.py is missing; set FRR_SBIN_DIR"
  say "installed FRR from $source"
}

main "$@"
