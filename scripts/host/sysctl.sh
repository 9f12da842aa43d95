#!/usr/bin/env bash
# Kernel settings of an edge cluster host, applied now and persisted in
# $HOST_ROOT/etc/sysctl.d/60-opennebula-edge.conf (and, for br_netfilter,
# $HOST_ROOT/etc/modules-load.d/opennebula-edge.conf). Files are rewritten only when their
# content changes and values are written only when they differ, so a re-run changes nothing.
#
# Environment (all optional):
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
set -euo pipefail

readonly SCRIPT=sysctl.sh
readonly ROOT=${HOST_ROOT:-}
readonly SYSCTL_FILE=$ROOT/etc/sysctl.d/60-opennebula-edge.conf
readonly MODULES_FILE=$ROOT/etc/modules-load.d/opennebula-edge.conf

die() {
  echo "$SCRIPT: $*" >&2
  exit 1
}

yes_or_no() {
  local variable=$1 value=$2
  [[ $value == yes || $value == no ]] || die "$variable must be yes or no (got '$value')"
  echo "$value"
}

# Writes stdin to a file when its content differs; says whether it did.
write_if_changed() {
  local file=$1 content
  content=$(cat)
  if [[ -f $file && $(cat "$file") == "$content" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" >"$file.tmp"
  chmod 0644 "$file.tmp"
  mv -f "$file.tmp" "$file"
  echo "$SCRIPT: wrote $file"
}

# The bridge settings exist only once br_netfilter is loaded.
load_br_netfilter() {
  printf '%s\n' "# Managed by opennebula-edge (sysctl.sh)" br_netfilter | write_if_changed "$MODULES_FILE"
  if [[ ! -d /proc/sys/net/bridge ]]; then
    modprobe br_netfilter || die "SYSCTL_BRIDGE_NF=yes needs the br_netfilter module, which could not be loaded"
  fi
}

apply_value() {
  local key=$1 value=$2 current
  current=$(sysctl -n "$key") || die "cannot read $key"
  if [[ $current != "$value" ]]; then
    sysctl -q -w "$key=$value"
    echo "$SCRIPT: $key $current -> $value"
  fi
}

main() {
  local bridge_nf proxy_arp
  bridge_nf=$(yes_or_no SYSCTL_BRIDGE_NF "${SYSCTL_BRIDGE_NF:-yes}")
  proxy_arp=$(yes_or_no SYSCTL_PROXY_ARP "${SYSCTL_PROXY_ARP:-no}")

  local -a settings=(net.ipv4.ip_forward=1 net.ipv4.conf.all.proxy_arp=0)
  if [[ $proxy_arp == yes ]]; then
    settings[1]=net.ipv4.conf.all.proxy_arp=1
  fi
  if [[ $bridge_nf == yes ]]; then
    load_br_netfilter
    settings+=(net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1)
  fi

  {
    echo "# Managed by opennebula-edge (sysctl.sh); re-running the script rewrites this file."
    printf '%s\n' "${settings[@]/=/ = }"
  } | write_if_changed "$SYSCTL_FILE"

  local setting
  for setting in "${settings[@]}"; do
    apply_value "${setting%%=*}" "${setting#*=}"
  done
}

main "$@"
