#!/usr/bin/env bash
# Makes the VMs of an edge host publicly reachable without oneprovision's IPAM and elastic /
# nodeport drivers. The VMs sit on BRIDGE; the host routes each VM address to the bridge
# (/32 routes), answers ARP for the VMs' gateway on the bridge and for the public addresses on
# the uplink (proxy neighbour entries), and NATs where the cloud model needs it.
#
# Environment:
#   PUBLIC_MODEL  required, one of:
#     portforward  DigitalOcean: VMs have private leases BASE_IP+i; lease i is reachable on the
#                  host's own addresses at TCP ports PORT_START+PORT_SIZE*i+1 ... +PORT_SIZE,
#                  external port a+k-1 -> VM port k (what OpenNebula's nodeport driver did);
#                  the VMs' outbound traffic is masqueraded behind the host.
#     routed       Vultr: each VM uses a reserved public IP itself (PUBLIC_IPS).
#     nat          NAT_PAIRS of public=private addresses, the VM using the private one.
#                  NAT_BY=host (default, Scaleway flexible IPs): the host DNATs public->private
#                  and SNATs private->public. NAT_BY=cloud (AWS Elastic IPs): the cloud maps the
#                  public address to the private one, a secondary private IP of the host that
#                  arrives on the uplink; the host only routes.
#   UPLINK        required: the host's interface towards the cloud network (must exist)
#   BRIDGE        the VMs' bridge (default br0), created when missing
#   GATEWAY       required: the VMs' default gateway address(es), space or comma separated; the
#                 host answers ARP for them on BRIDGE. They must not be VM addresses.
#   portforward:  BASE_IP (required), LEASES (required, 1..1000), PORT_START (default 9000),
#                 PORT_SIZE (default 100)
#   routed:       PUBLIC_IPS (required) space or comma separated IPv4 addresses
#   nat:          NAT_PAIRS (required) space or comma separated PUBLIC=PRIVATE, NAT_BY host|cloud
#
#   ACTION        create (default): apply, and write the boot unit
#                 opennebula-edge-public-forwarding.service that re-applies it at every boot;
#                 delete: remove every tagged route, proxy entry and nat rule, the bridge when this
#                 script created it (and no port is left on it), and the boot unit. Delete needs
#                 only BRIDGE.
#
# Needs net.ipv4.ip_forward=1 (run sysctl.sh first). Everything installed is tagged: routes and
# proxy entries with protocol 233, iptables rules in the nat chains ONE-EDGE-PREROUTING and
# ONE-EDGE-POSTROUTING (rebuilt in one transaction). Tagged entries that the current inputs do
# not ask for are removed, so re-running with other inputs (one address fewer) removes exactly
# what is no longer asked for, and re-running with the same inputs changes nothing.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name public-forwarding.sh

readonly PROTO=233
readonly PRE_CHAIN=ONE-EDGE-PREROUTING
readonly POST_CHAIN=ONE-EDGE-POSTROUTING
readonly MAX_LEASES=1000
readonly INPUTS=(PUBLIC_MODEL UPLINK BRIDGE GATEWAY BASE_IP LEASES PORT_START PORT_SIZE PUBLIC_IPS NAT_PAIRS NAT_BY)

is_ipv4() {
  local octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
  [[ $1 =~ ^$octet\.$octet\.$octet\.$octet$ ]]
}

ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

int_to_ip() {
  local n=$1
  echo "$(((n >> 24) & 255)).$(((n >> 16) & 255)).$(((n >> 8) & 255)).$((n & 255))"
}

is_count() {
  [[ $1 =~ ^[1-9][0-9]{0,5}$ ]]
}

interface_name() {
  local variable=$1 value=$2
  [[ $value =~ ^[A-Za-z0-9_.@-]{1,15}$ ]] ||
    die "$variable must be an interface name of at most 15 letters, digits, '_', '.', '@', '-' (got '$value')"
  echo "$value"
}

