/**
 * The OpenNebula virtual network of the overlay: a `vxlan` network in `evpn` mode on `wg0`,
 * with an explicit VNI (automatic VNIs differ between front-ends), the MTU chain from the MTU
 * module, and one IPv4 address range whose first lease is the virtual router (the gateway).
 */
import type { Ipv4Cidr } from "../validation";
import { ConfigError, cidrContains, describe, integerIn, interfaceName, ipv4, ipv4Cidr, ipv4ToNumber, numberToIpv4 } from "../validation";
import { firstUsableHost, lastUsableHost, macForIpv4, netmaskOf, usableHostCount } from "./addressing";
import type { MtuOptions } from "./mtu";
import { overlayMtu } from "./mtu";

/** Largest VXLAN network identifier (24 bits). */
export const MAX_VNI = 16777215;

/** Inputs of {@link evpnNetworkTemplate}. */
export interface EvpnNetworkOptions {
    /** OpenNebula NAME of the network; omitted from the template when absent. */
    name?: string;
    /** The VNI (OpenNebula `VLAN_ID`), 1–16777215; the same on every front-end. */
    vlanId: number;
    /** The L2 segment's IPv4 subnet. Default `172.17.2.0/24`. */
    network?: string;
    /** The address range handed out as leases. */
    addressRange?: {
        /** First lease (taken by the virtual router and used as GATEWAY). Default: the subnet's first usable address. */
        ip?: string;
        /** Number of leases. Default 20. */
        size?: number;
    };
    /**
     * GATEWAY pushed to the guests: the virtual router's address. Default: the first lease of the
     * address range. Give it when several front-ends share the segment with disjoint ranges and
     * only one of them holds the router.
     */
    gateway?: string;
    /** DNS servers pushed to the guests. Default `["1.1.1.1"]`. */
    dns?: readonly string[];
    /** Device the VXLAN traffic leaves through (and whose address is the VTEP). Default `wg0`. */
    phydev?: string;
    /** MTU chain inputs (underlay MTU, outer IP version, guest IPv6). Default: 1500-byte underlay. */
    mtu?: MtuOptions;
}

/** An OpenNebula address range. */
export interface EvpnAddressRange {
    /** Always `IP4`. */
    TYPE: "IP4";
    /** First address of the range. */
    IP: string;
    /** Number of addresses, as text. */
    SIZE: string;
}

/** The template attributes of the network, every value a string, ready for the template codec. */
export interface EvpnNetworkTemplate {
    NAME?: string;
    VN_MAD: "vxlan";
    VXLAN_MODE: "evpn";
    VXLAN_TEP: "local_ip";
    IP_LINK_CONF: string;
    PHYDEV: string;
    VLAN_ID: string;
    MTU: string;
    GUEST_MTU: string;
    NETWORK_ADDRESS: string;
    NETWORK_MASK: string;
    GATEWAY: string;
    DNS: string;
    AR: EvpnAddressRange;
}

/** One lease of the network: address and the MAC OpenNebula derives from it. */
export interface EvpnLease {
    /** IPv4 address. */
    ip: string;
    /** `02:00:` + the address bytes. */
    mac: string;
}

export const DEFAULT_NETWORK = "172.17.2.0/24";
const DEFAULT_AR_SIZE = 20;
const DEFAULT_DNS = ["1.1.1.1"];

/**
 * Builds the template of the EVPN network.
 *
 * @example evpnNetworkTemplate({ vlanId: 100 }) // VN_MAD vxlan, VXLAN_MODE evpn, PHYDEV wg0, MTU 1370, AR 172.17.2.1 × 20, GATEWAY 172.17.2.1
 * @throws ConfigError naming `vlanId`, `network`, `addressRange.ip`, `addressRange.size`, `gateway`, `dns[i]`, `phydev`, `name` or an MTU field.
 */
