#!/usr/bin/env bash
# Host firewall of an edge cluster host (what oneprovision's `iptables` role did, plus the ports
# an edge host needs today). All rules live in the chain ONE-EDGE-INPUT (and its IPv6 twin),
# which is rebuilt in one iptables-restore transaction on every run, so a re-run with the same
# inputs leaves exactly the same rules.
#
# Environment (all optional):
#   FIREWALL_MODE            strict (default): reject everything not allowed; open: accept-list only
#   FIREWALL_INTERFACE       limit the service rules and the final reject to this interface
#                            (default: all interfaces)
#   FIREWALL_WIREGUARD_PORT  UDP port of WireGuard (default 51820)
#   FIREWALL_EXTRA_PORTS     more ports to open, separated by spaces or commas, each
#                            PORT[/PROTO] or FIRST:LAST[/PROTO], PROTO tcp (default) or udp,
#                            e.g. "80/tcp 443 4124/udp 60000:60100/udp"
#   FIREWALL_IPV6            yes (default): the same rules with ip6tables; no: IPv4 only
#
# Always open: SSH 22/tcp, BGP 179/tcp, VXLAN 8472/udp, WireGuard, libvirt 16509/tcp and
# 16514/tcp, QEMU live migration 49152-49215/tcp; established/related traffic, ICMP, loopback.
# The FORWARD policy is set to ACCEPT (the VMs' traffic is forwarded), and the
# `REJECT --reject-with icmp-host-prohibited` rules left by oneprovision's strict mode (they
# block live migration) are removed from INPUT and FORWARD.
set -euo pipefail

readonly SCRIPT=firewall.sh
readonly CHAIN=ONE-EDGE-INPUT
readonly BASE_PORTS=(22/tcp 179/tcp 8472/udp 16509/tcp 16514/tcp 49152:49215/tcp)

die() {
  echo "$SCRIPT: $*" >&2
  exit 1
}

