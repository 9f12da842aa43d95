/**
 * Whole-overlay validation: runs every check of the WireGuard plan and the EVPN networks, plus
 * the ones that only make sense across them (overlapping subnets, duplicate VNIs, endpoints
 * inside the overlay). Pure; throws an {@link ConfigError} naming the field, before a
 * caller creates anything.
 */
import ipaddr from "ipaddr.js";
import { ConfigError, cidrContains, cidrsOverlap, ipv4Cidr, unique, withFieldPrefix } from "../validation";
import type { EvpnNetworkOptions, EvpnNetworkTemplate } from "./evpn-network";
import { evpnNetworkTemplate, networkCidrOf } from "./evpn-network";
import type { WireGuardOptions, WireGuardPlan } from "./wireguard-config";
import { planWireGuard } from "./wireguard-config";

/** A named subnet taking part in the overlap check. */
export interface NamedSubnet {
    /** The argument path of the subnet, used in the error. */
    field: string;
    /** The subnet in CIDR notation. */
    cidr: string;
}

/** Inputs of {@link validateOverlay}. */
export interface OverlayValidationInput {
    /** The WireGuard layout (ingress, hosts, subnet, topology…). */
    wireguard: WireGuardOptions;
    /** The EVPN networks carried by the overlay. Default none. */
    networks?: readonly EvpnNetworkOptions[];
    /** Other subnets that must not overlap the overlay's (VPC subnets, the control subnet…). Default none. */
    otherSubnets?: readonly NamedSubnet[];
}

/** The checked, planned overlay. */
export interface ValidatedOverlay {
    /** The WireGuard plan. */
    wireguard: WireGuardPlan;
    /** The template of each network, in input order. */
    networks: EvpnNetworkTemplate[];
}

/**
 * Validates the whole overlay and returns its plan. Fields in errors are prefixed with
 * `wireguard.` and `networks[i].`.
 *
 * Checks: node names (format, duplicates, ingress listed as a KVM host), endpoints (format,
 * duplicates, not inside an overlay subnet), wg subnet size, every network (VLAN_ID 1..16777215,
 * AR inside its network and not larger than it, device name length, DNS, MTU), VNIs and names
 * unique across networks, and no overlap between the wg subnet, the networks and `otherSubnets`.
 */
export function validateOverlay(input: OverlayValidationInput): ValidatedOverlay {
    const wireguard = withFieldPrefix("wireguard.", () => planWireGuard(input.wireguard));
    const networkOptions = input.networks ?? [];
    const networks = networkOptions.map((options, index) => withFieldPrefix(`networks[${index}].`, () => evpnNetworkTemplate(options)));

    unique(
        networks.map((network) => network.VLAN_ID),
        (index) => `networks[${index}].vlanId`,
        "VNI (vlanId)",
    );
    const named = networks
        .map((network, index) => ({ name: network.NAME, field: `networks[${index}].name` }))
        .filter((entry): entry is { name: string; field: string } => entry.name !== undefined);
    unique(
        named.map((entry) => entry.name),
        (index) => named[index].field,
        "network name",
    );

    const overlaySubnets: NamedSubnet[] = [
        { field: "wireguard.subnet", cidr: wireguard.subnet },
        ...networks.map((network, index) => ({ field: `networks[${index}].network`, cidr: networkCidrOf(network) })),
    ];
    assertNoOverlap([...overlaySubnets, ...(input.otherSubnets ?? [])]);
    assertEndpointsOutside(input.wireguard, overlaySubnets);
    return { wireguard, networks };
}

/** Throws if any two of the subnets overlap, naming the later one and the earlier it collides with. */
export function assertNoOverlap(subnets: readonly NamedSubnet[]): void {
    const parsed = subnets.map((subnet) => ({ field: subnet.field, cidr: ipv4Cidr(subnet.field, subnet.cidr) }));
    parsed.forEach((current, index) => {
        const clash = parsed.slice(0, index).find((earlier) => cidrsOverlap(current.cidr, earlier.cidr));
        if (clash !== undefined) {
            throw new ConfigError(
                current.field,
                `subnet ${current.cidr.cidr} overlaps ${clash.field} (${clash.cidr.cidr}); overlay subnets must be disjoint`,
            );
        }
    });
}

/** An endpoint inside an overlay subnet would route WireGuard's own packets into the tunnel. */
function assertEndpointsOutside(wireguard: WireGuardOptions, overlaySubnets: readonly NamedSubnet[]): void {
    const nodes = [
        { node: wireguard.ingress, field: "wireguard.ingress.endpoint" },
        ...wireguard.hosts.map((node, index) => ({ node, field: `wireguard.hosts[${index}].endpoint` })),
    ];
    for (const { node, field } of nodes) {
        const endpoint = node.endpoint;
        if (endpoint === undefined || !ipaddr.IPv4.isValidFourPartDecimal(endpoint)) {
            continue;
        }
        const inside = overlaySubnets.find((subnet) => cidrContains(ipv4Cidr(subnet.field, subnet.cidr), endpoint));
        if (inside !== undefined) {
            throw new ConfigError(
                field,
                `${endpoint} lies inside ${inside.field} (${inside.cidr}); endpoints must be underlay addresses outside the overlay`,
            );
        }
    }
}