# Splits a space/comma separated list of IPv4 addresses into the array named by $3.
ipv4_list() {
  local variable=$1 value=$2 item
  local -n result=$3
  read -ra result <<<"${value//,/ }"
  ((${#result[@]} > 0)) || die "$variable is required for PUBLIC_MODEL=$MODEL"
  for item in "${result[@]}"; do
    is_ipv4 "$item" || die "$variable: '$item' is not an IPv4 address"
  done
}

# Inputs become: ROUTES (addresses routed to the bridge), UPLINK_PROXIES (addresses the host
# answers for on the uplink), GATEWAYS, and the nat chain rules PRE_RULES / POST_RULES.
read_inputs() {
  MODEL=${PUBLIC_MODEL:-}
  [[ $MODEL == portforward || $MODEL == routed || $MODEL == nat ]] ||
    die "PUBLIC_MODEL must be one of portforward, routed, nat (got '$MODEL')"
  [[ -n ${UPLINK:-} ]] || die "UPLINK is required: the host's interface towards the cloud network"
  UPLINK_IF=$(interface_name UPLINK "$UPLINK")
  BRIDGE_IF=$(interface_name BRIDGE "${BRIDGE:-br0}")
  [[ $UPLINK_IF != "$BRIDGE_IF" ]] || die "UPLINK and BRIDGE must be different interfaces (both '$UPLINK_IF')"
  ipv4_list GATEWAY "${GATEWAY:-}" GATEWAYS

  ROUTES=() UPLINK_PROXIES=() PRE_RULES=() POST_RULES=()
  case $MODEL in
    portforward) read_portforward ;;
    routed) read_routed ;;
    nat) read_nat ;;
  esac

  local gateway route
  for gateway in "${GATEWAYS[@]}"; do
    for route in "${ROUTES[@]}"; do
      [[ $gateway != "$route" ]] || die "GATEWAY $gateway is also a VM address; the gateway must be another address"
    done
  done
}