export function evpnNetworkTemplate(options: EvpnNetworkOptions): EvpnNetworkTemplate {
    const vlanId = integerIn("vlanId", options.vlanId, 1, MAX_VNI);
    const network = ipv4Cidr("network", options.network ?? DEFAULT_NETWORK);
    const range = checkAddressRange(network, options.addressRange ?? {});
    const gateway = options.gateway === undefined ? range.ip : checkGateway(network, options.gateway);
    const phydev = interfaceName("phydev", options.phydev ?? "wg0");
    checkDeviceNameFits(phydev, vlanId);
    const dns = checkDns(options.dns ?? DEFAULT_DNS);
    const mtu = overlayMtu(options.mtu ?? {});
    return {
        ...(options.name === undefined ? {} : { NAME: checkName(options.name) }),
        VN_MAD: "vxlan",
        VXLAN_MODE: "evpn",
        VXLAN_TEP: "local_ip",
        IP_LINK_CONF: "nolearning=",
        PHYDEV: phydev,
        VLAN_ID: String(vlanId),
        MTU: String(mtu.vxlanMtu),
        GUEST_MTU: String(mtu.guestMtu),
        NETWORK_ADDRESS: numberToIpv4(network.network),
        NETWORK_MASK: netmaskOf(network.prefixLength),
        GATEWAY: gateway,
        DNS: dns.join(" "),
        AR: { TYPE: "IP4", IP: range.ip, SIZE: String(range.size) },
    };
}

/** The subnet of a template, e.g. `172.17.2.0/24`. */
export function networkCidrOf(template: Pick<EvpnNetworkTemplate, "NETWORK_ADDRESS" | "NETWORK_MASK">): string {
    const prefix = template.NETWORK_MASK.split(".").reduce((bits, octet) => bits + countBits(Number(octet)), 0);
    return `${template.NETWORK_ADDRESS}/${prefix}`;
}

/**
 * The `index`-th lease of the network's address range (0 = first = the gateway/virtual router),
 * with the MAC OpenNebula derives from the address.
 */
export function leaseAt(template: Pick<EvpnNetworkTemplate, "AR">, index: number): EvpnLease {
    const size = Number(template.AR.SIZE);
    if (!Number.isInteger(index) || index < 0 || index >= size) {
        throw new ConfigError("index", `must be an integer from 0 to ${size - 1} (the AR has ${size} leases) (got ${describe(index)})`);
    }
    const ip = numberToIpv4(ipv4ToNumber(template.AR.IP) + index);
    return { ip, mac: macForIpv4(ip) };
}

function checkAddressRange(network: Ipv4Cidr, range: { ip?: string; size?: number }): { ip: string; size: number } {
    const ip = range.ip === undefined ? numberToIpv4(firstUsableHost(network)) : ipv4("addressRange.ip", range.ip);
    const size = integerIn("addressRange.size", range.size ?? DEFAULT_AR_SIZE, 1, usableHostCount(network));
    const first = ipv4ToNumber(ip);
    if (!cidrContains(network, ip) || first < firstUsableHost(network)) {
        throw new ConfigError("addressRange.ip", `${ip} is not a usable address of network ${network.cidr}`);
    }
    const lastLease = first + size - 1;
    if (lastLease > lastUsableHost(network)) {
        throw new ConfigError(
            "addressRange.size",
            `${size} leases from ${ip} end at ${numberToIpv4(lastLease)}, beyond the last usable address ${numberToIpv4(lastUsableHost(network))} of ${network.cidr}`,
        );
    }
    return { ip, size };
}

function checkGateway(network: Ipv4Cidr, value: unknown): string {
    const gateway = ipv4("gateway", value);
    const number = ipv4ToNumber(gateway);
    if (!cidrContains(network, gateway) || number < firstUsableHost(network) || number > lastUsableHost(network)) {
        throw new ConfigError("gateway", `${gateway} is not a usable address of network ${network.cidr}`);
    }
    return gateway;
}

function checkDeviceNameFits(phydev: string, vlanId: number): void {
    const device = `${phydev}.${vlanId}`;
    if (device.length > 15) {
        throw new ConfigError(
            "phydev",
            `the VXLAN device name "${device}" (PHYDEV.VLAN_ID) has ${device.length} characters; Linux allows 15, so shorten phydev or use a smaller vlanId`,
        );
    }
}

function checkDns(values: unknown): string[] {
    if (!Array.isArray(values) || values.length === 0) {
        throw new ConfigError("dns", `must be a non-empty list of IPv4 addresses (got ${describe(values)})`);
    }
    return values.map((value, index) => ipv4(`dns[${index}]`, value));
}

function checkName(value: unknown): string {
    if (typeof value !== "string" || value.trim() === "" || /[\n\r"\\]/.test(value) || value.length > 128) {
        throw new ConfigError("name", `must be 1-128 characters without quotes, backslashes or line breaks (got ${describe(value)})`);
    }
    return value;
}

function countBits(octet: number): number {
    return octet
        .toString(2)
        .split("")
        .filter((bit) => bit === "1").length;
}
