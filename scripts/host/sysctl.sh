#!/usr/bin/env bash
# Kernel settings of an edge cluster host, applied now and persisted in
# $HOST_ROOT/etc/sysctl.d/60-opennebula-edge.conf (and, for br_netfilter,
# $HOST_ROOT/etc/modules-load.d/opennebula-edge.conf), which systemd applies at every boot. Files
# are rewritten only when their content changes and values are written only when they differ, so a
# re-run changes nothing.
#
# Environment (all optional):
#   ACTION              create (default); delete: remove both files and put back the values the
#                       host had before the first create
#   SYSCTL_BRIDGE_NF    yes (default): bridged IPv4/IPv6 traffic goes through iptables
#                       (net.bridge.bridge-nf-call-ip[6]tables=1, needed by OpenNebula's
#                       security groups on bridges); no: leave those settings alone
#   SYSCTL_PROXY_ARP    no (default): net.ipv4.conf.all.proxy_arp=0; yes: =1. public-forwarding.sh
#                       installs explicit proxy entries, which need only IP forwarding, so no
#                       model needs blanket proxy ARP; it exists for setups that rely on it
#   HOST_ROOT           prefix for the files written (default: none, i.e. /). The runtime values
#                       are applied to the running kernel (the current network namespace) either way.
#
# Always: net.ipv4.ip_forward=1 (hosts route and NAT the VMs' public traffic).
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name sysctl.sh

readonly SYSCTL_FILE=$ROOT/etc/sysctl.d/60-opennebula-edge.conf
readonly MODULES_FILE=$ROOT/etc/modules-load.d/opennebula-edge.conf

yes_or_no() {
  local variable=$1 value=$2
  [[ $value == yes || $value == no ]] || die "$variable must be yes or no (got '$value')"
  echo "$value"
}

read_inputs() {
  local bridge_nf proxy_arp
  bridge_nf=$(yes_or_no SYSCTL_BRIDGE_NF "${SYSCTL_BRIDGE_NF:-yes}")
  proxy_arp=$(yes_or_no SYSCTL_PROXY_ARP "${SYSCTL_PROXY_ARP:-no}")
  BRIDGE_NF=$bridge_nf
  SETTINGS=(net.ipv4.ip_forward=1 net.ipv4.conf.all.proxy_arp=0)
  if [[ $proxy_arp == yes ]]; then
    SETTINGS[1]=net.ipv4.conf.all.proxy_arp=1
  fi
  if [[ $BRIDGE_NF == yes ]]; then
    SETTINGS+=(net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1)
  fi
}

# The bridge settings exist only once br_netfilter is loaded.
load_br_netfilter() {
  printf '%s\n' "# Managed by opennebula-edge (sysctl.sh)" br_netfilter | write_if_changed "$MODULES_FILE" 0644
  if [[ ! -d /proc/sys/net/bridge ]]; then
    run modprobe br_netfilter || die "SYSCTL_BRIDGE_NF=yes needs the br_netfilter module, which could not be loaded"
  fi
}

# set_value KEY VALUE: writes the value when it differs, remembering the first value it replaced.
set_value() {
  local key=$1 value=$2 current
  current=$(sysctl -n "$key") || die "cannot read $key"
  remember_value "$key" "$current"
  if [[ $current != "$value" ]]; then
    run sysctl -q -w "$key=$value"
    say "$key $current -> $value"
  fi
}

create() {
  [[ $BRIDGE_NF == no ]] || load_br_netfilter
  {
    echo "# Managed by opennebula-edge (sysctl.sh); re-running the script rewrites this file."
    printf '%s\n' "${SETTINGS[@]/=/ = }"
  } | write_if_changed "$SYSCTL_FILE" 0644
  local setting
  for setting in "${SETTINGS[@]}"; do
    set_value "${setting%%=*}" "${setting#*=}"
  done
}

# Puts back every value this script replaced, whatever the current inputs ask for.
delete() {
  remove_file "$SYSCTL_FILE"
  remove_file "$MODULES_FILE"
  local key value
  for key in net.ipv4.ip_forward net.ipv4.conf.all.proxy_arp net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables; do
    value=$(recalled_value "$key") || continue
    if [[ $(sysctl -n "$key" 2>/dev/null) != "$value" ]]; then
      run sysctl -q -w "$key=$value"
      say "$key restored to $value"
    fi
    forget_value "$key"
  done
}

main() {
  read_action create delete
  read_inputs
  "$ACTION"
}

main "$@"