# A port number 1..65535 without leading zeros.
is_port() {
  [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && ((10#$1 <= 65535))
}

# Normalizes PORT[/PROTO] or FIRST:LAST[/PROTO] (FIRST-LAST is accepted too) to PORTS/PROTO
# with the range written FIRST:LAST, the way iptables prints it.
normalize_port_spec() {
  local variable=$1 spec=$2 ports proto first last
  ports=${spec%%/*}
  proto=tcp
  [[ $spec == */* ]] && proto=${spec#*/}
  [[ $proto == tcp || $proto == udp ]] ||
    die "$variable: protocol must be tcp or udp in '$spec'"
  ports=${ports/-/:}
  first=${ports%%:*}
  last=${ports#*:}
  if ! is_port "$first" || ! is_port "$last"; then
    die "$variable: '$spec' is not a port (1-65535) or a port range FIRST:LAST"
  fi
  ((10#$first <= 10#$last)) || die "$variable: range '$spec' ends before it starts"
  if [[ $first == "$last" ]]; then
    echo "$first/$proto"
  else
    echo "$first:$last/$proto"
  fi
}

read_inputs() {
  MODE=${FIREWALL_MODE:-strict}
  [[ $MODE == strict || $MODE == open ]] ||
    die "FIREWALL_MODE must be strict or open (got '$MODE')"

  INTERFACE=${FIREWALL_INTERFACE:-}
  [[ -z $INTERFACE || $INTERFACE =~ ^[A-Za-z0-9_.@-]{1,15}$ ]] ||
    die "FIREWALL_INTERFACE must be an interface name of at most 15 letters, digits, '_', '.', '@', '-' (got '$INTERFACE')"

  local wireguard_port=${FIREWALL_WIREGUARD_PORT:-51820}
  is_port "$wireguard_port" ||
    die "FIREWALL_WIREGUARD_PORT must be a port number 1-65535 (got '$wireguard_port')"

  IPV6=${FIREWALL_IPV6:-yes}
  [[ $IPV6 == yes || $IPV6 == no ]] || die "FIREWALL_IPV6 must be yes or no (got '$IPV6')"

  local ports=("${BASE_PORTS[@]}" "$wireguard_port/udp")
  local list=${FIREWALL_EXTRA_PORTS:-} extra spec
  read -ra extra <<<"${list//,/ }"
  for spec in "${extra[@]}"; do
    ports+=("$(normalize_port_spec FIREWALL_EXTRA_PORTS "$spec")")
  done
  # Sorted by protocol and port, without duplicates: the same set always gives the same chain.
  mapfile -t PORTS < <(printf '%s\n' "${ports[@]}" | LC_ALL=C sort -u | LC_ALL=C sort -s -t/ -k2,2 -k1,1n)
}

# The iptables-restore input that replaces the chain. $1 is 4 or 6.
chain_rules() {
  local family=$1 in='' spec ports proto icmp reject
  [[ -n $INTERFACE ]] && in="-i $INTERFACE "
  if [[ $family == 4 ]]; then
    icmp=icmp reject=icmp-port-unreachable
  else
    icmp=ipv6-icmp reject=icmp6-port-unreachable
  fi
  echo "*filter"
  echo ":$CHAIN - [0:0]"
  echo "-A $CHAIN -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
  echo "-A $CHAIN -p $icmp -j ACCEPT"
  echo "-A $CHAIN -i lo -j ACCEPT"
  if [[ $family == 6 ]]; then
    # DHCPv6 replies to the host's own client, as oneprovision allowed.
    echo "-A $CHAIN ${in}-d fe80::/64 -p udp -m conntrack --ctstate NEW -m udp --dport 546 -j ACCEPT"
  fi
  for spec in "${PORTS[@]}"; do
    ports=${spec%/*} proto=${spec#*/}
    echo "-A $CHAIN ${in}-p $proto -m conntrack --ctstate NEW -m $proto --dport $ports -j ACCEPT"
  done
  if [[ $MODE == strict ]]; then
    echo "-A $CHAIN ${in}-j REJECT --reject-with $reject"
  fi
  echo "COMMIT"
}

# Numbers of the rules of a built-in chain that match a pattern, highest first.
rule_numbers() {
  local tool=$1 chain=$2 pattern=$3
  "$tool" -S "$chain" | awk -v pattern="$pattern" '/^-A / { n++; if ($0 ~ pattern) print n }' | sort -rn
}

# Keeps exactly one jump from INPUT to our chain; inserts it first when it is missing.
ensure_single_jump() {
  local tool=$1 extra
  if ! "$tool" -C INPUT -j "$CHAIN" 2>/dev/null; then
    "$tool" -I INPUT 1 -j "$CHAIN"
  fi
  for extra in $(rule_numbers "$tool" INPUT "^-A INPUT -j $CHAIN\$" | head -n -1); do
    "$tool" -D INPUT "$extra"
  done
}

remove_oneprovision_rejects() {
  local tool=$1 reject=$2 chain number
  for chain in INPUT FORWARD; do
    for number in $(rule_numbers "$tool" "$chain" "-j REJECT --reject-with $reject\$"); do
      echo "$SCRIPT: removing rule $number of $chain ($reject reject, blocks live migration)"
      "$tool" -D "$chain" "$number"
    done
  done
}

apply_family() {
  local family=$1 tool=iptables reject=icmp-host-prohibited
  if [[ $family == 6 ]]; then
    tool=ip6tables reject=icmp6-adm-prohibited
  fi
  chain_rules "$family" | "$tool-restore" --noflush
  ensure_single_jump "$tool"
  remove_oneprovision_rejects "$tool" "$reject"
  "$tool" -P FORWARD ACCEPT
}

# ufw would keep its own default-deny rules next to ours (oneprovision's ddc role masked it).
disable_ufw() {
  command -v ufw >/dev/null 2>&1 || return 0
  if ufw status 2>/dev/null | grep -q '^Status: active'; then
    echo "$SCRIPT: disabling ufw"
    ufw disable >/dev/null
  fi
  if command -v systemctl >/dev/null 2>&1 && [[ $(systemctl is-enabled ufw 2>/dev/null || true) != masked ]]; then
    systemctl mask --now ufw >/dev/null 2>&1 || true
  fi
}

main() {
  read_inputs
  command -v iptables-restore >/dev/null 2>&1 || die "iptables-restore is not installed"
  disable_ufw
  apply_family 4
  if [[ $IPV6 == yes ]]; then
    if command -v ip6tables-restore >/dev/null 2>&1; then
      apply_family 6
    else
      echo "$SCRIPT: warning: ip6tables-restore is missing, IPv6 is not filtered" >&2
    fi
  fi
  echo "$SCRIPT: $CHAIN ($MODE) allows ${PORTS[*]}${INTERFACE:+ on $INTERFACE}"
}

main "$@"
