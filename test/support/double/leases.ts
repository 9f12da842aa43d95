/**
 * Network leases: how a VM NIC or a virtual router NIC takes an address from a VNET
 * (`VirtualNetworkPool::nic_attribute`, `VirtualNetwork::nic_attribute` / `vrouter_nic_attribute`,
 * `AddressRange::allocate_*`, `set_vnet`) and gives it back (`free_addr`).
 *
 * A lease is found by `IP=` or `MAC=` when the NIC asks for one (at most one of them), otherwise in
 * the first address range with a free address, searching from that range's rotating `next` index
 * as oned does — so a freed address is not handed out again at once.
 */
import { indexOfIp, indexOfMac, leaseAddress, randomMac } from "./address-range";
import { Invalid } from "./errors";
import type { AddressRange, LeaseOwner, VnetObject } from "./objects";
import type { Vector } from "./template";
import type { World } from "./world";

/** `INHERIT_VNET_ATTR` of the stock oned.conf (6.10): copied from the AR, then the VNET template, into NICs that lack them. */
const INHERITED = [
    "VLAN_TAGGED_ID",
    "FILTER",
    "FILTER_IP_SPOOFING",
    "FILTER_MAC_SPOOFING",
    "MTU",
    "METRIC",
    "IP6_METRIC",
    "METHOD",
    "IP6_METHOD",
    "INBOUND_AVG_BW",
    "INBOUND_PEAK_BW",
    "INBOUND_PEAK_KB",
    "OUTBOUND_AVG_BW",
    "OUTBOUND_PEAK_BW",
    "OUTBOUND_PEAK_KB",
    "CONF",
    "BRIDGE_CONF",
    "OVS_BRIDGE_CONF",
    "IP_LINK_CONF",
    "EXTERNAL_IP",
    "AWS_ALLOCATION_ID",
    "VULTR_IP_ID",
    "GATEWAY",
    "DNS",
    "VXLAN_MODE",
    "VXLAN_TEP",
    "VXLAN_MC",
    "CVLANS",
    "QINQ_TYPE",
    "TRUST",
    "SPOOFCHK",
];

/**
 * The VNET a NIC names, by NETWORK_ID or else by NETWORK (owned by oneadmin); undefined when it
 * names none (a NIC on a manual bridge).
 * @throws Invalid with oned's message when the named network does not exist.
 */
export function networkOf(world: World, nic: Vector): VnetObject | undefined {
    const id = nic.NETWORK_ID ?? "";
    if (id !== "") {
        const vnet = /^\s*-?\d+/.test(id) ? world.vnets.find(parseInt(id, 10)) : undefined;
        if (!vnet) throw new Invalid(`Virtual network with ID: ${id} does not exist`);
        return vnet;
    }
    const name = nic.NETWORK ?? "";
    if (name === "") return undefined;
    const vnet = world.vnets.byName(name);
    if (!vnet) throw new Invalid(`User 0 does not own a network with name: ${name} . Set NETWORK_UNAME or NETWORK_UID of owner in NIC.`);
    return vnet;
}

/** The leases in use in a VNET (`USED_LEASES`). */
export function usedLeases(vnet: VnetObject): number {
    return vnet.addressRanges.reduce((sum, ar) => sum + ar.leases.size, 0);
}

/**
 * `VirtualNetwork::nic_attribute`: fills a VM NIC (or NIC_ALIAS) from the network and takes its lease
 * (none for FLOATING_ONLY virtual router NICs, which get a random MAC).
 * @throws Invalid "Cannot get IP/MAC lease from virtual network <id>." when no address can be leased.
 */
export function leaseVmNic(vnet: VnetObject, nic: Vector, vmId: number): void {
    nic.NETWORK = vnet.name;
    nic.NETWORK_ID = String(vnet.id);
    nic.BRIDGE = vnet.bridge;
    if (vnet.vnMad !== "") nic.VN_MAD = vnet.vnMad;
    if (vnet.phydev !== "") nic.PHYDEV = vnet.phydev;
    if (vnet.vlanId !== "") nic.VLAN_ID = vnet.vlanId;
    if (vnet.outerVlanId !== "") nic.OUTER_VLAN_ID = vnet.outerVlanId;
    if (!nic.TARGET) nic.TARGET = `one-${vmId}-${nic.NIC_ID}`;
    nic.CLUSTER_ID = [...vnet.clusters].sort((a, b) => a - b).join(",");
    if (vnet.bridgeType !== "") nic.BRIDGE_TYPE = vnet.bridgeType;
    if (isYes(nic.FLOATING_IP) && isYes(nic.FLOATING_ONLY)) {
        nic.MAC = randomMac();
        delete nic.IP;
    } else {
        takeLease(vnet, nic, { kind: "VM", id: vmId });
    }
    inheritFromVnet(vnet, nic);
    nic.SECURITY_GROUPS = securityGroupsOf(vnet, nic);
}

/**
 * `VirtualNetwork::vrouter_nic_attribute`: names the network in the NIC and, for FLOATING_IP="YES",
 * takes a lease owned by the virtual router. The router is listed in the VNET's VROUTERS either way.
 * @throws Invalid "Cannot get IP/MAC lease from virtual network <id>." when no address can be leased.
 */
