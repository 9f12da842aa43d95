/**
 * `EvpnPrivateNetwork`: the OpenNebula side of the overlay's L2 segment, a `vxlan` network in
 * `evpn` mode on `wg0` in every edge cluster. One `VirtualNetwork` per front-end (target): with one
 * front-end and several edge clusters, that is one network in all their clusters (the seed's
 * layout). Every front-end uses the same VNI (`VLAN_ID`), MTU and addressing; their address
 * ranges must be disjoint (OpenNebula derives MACs from IPs), and the gateway (the virtual
 * router, the first lease) is the same everywhere.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, cidrsOverlap, describe, integerIn, ipv4Cidr, ipv4ToNumber, isKnown, numberToIpv4, unique } from "../validation";
import type { EvpnNetworkOptions, EvpnNetworkTemplate } from "./evpn-network";
import { evpnNetworkTemplate, networkCidrOf } from "./evpn-network";
import type { MtuOptions } from "./mtu";
import { VXLAN_OVERHEAD } from "./mtu";
import { nodeName } from "./wireguard-config";
import type { WireGuardMeshPlan } from "./wireguard-mesh";
import type { ConnectionArgs } from "../opennebula/resources/provider-kit";
import type { VirtualNetworkArgs } from "../opennebula/resources/virtual-network";
import { VirtualNetwork } from "../opennebula/resources/virtual-network";
import type { Transform } from "../transform";
import { createChild } from "../transform";

/** Type token of {@link EvpnPrivateNetwork}. */
export const EVPN_PRIVATE_NETWORK_TYPE = "opennebula-edge:overlay:EvpnPrivateNetwork";

/** A range of leases: first address and count. */
export interface EvpnAddressRangeArgs {
    /** First lease. Default: the network's first usable address (for the first target). */
    ip?: string;
    /** Number of leases. Default 20. */
    size?: number;
}

/** One OpenNebula front-end that gets the network. */
export interface EvpnNetworkTarget {
    /** Stable name of the front-end in the child name `${name}-vnet-<key>`. Default: its index in `targets`. */
    key?: string;
    /** How to reach the front-end's XML-RPC API. Default: `ONE_XMLRPC` / `ONE_AUTH` of the provider process. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The edge clusters (OpenNebula cluster IDs) of this front-end that get the network, at least one. Required. */
    clusterIds: pulumi.Input<number>[];
    /**
     * The leases this front-end hands out. Default: for the first target the network's
     * `addressRange`; for the i-th, as many leases starting i × size after the first target's
     * first lease (172.17.2.21, 172.17.2.41 … with the defaults).
     */
    addressRange?: EvpnAddressRangeArgs;
}

/** Arguments of {@link EvpnPrivateNetwork}. Values that shape the template are plain and checked before anything is created. */
export interface EvpnPrivateNetworkArgs {
    /** The front-ends and their edge clusters, at least one. Required. */
    targets: EvpnNetworkTarget[];
    /** The VNI (OpenNebula `VLAN_ID`), 1–16777215, the same on every front-end. Required (automatic VNIs differ between front-ends). */
    vlanId: number;
    /** OpenNebula NAME of the network. Default: the component name. */
    networkName?: pulumi.Input<string>;
    /** The segment's IPv4 subnet (`NETWORK_ADDRESS` / `NETWORK_MASK`). Default `172.17.2.0/24`. */
    network?: string;
    /** Leases of the first target. Default: the subnet's first usable address (172.17.2.1), 20 leases. */
    addressRange?: EvpnAddressRangeArgs;
    /** `GATEWAY` of the guests: the virtual router's address. Default: the first lease of the first target. */
    gateway?: string;
    /** `DNS` of the guests. Default `["1.1.1.1"]`. */
    dns?: string[];
    /** The MTU chain (`MTU` and `GUEST_MTU` = underlay − WireGuard − VXLAN overhead). Default: 1500-byte underlay → 1370. */
    mtu?: MtuOptions;
    /** The device VXLAN leaves through (`PHYDEV`). Default: the mesh's interface, else `wg0`. */
    phydev?: string;
    /** The mesh the segment runs over (`WireGuardMesh` or its `plan`), to check subnet overlap, PHYDEV and MTU against it. Default: not checked. */
    mesh?: { plan: WireGuardMeshPlan };
    /** Other subnets the segment must not overlap: VPCs, the control subnet … Default none. */
    otherSubnets?: string[];
    /** Escape hatches: change the arguments or options of each kind of child before it is created. Default none. */
    transform?: {
        /** `${name}-vnet-<target key>`: the virtual network of each target. */
        network?: Transform<VirtualNetworkArgs>;
    };
}

