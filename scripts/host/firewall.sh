#!/usr/bin/env bash
# Host firewall of an edge cluster host. All rules live in the chain ONE-EDGE-INPUT (and its IPv6
# twin), rebuilt in one iptables-restore transaction on every run, so a re-run with the same inputs
# leaves exactly the same rules. The same run writes the boot unit opennebula-edge-firewall.service
# that re-applies them at every boot, before the network comes up.
#
# Environment (all optional):
#   ACTION                      create (default): apply and persist; delete: remove the chain, the
#                               jump, the boot unit, and restore the FORWARD policy found before
#   FIREWALL_MODE               strict (default): reject everything not allowed; open: only the
#                               protected ports below are closed, everything else is accepted
#   FIREWALL_INTERFACE          limit the public services and the final reject to this interface
#                               (default: all interfaces); the protected ports are guarded everywhere
#   FIREWALL_WIREGUARD_PORT     UDP port of WireGuard, open to everyone (default 51820)
#   FIREWALL_OVERLAY_INTERFACE  the overlay's WireGuard interface (default wg0): the only interface
#                               VXLAN and BGP are accepted on
#   FIREWALL_VXLAN_PORT         UDP port of the VXLAN devices (default 8472, the kernel's)
#   FIREWALL_TRUSTED_SOURCES    the allow-list of libvirt (16509, 16514/tcp), live migration
#                               (49152-49215/tcp) and VNC (FIREWALL_VNC_PORTS): addresses or CIDRs,
#                               IPv4 or IPv6, separated by spaces or commas (the cluster's peers, the
#                               front-end, the overlay subnet). Default none: those ports closed to all
#   FIREWALL_VNC_PORTS          VNC consoles, FIRST:LAST (default 5900:65535: OpenNebula gives VM n
#                               port 5900+n)
#   FIREWALL_EXTRA_PORTS        more ports open to everyone, separated by spaces or commas, each
#                               PORT[/PROTO] or FIRST:LAST[/PROTO], PROTO tcp (default) or udp,
#                               e.g. "80/tcp 443 4124/udp 60000:60100/udp"
#   FIREWALL_IPV6               yes (default): the same rules with ip6tables; no: IPv4 only
#
# Always open: SSH 22/tcp, WireGuard, established/related traffic, ICMP, loopback. The FORWARD
# policy is set to ACCEPT (the VMs' traffic is forwarded), and the `REJECT --reject-with
# icmp-host-prohibited` rules left by oneprovision's strict mode (they block live migration) are
# removed from INPUT and FORWARD.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name firewall.sh

readonly CHAIN=ONE-EDGE-INPUT
readonly LIBVIRT_PORTS=(16509 16514)
readonly MIGRATION_PORTS=49152:49215
readonly INPUTS=(FIREWALL_MODE FIREWALL_INTERFACE FIREWALL_WIREGUARD_PORT FIREWALL_OVERLAY_INTERFACE
  FIREWALL_VXLAN_PORT FIREWALL_TRUSTED_SOURCES FIREWALL_VNC_PORTS FIREWALL_EXTRA_PORTS FIREWALL_IPV6)