export function leaseVrouterNic(vnet: VnetObject, nic: Vector, vrouterId: number): void {
    nic.NETWORK = vnet.name;
    nic.NETWORK_ID = String(vnet.id);
    if (isYes(nic.FLOATING_IP)) takeLease(vnet, nic, { kind: "VROUTER", id: vrouterId });
    vnet.vrouters.add(vrouterId);
}

/**
 * `VirtualNetwork::free_addr`: gives back the lease that `owner` holds at the NIC's MAC (the
 * `macKey` attribute: MAC for VMs, VROUTER_MAC for virtual routers), in the NIC's AR_ID when set.
 * A lease held by someone else, or a network that is gone, is left alone.
 */
export function releaseLease(world: World, nic: Vector, owner: LeaseOwner, macKey = "MAC"): void {
    const vnetId = nic.NETWORK_ID ?? "";
    const vnet = /^\d+$/.test(vnetId) ? world.vnets.find(Number(vnetId)) : undefined;
    if (!vnet) return;
    if (owner.kind === "VROUTER") vnet.vrouters.delete(owner.id);
    const mac = nic[macKey] ?? "";
    const arId = nic.AR_ID !== undefined && /^\d+$/.test(nic.AR_ID) ? Number(nic.AR_ID) : undefined;
    for (const ar of vnet.addressRanges) {
        if (arId !== undefined && ar.id !== arId) continue;
        const index = indexOfMac(ar, mac);
        if (index === undefined) continue;
        const holder = ar.leases.get(index);
        if (holder && holder.kind === owner.kind && holder.id === owner.id) {
            ar.leases.delete(index);
            ar.allocatedTouched = true;
            return;
        }
    }
}

/** `allocate_by_ip` / `allocate_by_mac` / `allocate_addr`, then `set_vnet`. */
function takeLease(vnet: VnetObject, nic: Vector, owner: LeaseOwner): void {
    const ip = nic.IP ?? "";
    const mac = nic.MAC ?? "";
    const ip6 = nic.IP6 ?? "";
    const requested = [ip, mac, ip6].filter((v) => v !== "").length;
    const found =
        requested > 1 || ip6 !== ""
            ? undefined
            : ip !== ""
              ? byAddress(vnet, (ar) => indexOfIp(ar, ip))
              : mac !== ""
                ? byAddress(vnet, (ar) => indexOfMac(ar, mac))
                : firstFree(vnet);
    if (!found) throw new Invalid(`Cannot get IP/MAC lease from virtual network ${vnet.id}.`);
    const { ar, index } = found;
    ar.leases.set(index, owner);
    ar.allocatedTouched = true;
    Object.assign(nic, leaseAddress(ar, index));
    setVnet(ar, nic);
}

/** The first range that holds the requested address free. */
function byAddress(vnet: VnetObject, indexIn: (ar: AddressRange) => number | undefined): { ar: AddressRange; index: number } | undefined {
    for (const ar of vnet.addressRanges) {
        const index = indexIn(ar);
        if (index !== undefined && !ar.leases.has(index)) return { ar, index };
    }
    return undefined;
}

/** The first range with a free address, searched from its `next` index (`AddressRangeInternal::get_single_addr`). */
function firstFree(vnet: VnetObject): { ar: AddressRange; index: number } | undefined {
    for (const ar of vnet.addressRanges) {
        for (let i = 0; i < ar.size; i++) {
            if (!ar.leases.has(ar.nextIndex)) return { ar, index: ar.nextIndex };
            ar.nextIndex = (ar.nextIndex + 1) % ar.size;
        }
    }
    return undefined;
}

/** `AddressRange::set_vnet`: AR_ID, the AR's own VN_MAD/BRIDGE/PHYDEV/VLAN_ID, and inherited AR attributes. */
function setVnet(ar: AddressRange, nic: Vector): void {
    nic.AR_ID = String(ar.id);
    for (const name of ["VN_MAD", "BRIDGE", "PHYDEV", "VLAN_ID"]) {
        if (ar.attributes[name]) nic[name] = ar.attributes[name];
    }
    for (const name of INHERITED) {
        if (!nic[name] && ar.attributes[name]) nic[name] = ar.attributes[name];
    }
}

/** The VNET template's inherited single attributes, where the NIC has none. */
function inheritFromVnet(vnet: VnetObject, nic: Vector): void {
    for (const name of INHERITED) {
        const value = vnet.template.getOrEmpty(name);
        if (!nic[name] && value !== "") nic[name] = value;
    }
}

/** The NIC's own security groups plus the VNET's and its AR's, sorted and unique. */
function securityGroupsOf(vnet: VnetObject, nic: Vector): string {
    const ar = vnet.addressRanges.find((a) => String(a.id) === nic.AR_ID);
    const lists = [nic.SECURITY_GROUPS ?? "", vnet.template.getOrEmpty("SECURITY_GROUPS"), ar?.attributes.SECURITY_GROUPS ?? ""];
    const ids = new Set<number>();
    for (const list of lists) {
        for (const part of list.split(",")) {
            const n = parseInt(part.trim(), 10);
            if (!Number.isNaN(n)) ids.add(n);
        }
    }
    return [...ids].sort((a, b) => a - b).join(",");
}

/** oned's boolean reading of a vector value: true only for "YES" in any case. */
export function isYes(value: string | undefined): boolean {
    return (value ?? "").toUpperCase() === "YES";
}