/**
 * The EVPN network in OpenNebula: VN_MAD vxlan, VXLAN_MODE evpn, VXLAN_TEP local_ip,
 * IP_LINK_CONF "nolearning=", PHYDEV wg0, explicit VLAN_ID, MTU and GUEST_MTU 1370, the address
 * range, NETWORK_ADDRESS, NETWORK_MASK, GATEWAY and DNS.
 *
 * @example new EvpnPrivateNetwork("private", { vlanId: 100, targets: [{ connection, clusterIds: [ec1.clusterId, ec2.clusterId] }] })
 */
export class EvpnPrivateNetwork extends pulumi.ComponentResource {
    /** The rendered template of every target by key (the attributes OpenNebula receives, AR included). */
    readonly templates: Record<string, EvpnNetworkTemplate>;
    /** The virtual network of every target by key. */
    readonly networks: Record<string, VirtualNetwork>;
    /** OpenNebula ID of the network of every target by key. */
    readonly networkIds: pulumi.Output<Record<string, number>>;
    /** The VNI. */
    readonly vlanId: number;
    /** The guests' gateway (the virtual router's address). */
    readonly gateway: string;
    /** MTU of the guests. */
    readonly guestMtu: number;

    constructor(name: string, args: EvpnPrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planPrivateNetwork(args);
        super(EVPN_PRIVATE_NETWORK_TYPE, name, {}, opts);
        this.templates = Object.fromEntries(plan.targets.map((target) => [target.key, target.template]));
        this.networks = {};
        for (const target of plan.targets) {
            const { NAME: _name, VN_MAD: vnMad, AR: range, ...template } = target.template;
            const networkArgs: VirtualNetworkArgs = {
                name: args.networkName ?? name,
                vnMad,
                template,
                addressRanges: [{ TYPE: range.TYPE, IP: range.IP, SIZE: range.SIZE }],
                clusterIds: target.clusterIds,
                connection: target.connection,
            };
            this.networks[target.key] = createChild(
                VirtualNetwork,
                `${name}-vnet-${target.key}`,
                networkArgs,
                { parent: this },
                args.transform?.network,
            );
        }
        const first = plan.targets[0].template;
        this.vlanId = Number(first.VLAN_ID);
        this.gateway = first.GATEWAY;
        this.guestMtu = Number(first.GUEST_MTU);
        this.networkIds = pulumi.output(Object.fromEntries(Object.entries(this.networks).map(([key, network]) => [key, network.oneId])));
        this.registerOutputs({
            networkIds: this.networkIds,
            vlanId: this.vlanId,
            gateway: this.gateway,
            guestMtu: this.guestMtu,
            templates: this.templates,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Validation and planning (pure; runs before anything is created)

/** A target with its key and rendered template. */
export interface PlannedEvpnTarget {
    /** The target's key (its index unless given). */
    key: string;
    /** The rendered template, AR included. */
    template: EvpnNetworkTemplate;
    /** The clusters, as given. */
    clusterIds: pulumi.Input<number>[];
    /** The front-end connection, as given. */
    connection?: pulumi.Input<ConnectionArgs>;
}

/**
 * Checks the arguments and renders the template of every target.
 *
 * @throws ConfigError naming the argument, e.g. `vlanId`, `network`, `addressRange.size`,
 * `mtu.underlayMtu`, `targets[1].addressRange`, `targets[0].clusterIds`, `otherSubnets[0]`.
 */
export function planPrivateNetwork(args: EvpnPrivateNetworkArgs): { targets: PlannedEvpnTarget[] } {
    if (args === undefined || args === null || typeof args !== "object") {
        throw new ConfigError("args", "are required: { targets, vlanId, … }");
    }
    const targets = checkTargets(args.targets);
    const phydev = checkPhydev(args);
    const common: EvpnNetworkOptions = { vlanId: args.vlanId, network: args.network, dns: args.dns, mtu: args.mtu, phydev };
    const firstRange = targets[0].addressRange ?? args.addressRange;
    const base = withNetworkFields(targets[0].addressRange === undefined ? "" : "targets[0].", () =>
        evpnNetworkTemplate({ ...common, addressRange: firstRange, gateway: args.gateway }),
    );
    checkAgainstMesh(base, args.mesh);
    checkOtherSubnets(networkCidrOf(base), args.otherSubnets);

    const firstLease = ipv4ToNumber(base.AR.IP);
    const size = Number(base.AR.SIZE);
    const planned = targets.map((target, index): PlannedEvpnTarget => {
        const field = `targets[${index}].`;
        const automatic = target.addressRange === undefined && index > 0;
        const range = target.addressRange ?? (index === 0 ? firstRange : { ip: numberToIpv4(firstLease + index * size), size });
        const template = withNetworkFields(
            field,
            () => evpnNetworkTemplate({ ...common, addressRange: range, gateway: base.GATEWAY }),
            automatic,
        );
        return { key: target.key ?? String(index), template, clusterIds: target.clusterIds, connection: target.connection };
    });
    assertDisjointRanges(planned);
    return { targets: planned };
}

function checkTargets(targets: unknown): EvpnNetworkTarget[] {
    if (!Array.isArray(targets) || targets.length === 0) {
        throw new ConfigError("targets", `must list at least one front-end { connection?, clusterIds } (got ${describe(targets)})`);
    }
    targets.forEach((target: EvpnNetworkTarget, index) => {
        const field = `targets[${index}]`;
        if (target === null || typeof target !== "object") {
            throw new ConfigError(field, `must be { connection?, clusterIds, key?, addressRange? } (got ${describe(target)})`);
        }
        if (target.key !== undefined) {
            nodeName(`${field}.key`, target.key);
        }
        if (!Array.isArray(target.clusterIds) || target.clusterIds.length === 0) {
            throw new ConfigError(
                `${field}.clusterIds`,
                `must list at least one OpenNebula cluster ID (got ${describe(target.clusterIds)})`,
            );
        }
        const known = target.clusterIds.map((id, position) => ({ id, position })).filter((entry) => isKnown(entry.id));
        known.forEach(({ id, position }) => integerIn(`${field}.clusterIds[${position}]`, id, 0, 2147483647));
        unique(
            known.map(({ id }) => String(id)),
            (at) => `${field}.clusterIds[${known[at].position}]`,
            "cluster ID",
        );
    });
    const keys = targets.map((target: EvpnNetworkTarget, index) => target.key ?? String(index));
    unique(keys, (index) => `targets[${index}].key`, "target key");
    return targets;
}

function checkPhydev(args: EvpnPrivateNetworkArgs): string | undefined {
    const meshInterface = args.mesh?.plan?.interfaceName;
    if (args.phydev !== undefined && meshInterface !== undefined && args.phydev !== meshInterface) {
        throw new ConfigError(
            "phydev",
            `"${args.phydev}" is not the mesh's interface "${meshInterface}"; the segment must run over the mesh`,
        );
    }
    return args.phydev ?? meshInterface;
}

/** The VXLAN device sits on the mesh's interface: its frames plus the VXLAN overhead must fit in the mesh's MTU, and the subnets must be disjoint. */
function checkAgainstMesh(template: EvpnNetworkTemplate, mesh: EvpnPrivateNetworkArgs["mesh"]): void {
    if (mesh === undefined) {
        return;
    }
    if (mesh === null || typeof mesh !== "object" || mesh.plan === undefined) {
        throw new ConfigError("mesh", `must be a WireGuardMesh or { plan } (got ${describe(mesh)})`);
    }
    const needed = Number(template.MTU) + VXLAN_OVERHEAD;
    if (mesh.plan.mtu < needed) {
        throw new ConfigError(
            "mtu",
            `the VXLAN MTU ${template.MTU} needs a WireGuard MTU of at least ${needed}, but the mesh's is ${mesh.plan.mtu}; lower mtu.underlayMtu or raise the mesh's mtu`,
        );
    }
    const network = ipv4Cidr("network", networkCidrOf(template));
    if (cidrsOverlap(network, ipv4Cidr("mesh.plan.subnet", mesh.plan.subnet))) {
        throw new ConfigError(
            "network",
            `subnet ${network.cidr} overlaps the mesh's wg subnet ${mesh.plan.subnet}; overlay subnets must be disjoint`,
        );
    }
}

function checkOtherSubnets(networkCidr: string, others: unknown): void {
    if (others === undefined) {
        return;
    }
    if (!Array.isArray(others)) {
        throw new ConfigError("otherSubnets", `must be a list of IPv4 subnets (got ${describe(others)})`);
    }
    const network = ipv4Cidr("network", networkCidr);
    others.forEach((other, index) => {
        const subnet = ipv4Cidr(`otherSubnets[${index}]`, other);
        if (cidrsOverlap(network, subnet)) {
            throw new ConfigError(
                "network",
                `subnet ${network.cidr} overlaps otherSubnets[${index}] (${subnet.cidr}); overlay subnets must be disjoint`,
            );
        }
    });
}

/** Front-ends share the segment: leases (and the MACs derived from them) must not collide. */
function assertDisjointRanges(targets: readonly PlannedEvpnTarget[]): void {
    const ranges = targets.map((target) => {
        const first = ipv4ToNumber(target.template.AR.IP);
        return { first, last: first + Number(target.template.AR.SIZE) - 1 };
    });
    const text = (range: { first: number; last: number }) => `${numberToIpv4(range.first)}-${numberToIpv4(range.last)}`;
    ranges.forEach((range, index) => {
        const clash = ranges.findIndex((other, earlier) => earlier < index && other.first <= range.last && range.first <= other.last);
        if (clash >= 0) {
            throw new ConfigError(
                `targets[${index}].addressRange`,
                `leases ${text(range)} overlap those of targets[${clash}] (${text(ranges[clash])}); front-ends sharing the segment need disjoint ranges`,
            );
        }
    });
}

/**
 * Runs a template render, naming the fields as this component's arguments: MTU fields under
 * `mtu.`, address-range fields under `prefix` (a target's own range); `automatic` explains that
 * the range was derived, not given.
 */
function withNetworkFields<T>(prefix: string, render: () => T, automatic = false): T {
    try {
        return render();
    } catch (error) {
        if (!(error instanceof ConfigError)) {
            throw error;
        }
        const problem = error.message.slice(error.field.length + 2);
        if (["underlayMtu", "outerIpVersion", "guestIpv6"].includes(error.field)) {
            throw new ConfigError(`mtu.${error.field}`, problem);
        }
        if (error.field.startsWith("addressRange.")) {
            const hint = automatic
                ? " (the range after the previous target's, derived because none was given; give this target an addressRange)"
                : "";
            throw new ConfigError(`${prefix}${error.field}`, `${problem}${hint}`);
        }
        throw error;
    }
}