# A port number 1..65535 without leading zeros.
is_port() {
  [[ $1 =~ ^[1-9][0-9]{0,4}$ ]] && ((10#$1 <= 65535))
}

is_interface() {
  [[ $1 =~ ^[A-Za-z0-9_.@-]{1,15}$ ]]
}

# Normalizes PORT or FIRST:LAST (FIRST-LAST is accepted too) to the way iptables prints it;
# $3 is the value to name in errors (default $2).
normalize_ports() {
  local variable=$1 spec=$2 shown=${3:-$2} ports first last
  ports=${spec/-/:}
  first=${ports%%:*}
  last=${ports#*:}
  if ! is_port "$first" || ! is_port "$last"; then
    die "$variable: '$shown' is not a port (1-65535) or a port range FIRST:LAST"
  fi
  ((10#$first <= 10#$last)) || die "$variable: range '$shown' ends before it starts"
  if [[ $first == "$last" ]]; then echo "$first"; else echo "$first:$last"; fi
}

# PORT[/PROTO] or FIRST:LAST[/PROTO] as PORTS/PROTO.
normalize_port_spec() {
  local variable=$1 spec=$2 proto=tcp ports
  [[ $spec == */* ]] && proto=${spec#*/}
  [[ $proto == tcp || $proto == udp ]] || die "$variable: protocol must be tcp or udp in '$spec'"
  ports=$(normalize_ports "$variable" "${spec%%/*}" "$spec")
  echo "$ports/$proto"
}

# Sorts an address or CIDR of the allow-list into TRUSTED4 or TRUSTED6 (with a prefix length).
add_trusted_source() {
  local source=$1 octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
  if [[ $source =~ ^$octet\.$octet\.$octet\.$octet(/([0-9]|[12][0-9]|3[0-2]))?$ ]]; then
    [[ $source == */* ]] || source+=/32
    TRUSTED4+=("$source")
  elif [[ $source =~ ^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(/([0-9]{1,2}|1[01][0-9]|12[0-8]))?$ ]]; then
    [[ $source == */* ]] || source+=/128
    TRUSTED6+=("$source")
  else
    die "FIREWALL_TRUSTED_SOURCES: '$source' is not an IPv4 or IPv6 address or CIDR"
  fi
}

read_inputs() {
  MODE=${FIREWALL_MODE:-strict}
  [[ $MODE == strict || $MODE == open ]] || die "FIREWALL_MODE must be strict or open (got '$MODE')"

  INTERFACE=${FIREWALL_INTERFACE:-}
  [[ -z $INTERFACE ]] || is_interface "$INTERFACE" ||
    die "FIREWALL_INTERFACE must be an interface name of at most 15 letters, digits, '_', '.', '@', '-' (got '$INTERFACE')"
  OVERLAY=${FIREWALL_OVERLAY_INTERFACE:-wg0}
  is_interface "$OVERLAY" ||
    die "FIREWALL_OVERLAY_INTERFACE must be an interface name of at most 15 letters, digits, '_', '.', '@', '-' (got '$OVERLAY')"

  local wireguard_port=${FIREWALL_WIREGUARD_PORT:-51820}
  is_port "$wireguard_port" || die "FIREWALL_WIREGUARD_PORT must be a port number 1-65535 (got '$wireguard_port')"
  VXLAN_PORT=${FIREWALL_VXLAN_PORT:-8472}
  is_port "$VXLAN_PORT" || die "FIREWALL_VXLAN_PORT must be a port number 1-65535 (got '$VXLAN_PORT')"
  VNC_PORTS=$(normalize_ports FIREWALL_VNC_PORTS "${FIREWALL_VNC_PORTS:-5900:65535}")

  IPV6=${FIREWALL_IPV6:-yes}
  [[ $IPV6 == yes || $IPV6 == no ]] || die "FIREWALL_IPV6 must be yes or no (got '$IPV6')"

  local list value=${FIREWALL_TRUSTED_SOURCES:-} source spec
  TRUSTED4=() TRUSTED6=()
  read -ra list <<<"${value//,/ }"
  for source in "${list[@]}"; do
    add_trusted_source "$source"
  done
  mapfile -t TRUSTED4 < <(printf '%s\n' "${TRUSTED4[@]}" | LC_ALL=C sort -u | grep .)
  mapfile -t TRUSTED6 < <(printf '%s\n' "${TRUSTED6[@]}" | LC_ALL=C sort -u | grep .)

  local ports=(22/tcp "$wireguard_port/udp")
  value=${FIREWALL_EXTRA_PORTS:-}
  read -ra list <<<"${value//,/ }"
  for spec in "${list[@]}"; do
    # A plain assignment, so that a failed check stops the script (an array append would not).
    spec=$(normalize_port_spec FIREWALL_EXTRA_PORTS "$spec")
    ports+=("$spec")
  done
  # Sorted by protocol and port, without duplicates: the same set always gives the same chain.
  mapfile -t PORTS < <(printf '%s\n' "${ports[@]}" | LC_ALL=C sort -u | LC_ALL=C sort -s -t/ -k2,2 -k1,1n)
}

# The iptables-restore input that replaces the chain. $1 is 4 or 6.
chain_rules() {
  local family=$1 in='' icmp reject spec source new='-m conntrack --ctstate NEW'
  local -a trusted
  [[ -n $INTERFACE ]] && in="-i $INTERFACE "
  if [[ $family == 4 ]]; then
    icmp=icmp reject=icmp-port-unreachable trusted=("${TRUSTED4[@]}")
  else
    icmp=ipv6-icmp reject=icmp6-port-unreachable trusted=("${TRUSTED6[@]}")
  fi
  local protected="-p tcp -m multiport --dports ${LIBVIRT_PORTS[0]},${LIBVIRT_PORTS[1]},$MIGRATION_PORTS,$VNC_PORTS"
  echo "*filter"
  echo ":$CHAIN - [0:0]"
  # The overlay's own ports first, whatever conntrack says: a VXLAN device listens on every
  # address, so a frame sent to the public address would otherwise reach the VMs' bridge.
  echo "-A $CHAIN ! -i $OVERLAY -p udp -m udp --dport $VXLAN_PORT -j REJECT --reject-with $reject"
  echo "-A $CHAIN ! -i $OVERLAY -p tcp -m tcp --dport 179 -j REJECT --reject-with tcp-reset"
  echo "-A $CHAIN -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
  echo "-A $CHAIN -p $icmp -j ACCEPT"
  echo "-A $CHAIN -i lo -j ACCEPT"
  echo "-A $CHAIN -i $OVERLAY -p udp $new -m udp --dport $VXLAN_PORT -j ACCEPT"
  echo "-A $CHAIN -i $OVERLAY -p tcp $new -m tcp --dport 179 -j ACCEPT"
  if [[ $family == 6 ]]; then
    # DHCPv6 replies to the host's own client, as oneprovision allowed.
    echo "-A $CHAIN ${in}-d fe80::/64 -p udp $new -m udp --dport 546 -j ACCEPT"
  fi
  # Public services first: an extra port inside the VNC range stays open to everyone.
  for spec in "${PORTS[@]}"; do
    echo "-A $CHAIN ${in}-p ${spec#*/} $new -m ${spec#*/} --dport ${spec%/*} -j ACCEPT"
  done
  for source in "${trusted[@]}"; do
    echo "-A $CHAIN -s $source $protected $new -j ACCEPT"
  done
  echo "-A $CHAIN $protected -j REJECT --reject-with tcp-reset"
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
    run "$tool" -I INPUT 1 -j "$CHAIN"
  fi
  for extra in $(rule_numbers "$tool" INPUT "^-A INPUT -j $CHAIN\$" | head -n -1); do
    run "$tool" -D INPUT "$extra"
  done
}

remove_oneprovision_rejects() {
  local tool=$1 reject=$2 chain number
  for chain in INPUT FORWARD; do
    for number in $(rule_numbers "$tool" "$chain" "-j REJECT --reject-with $reject\$"); do
      say "removing rule $number of $chain ($reject reject, blocks live migration)"
      run "$tool" -D "$chain" "$number"
    done
  done
}

forward_policy() {
  "$1" -S FORWARD | awk '$1 == "-P" { print $3; exit }'
}

apply_family() {
  local family=$1 tool=iptables reject=icmp-host-prohibited
  if [[ $family == 6 ]]; then
    tool=ip6tables reject=icmp6-adm-prohibited
  fi
  remember_value "forward-policy-v$family" "$(forward_policy "$tool")"
  chain_rules "$family" | run "$tool-restore" --noflush
  ensure_single_jump "$tool"
  remove_oneprovision_rejects "$tool" "$reject"
  [[ $(forward_policy "$tool") == ACCEPT ]] || run "$tool" -P FORWARD ACCEPT
}

delete_family() {
  local family=$1 tool=iptables policy
  [[ $family == 6 ]] && tool=ip6tables
  while "$tool" -C INPUT -j "$CHAIN" 2>/dev/null; do
    run "$tool" -D INPUT -j "$CHAIN"
  done
  if "$tool" -S "$CHAIN" >/dev/null 2>&1; then
    run "$tool" -F "$CHAIN"
    run "$tool" -X "$CHAIN"
  fi
  if policy=$(recalled_value "forward-policy-v$family"); then
    [[ $(forward_policy "$tool") == "$policy" ]] || run "$tool" -P FORWARD "$policy"
    forget_value "forward-policy-v$family"
  fi
}

# ufw would keep its own default-deny rules next to ours (oneprovision's ddc role masked it).
disable_ufw() {
  command -v ufw >/dev/null 2>&1 || return 0
  if ufw status 2>/dev/null | grep -q '^Status: active'; then
    say "disabling ufw"
    run ufw disable >/dev/null
  fi
  if systemd_running && [[ $(systemctl is-enabled ufw 2>/dev/null || true) != masked ]]; then
    run systemctl mask --now ufw >/dev/null 2>&1 || true
  fi
}

has_ipv6_tools() {
  [[ $IPV6 == yes ]] || return 1
  command -v ip6tables-restore >/dev/null 2>&1 && return 0
  warn "warning: ip6tables-restore is missing, IPv6 is not filtered"
  return 1
}

create() {
  disable_ufw
  apply_family 4
  if has_ipv6_tools; then
    apply_family 6
  fi
  # Before the network is configured, after anything that restores older rules (netfilter-persistent).
  install_boot_unit firewall "Host firewall of this OpenNebula edge host" \
    "DefaultDependencies=no
Wants=network-pre.target systemd-modules-load.service local-fs.target
Before=network-pre.target shutdown.target
After=systemd-modules-load.service local-fs.target netfilter-persistent.service
Conflicts=shutdown.target" "${INPUTS[@]}"
  say "$CHAIN ($MODE) allows ${PORTS[*]}${INTERFACE:+ on $INTERFACE}; VXLAN $VXLAN_PORT/udp and BGP 179/tcp only on $OVERLAY; libvirt, migration and VNC only from ${TRUSTED4[*]:-nobody}${TRUSTED6[*]:+ ${TRUSTED6[*]}}"
}

delete() {
  remove_boot_unit firewall
  delete_family 4
  if has_ipv6_tools; then
    delete_family 6
  fi
  say "removed $CHAIN"
}

main() {
  read_action create delete
  read_inputs
  command -v iptables-restore >/dev/null 2>&1 || die "iptables-restore is not installed"
  "$ACTION"
}

main "$@"