read_portforward() {
  local base=${BASE_IP:-} leases=${LEASES:-} start=${PORT_START:-9000} size=${PORT_SIZE:-100}
  is_ipv4 "$base" || die "BASE_IP must be the IPv4 address of the first lease (got '$base')"
  if ! is_count "$leases" || ((leases > MAX_LEASES)); then
    die "LEASES must be a number of leases from 1 to $MAX_LEASES (got '$leases')"
  fi
  [[ $start =~ ^[0-9]{1,5}$ ]] || die "PORT_START must be a port number (got '$start')"
  is_count "$size" || die "PORT_SIZE must be a positive number of ports per lease (got '$size')"
  local last_port=$((10#$start + leases * size))
  ((last_port <= 65535)) ||
    die "PORT_START + LEASES * PORT_SIZE must stay within 65535 (got $last_port)"
  local first_ip
  first_ip=$(ip_to_int "$base")
  ((first_ip + leases - 1 <= 0xFFFFFFFF)) || die "BASE_IP + LEASES goes past 255.255.255.255"

  local i ip a b
  for ((i = 0; i < leases; i++)); do
    ip=$(int_to_ip $((first_ip + i)))
    a=$((10#$start + i * size + 1))
    b=$((a + size - 1))
    ROUTES+=("$ip")
    # Only traffic addressed to the host itself, so VMs' own connections to port a:b elsewhere
    # are left alone. The /a base makes external a+k-1 land on VM port k.
    PRE_RULES+=("-p tcp -m addrtype --dst-type LOCAL -m tcp --dport $a:$b -j DNAT --to-destination $ip:1-$size/$a")
  done
  POST_RULES+=("-o $UPLINK_IF -m iprange --src-range $base-$(int_to_ip $((first_ip + leases - 1))) -j MASQUERADE")
}

read_routed() {
  ipv4_list PUBLIC_IPS "${PUBLIC_IPS:-}" ROUTES
  UPLINK_PROXIES=("${ROUTES[@]}")
}

read_nat() {
  local nat_by=${NAT_BY:-host} list=${NAT_PAIRS:-} pairs pair public private
  [[ $nat_by == host || $nat_by == cloud ]] || die "NAT_BY must be host or cloud (got '$nat_by')"
  read -ra pairs <<<"${list//,/ }"
  ((${#pairs[@]} > 0)) || die "NAT_PAIRS is required for PUBLIC_MODEL=nat: PUBLIC=PRIVATE pairs"
  for pair in "${pairs[@]}"; do
    public=${pair%%=*} private=${pair#*=}
    if [[ $pair != *=* ]] || ! is_ipv4 "$public" || ! is_ipv4 "$private"; then
      die "NAT_PAIRS: '$pair' is not PUBLIC=PRIVATE with two IPv4 addresses"
    fi
    [[ $public != "$private" ]] || die "NAT_PAIRS: '$pair' maps an address to itself; use PUBLIC_MODEL=routed"
    ROUTES+=("$private")
    if [[ $nat_by == cloud ]]; then
      UPLINK_PROXIES+=("$private")
    else
      # The public address is routed to the bridge only so that the host answers ARP for it
      # on the uplink (a proxy entry answers only for addresses routed via another interface);
      # DNAT rewrites the packets before that route is ever used.
      ROUTES+=("$public")
      UPLINK_PROXIES+=("$public")
      PRE_RULES+=("-d $public/32 -j DNAT --to-destination $private")
      POST_RULES+=("-s $private/32 -o $UPLINK_IF -j SNAT --to-source $public")
    fi
  done
}

check_prerequisites() {
  command -v ip >/dev/null 2>&1 || die "the ip command (iproute2) is not installed"
  command -v iptables-restore >/dev/null 2>&1 || die "iptables-restore is not installed"
  ip link show dev "$UPLINK_IF" >/dev/null 2>&1 || die "UPLINK interface '$UPLINK_IF' does not exist"
  [[ $(sysctl -n net.ipv4.ip_forward) == 1 ]] ||
    die "net.ipv4.ip_forward is 0; run sysctl.sh before this script"
}

ensure_bridge() {
  if ! ip link show dev "$BRIDGE_IF" >/dev/null 2>&1; then
    remember_value "created-$BRIDGE_IF" yes
    run ip link add name "$BRIDGE_IF" type bridge
    say "created bridge $BRIDGE_IF"
  fi
  remember_value "created-$BRIDGE_IF" no
  [[ $(ip -o link show dev "$BRIDGE_IF") == *"state UP"* || $(ip -o link show dev "$BRIDGE_IF") == *",UP"* ]] ||
    run ip link set dev "$BRIDGE_IF" up
}

# Deletes the bridge when this script created it and no port is left on it.
remove_bridge() {
  local created
  created=$(recalled_value "created-$BRIDGE_IF") || return 0
  if [[ $created == yes ]] && ip link show dev "$BRIDGE_IF" >/dev/null 2>&1; then
    if [[ -n $(ip -o link show master "$BRIDGE_IF") ]]; then
      say "kept bridge $BRIDGE_IF: ports are still attached to it"
      return 0
    fi
    run ip link del dev "$BRIDGE_IF"
    say "removed bridge $BRIDGE_IF"
  fi
  forget_value "created-$BRIDGE_IF"
}

contains() {
  local needle=$1 item
  shift
  for item in "$@"; do
    [[ $item == "$needle" ]] && return 0
  done
  return 1
}

reconcile_routes() {
  local ip dst dev rest
  local -a present
  mapfile -t present < <(ip -4 route show proto "$PROTO" | awk '{ print $1 " " $3 }')
  for ip in "${ROUTES[@]}"; do
    contains "$ip $BRIDGE_IF" "${present[@]}" || run ip route replace "$ip/32" dev "$BRIDGE_IF" proto "$PROTO"
  done
  while read -r dst _ dev rest; do
    if [[ $dev != "$BRIDGE_IF" ]] || ! contains "${dst%/32}" "${ROUTES[@]}"; then
      run ip route del "$dst" dev "$dev" proto "$PROTO"
      say "removed stale route $dst dev $dev"
    fi
  done < <(ip -4 route show proto "$PROTO")
}

# Wanted proxy entries as "address device".
wanted_proxies() {
  local ip
  for ip in "${GATEWAYS[@]}"; do echo "$ip $BRIDGE_IF"; done
  for ip in "${UPLINK_PROXIES[@]}"; do echo "$ip $UPLINK_IF"; done
}

reconcile_proxies() {
  local -a wanted
  mapfile -t wanted < <(wanted_proxies)
  local -a present
  mapfile -t present < <(ip -4 neigh show proxy | awk '/proto '"$PROTO"'/ { print $1 " " $3 }')
  local entry ip dev rest
  for entry in "${wanted[@]}"; do
    contains "$entry" "${present[@]}" || run ip neigh replace proxy "${entry% *}" dev "${entry#* }" protocol "$PROTO"
  done
  while read -r ip _ dev rest; do
    [[ $rest == *"proto $PROTO"* ]] || continue
    if ! contains "$ip $dev" "${wanted[@]}"; then
      run ip neigh del proxy "$ip" dev "$dev"
      say "removed stale proxy entry $ip dev $dev"
    fi
  done < <(ip -4 neigh show proxy)
}

nat_rules() {
  local rule
  echo "*nat"
  echo ":$PRE_CHAIN - [0:0]"
  echo ":$POST_CHAIN - [0:0]"
  for rule in "${PRE_RULES[@]}"; do echo "-A $PRE_CHAIN $rule"; done
  for rule in "${POST_RULES[@]}"; do echo "-A $POST_CHAIN $rule"; done
  echo "COMMIT"
}

# Keeps exactly one jump from a built-in nat chain to ours; inserts it first when missing.
ensure_single_jump() {
  local from=$1 to=$2 extra
  if ! iptables -t nat -C "$from" -j "$to" 2>/dev/null; then
    run iptables -t nat -I "$from" 1 -j "$to"
  fi
  for extra in $(iptables -t nat -S "$from" |
    awk -v jump="-A $from -j $to" '/^-A / { n++; if ($0 == jump) print n }' | sort -rn | head -n -1); do
    run iptables -t nat -D "$from" "$extra"
  done
}

remove_nat_chain() {
  local from=$1 chain=$2
  while iptables -t nat -C "$from" -j "$chain" 2>/dev/null; do
    run iptables -t nat -D "$from" -j "$chain"
  done
  if iptables -t nat -S "$chain" >/dev/null 2>&1; then
    run iptables -t nat -F "$chain"
    run iptables -t nat -X "$chain"
  fi
}

create() {
  read_inputs
  check_prerequisites
  ensure_bridge
  reconcile_routes
  reconcile_proxies
  nat_rules | run iptables-restore --noflush
  ensure_single_jump PREROUTING "$PRE_CHAIN"
  ensure_single_jump POSTROUTING "$POST_CHAIN"
  # After the uplink is up, the sysctls are applied and the firewall is in place.
  install_boot_unit public-forwarding "Public forwarding of this OpenNebula edge host's VMs" \
    "Wants=network-online.target
After=network-online.target systemd-sysctl.service opennebula-edge-firewall.service" "${INPUTS[@]}"
  say "$MODEL forwarding for ${#ROUTES[@]} address(es) on $BRIDGE_IF via $UPLINK_IF"
}

# Everything tagged goes, whatever the other inputs say: the same reconciliation with nothing wanted.
delete() {
  BRIDGE_IF=$(interface_name BRIDGE "${BRIDGE:-br0}")
  ROUTES=() GATEWAYS=() UPLINK_PROXIES=()
  remove_boot_unit public-forwarding
  remove_nat_chain PREROUTING "$PRE_CHAIN"
  remove_nat_chain POSTROUTING "$POST_CHAIN"
  reconcile_proxies
  reconcile_routes
  remove_bridge
  say "removed the public forwarding on $BRIDGE_IF"
}

main() {
  read_action create delete
  "$ACTION"
}

main "$@"
