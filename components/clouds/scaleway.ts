/**
 * An OpenNebula edge cluster on Scaleway Elastic Metal: what oneprovision's (7.0-dev) Scaleway
 * provision built — VPC, private network, VPC-GW-S public gateway, Elastic Metal servers — and
 * what it left undone: the servers are attached to the private network (a VLAN on the server's
 * NIC, configured on the host), the `os` input is used, and flexible IPs work without
 * oneprovision's IPAM / elastic drivers.
 *
 * Public IP model ("nat", translated by the host): each flexible IP is attached to one server
 * (round-robin). A VM using it gets a private address from `natCidr` (a /31 pair: the VM on the
 * odd address, its gateway on the even one, answered by the host); the host DNATs the flexible
 * IP to the VM and SNATs the VM's traffic back to it (`public-forwarding.sh`, NAT_BY=host).
 * OpenNebula's public network carries one address range per flexible IP (SIZE 1, the VM's
 * private address, GATEWAY, NETWORK_MASK 255.255.255.254, EXTERNAL_IP = the flexible IP,
 * EDGE_HOST = the public IP of the host that carries it). A VM taking such a lease must run on
 * that host (e.g. `SCHED_REQUIREMENTS = "NAME = \"<EDGE_HOST>\""`).
 *
 * Firewall: Elastic Metal has no security groups or cloud firewall. The host firewall
 * (`firewall.sh`, strict by default) is the only filter in front of the hosts.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import ipaddr from "ipaddr.js";
import { EdgeCluster } from "../edge/edge-cluster";
import { scriptRunner, sshConnection } from "../edge/ssh";
import { HostScript, NatForwardingArgs, readHostScript, toStdin } from "../edge/host-scripts";
import type { EdgeHost } from "../edge/types";
import type { AddressRangeInput } from "../opennebula/resources/virtual-network";
import {
    CloudEdgeClusterArgs, EdgeConfigError, addToIpv4, hostKeys, requireIntegerIn, requireIpv4Cidr, requireOneOf,
    validateCommonArgs,
} from "./common";

/** Type token of {@link ScalewayEdgeCluster}. */
export const SCALEWAY_EDGE_CLUSTER_TYPE = "opennebula-edge:clouds:ScalewayEdgeCluster";

/** Availability zones that offer Elastic Metal. The region is the zone without its last part. */
export const SCALEWAY_ZONES = ["fr-par-1", "fr-par-2", "nl-ams-1", "nl-ams-2", "pl-waw-2", "pl-waw-3"] as const;
/** A zone from {@link SCALEWAY_ZONES}. */
export type ScalewayZone = (typeof SCALEWAY_ZONES)[number];

/**
 * Operating systems, as Scaleway's Elastic Metal catalogue names them. Both images create the
 * `ubuntu` user with passwordless sudo and the server's IAM SSH keys.
 */
export const SCALEWAY_OS_IMAGES = {
    ubuntu_2204: { name: "Ubuntu", version: "22.04 LTS (Jammy Jellyfish)" },
    ubuntu_2404: { name: "Ubuntu", version: "24.04 LTS (Noble Numbat)" },
} as const;
/** A key of {@link SCALEWAY_OS_IMAGES}. */
export type ScalewayOs = keyof typeof SCALEWAY_OS_IMAGES;

/** Public gateway types. */
export const SCALEWAY_GATEWAY_TYPES = ["VPC-GW-S", "VPC-GW-M", "VPC-GW-L", "VPC-GW-XL"] as const;
/** A type from {@link SCALEWAY_GATEWAY_TYPES}. */
export type ScalewayGatewayType = (typeof SCALEWAY_GATEWAY_TYPES)[number];

/** Hypervisors on Elastic Metal (bare metal, so no `qemu` emulation). */
export const SCALEWAY_HYPERVISORS = ["kvm", "lxc"] as const;

/** Most flexible IPs one edge cluster allocates (this package's limit; each IP is billed). */
export const SCALEWAY_MAX_PUBLIC_IPS = 8;

/** Defaults of {@link ScalewayEdgeClusterArgs}. */
export const SCALEWAY_DEFAULTS = {
    offer: "EM-A115X-SSD",
    os: "ubuntu_2204" as ScalewayOs,
    publicIps: 1,
    privateNetworkCidr: "172.18.0.0/24",
    natCidr: "172.16.100.0/24",
    gatewayType: "VPC-GW-S" as ScalewayGatewayType,
    bastionPort: 61000,
    dns: "1.1.1.1",
    sshUser: "ubuntu",
} as const;

/** Offset of host i's private address in the private network (the first addresses are Scaleway's and the gateway's). */
const HOST_ADDRESS_OFFSET = 10;
/** Offset of the public gateway's private address. Scaleway reserves the first two addresses. */
const GATEWAY_ADDRESS_OFFSET = 2;
/** The VLAN interface the private network gets on every host. */
export const PRIVATE_VLAN_DEVICE = "scwpn0";

/** Elastic Metal offer names, e.g. `EM-A115X-SSD`, `EM-I220E-NVME`, `EM-L110X-SATA`. */
const OFFER_NAME = /^EM-[A-Z][0-9]{3}[A-Z]-(SSD|HDD|NVME|SATA)$/;
const INTERFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;
const PRIVATE_RANGES = ["172.16.0.0/12", "192.168.0.0/16"].map((cidr) => ipaddr.IPv4.parseCIDR(cidr));

/** Arguments of {@link ScalewayEdgeCluster}. `region` is an Elastic Metal **zone** from {@link SCALEWAY_ZONES}. */
export interface ScalewayEdgeClusterArgs extends CloudEdgeClusterArgs {
    /**
     * The Scaleway provider of this cluster's zone. Required: the component never falls back to the
     * default provider, so two clusters in two zones use two providers.
     */
    provider: scaleway.Provider;
    /** Elastic Metal offer name (hourly billing). Default `EM-A115X-SSD`. Any `EM-<model>-<disk>` name is accepted. */
    offer?: string;
    /** Operating system, a key of {@link SCALEWAY_OS_IMAGES}. Default `ubuntu_2204`. */
    os?: ScalewayOs;
    /**
     * Number of flexible IPs, attached to the hosts round-robin, for VMs (0 to
     * {@link SCALEWAY_MAX_PUBLIC_IPS}). Default 1. With 0 there is no OpenNebula public network.
     */
    publicIps?: number;
    /**
     * IPv4 subnet of the Scaleway private network (/20 to /28, inside 172.16.0.0/12 or
     * 192.168.0.0/16). Host i gets network + 10 + i, the public gateway network + 2. Default `172.18.0.0/24`.
     */
    privateNetworkCidr?: string;
    /**
     * Private range the VMs behind flexible IPs take their addresses from, in /31 pairs (lease k:
     * VM network + 2k + 1, gateway network + 2k). Local to each host; must not overlap the private
     * network. Default `172.16.100.0/24`.
     */
    natCidr?: string;
    /** Public gateway type. Default `VPC-GW-S` (as oneprovision). */
    gatewayType?: ScalewayGatewayType;
    /**
     * SSH bastion on the public gateway, for machines on the private network. Default: disabled
     * (the hosts have public IPs and are reached directly).
     */
    bastion?: {
        /** Bastion port. Default 61000. */
        port?: number;
        /** IPv4 ranges allowed to reach the bastion. Default: Scaleway's (anywhere). */
        allowedIpRanges?: string[];
    };
    /**
     * An existing IAM SSH key (id) holding `ssh.publicKey`. Default: a new `scaleway.iam.SshKey`.
     * Scaleway refuses the same public key twice in a project: when several edge clusters share one
     * key, create the key once and pass its id to each of them.
     */
    sshKeyId?: pulumi.Input<string>;
    /**
     * The hosts' physical interface (carrying the public IPs and the private network's VLAN).
     * Default: found on each host as the interface of its IPv4 default route.
     */
    uplinkInterface?: string;
    /** Scaleway project. Default: the provider's. */
    projectId?: pulumi.Input<string>;
    /** Tags on every Scaleway resource that takes tags. Default `["opennebula-edge", <name>]`. */
    tags?: string[];
}

/** {@link ScalewayEdgeClusterArgs} after validation, with every default filled in. */
export interface ScalewayPlan {
    zone: ScalewayZone;
    region: string;
    hostCount: number;
    offer: string;
    os: ScalewayOs;
    hypervisor: "kvm" | "lxc";
    publicIps: number;
    privateNetworkCidr: string;
    natCidr: string;
    gatewayType: ScalewayGatewayType;
    bastion?: { port: number; allowedIpRanges?: string[] };
    dns: string;
    uplinkInterface?: string;
}

/** The region of an Elastic Metal zone: `fr-par-1` → `fr-par`. */
export function scalewayRegionOf(zone: string): string {
    return zone.replace(/-[0-9]+$/, "");
}

/**
 * Checks the arguments of {@link ScalewayEdgeCluster} and fills in the defaults. Pure; throws an
 * {@link EdgeConfigError} naming the field and what is allowed.
 */
export function validateScalewayEdgeClusterArgs(args: ScalewayEdgeClusterArgs): ScalewayPlan {
    const hostCount = validateCommonArgs(args, SCALEWAY_ZONES, SCALEWAY_HYPERVISORS);
    if (!scaleway.Provider.isInstance(args.provider)) {
        throw new EdgeConfigError("provider", "is required: a scaleway.Provider for this zone (the default provider is never used)");
    }
    const offer = args.offer ?? SCALEWAY_DEFAULTS.offer;
    if (typeof offer !== "string" || !OFFER_NAME.test(offer)) {
        throw new EdgeConfigError("offer", `must be an Elastic Metal offer name such as EM-A115X-SSD, EM-I220E-NVME or EM-L110X-SATA (got ${JSON.stringify(offer)})`);
    }
    const os = args.os ?? SCALEWAY_DEFAULTS.os;
    requireOneOf("os", os, Object.keys(SCALEWAY_OS_IMAGES));
    const publicIps = requireIntegerIn("publicIps", args.publicIps ?? SCALEWAY_DEFAULTS.publicIps, 0, SCALEWAY_MAX_PUBLIC_IPS);
    const privateNetworkCidr = requirePrivateNetworkCidr(args.privateNetworkCidr ?? SCALEWAY_DEFAULTS.privateNetworkCidr, hostCount);
    const natCidr = requireNatCidr(args.natCidr ?? SCALEWAY_DEFAULTS.natCidr, publicIps, privateNetworkCidr);
    const gatewayType = args.gatewayType ?? SCALEWAY_DEFAULTS.gatewayType;
    requireOneOf("gatewayType", gatewayType, SCALEWAY_GATEWAY_TYPES);
    if (args.uplinkInterface !== undefined && (typeof args.uplinkInterface !== "string" || !INTERFACE_NAME.test(args.uplinkInterface))) {
        throw new EdgeConfigError("uplinkInterface", `must be an interface name of 1 to 15 letters, digits, "_", ".", "@", "-" (got ${JSON.stringify(args.uplinkInterface)})`);
    }
    const zone = args.region as ScalewayZone;
    return {
        zone,
        region: scalewayRegionOf(zone),
        hostCount,
        offer,
        os,
        hypervisor: args.hypervisor === "lxc" ? "lxc" : "kvm",
        publicIps,
        privateNetworkCidr,
        natCidr,
        gatewayType,
        bastion: args.bastion && validateBastion(args.bastion),
        dns: args.dns ?? SCALEWAY_DEFAULTS.dns,
        uplinkInterface: args.uplinkInterface,
    };
}

function requirePrivateNetworkCidr(value: unknown, hostCount: number): string {
    const cidr = requireIpv4Cidr("privateNetworkCidr", value, 20, 28);
    const [network, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    if (!PRIVATE_RANGES.some((range) => network.match(range) && prefix >= range[1])) {
        throw new EdgeConfigError("privateNetworkCidr", `must lie inside 172.16.0.0/12 or 192.168.0.0/16, as Scaleway advises for private networks (got ${cidr})`);
    }
    // Scaleway keeps the last two addresses; hosts start at HOST_ADDRESS_OFFSET.
    const needed = HOST_ADDRESS_OFFSET + hostCount + 2;
    if (2 ** (32 - prefix) < needed) {
        throw new EdgeConfigError("privateNetworkCidr", `${cidr} is too small for ${hostCount} hosts (hosts start at address ${HOST_ADDRESS_OFFSET}; it needs ${needed} addresses)`);
    }
    return cidr;
}

function requireNatCidr(value: unknown, publicIps: number, privateNetworkCidr: string): string {
    const cidr = requireIpv4Cidr("natCidr", value, 8, 30);
    const [network, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    if (2 ** (32 - prefix) < 2 * publicIps) {
        throw new EdgeConfigError("natCidr", `${cidr} is too small for ${publicIps} public IPs (each takes a /31 pair)`);
    }
    const privateNetwork = ipaddr.IPv4.parseCIDR(privateNetworkCidr);
    if (network.match(privateNetwork) || privateNetwork[0].match([network, prefix])) {
        throw new EdgeConfigError("natCidr", `${cidr} overlaps privateNetworkCidr ${privateNetworkCidr}; pick a separate range`);
    }
    return cidr;
}

function validateBastion(bastion: NonNullable<ScalewayEdgeClusterArgs["bastion"]>): { port: number; allowedIpRanges?: string[] } {
    const port = requireIntegerIn("bastion.port", bastion.port ?? SCALEWAY_DEFAULTS.bastionPort, 1, 65535);
    if (bastion.allowedIpRanges !== undefined && !Array.isArray(bastion.allowedIpRanges)) {
        throw new EdgeConfigError("bastion.allowedIpRanges", "must be a list of IPv4 CIDRs");
    }
    const allowedIpRanges = bastion.allowedIpRanges?.map((range, i) => requireIpv4Cidr(`bastion.allowedIpRanges[${i}]`, range, 0, 32));
    return { port, allowedIpRanges };
}

/** Private address of host `index` in the private network (network + 10 + index). */
export function hostPrivateAddress(privateNetworkCidr: string, index: number): string {
    return addToIpv4(privateNetworkCidr.split("/")[0], HOST_ADDRESS_OFFSET + index);
}

/** Private address of the public gateway in the private network (network + 2). */
export function gatewayPrivateAddress(privateNetworkCidr: string): string {
    return addToIpv4(privateNetworkCidr.split("/")[0], GATEWAY_ADDRESS_OFFSET);
}

/**
 * The VM side of flexible IP `index`: a /31 in `natCidr` with the VM on the odd address and its
 * gateway on the even one — the gateway is the VM address XOR 1, the rule public-forwarding.sh
 * applies by default.
 */
export function natLease(natCidr: string, index: number): { vmIp: string; gateway: string } {
    const base = natCidr.split("/")[0];
    return { vmIp: addToIpv4(base, 2 * index + 1), gateway: addToIpv4(base, 2 * index) };
}

/** A flexible IP's address without the `/32` the Scaleway API may append. */
export function flexibleIpAddress(value: string): string {
    const address = typeof value === "string" ? value.replace(/\/32$/, "") : value;
    if (typeof address !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(address)) {
        throw new Error(`flexible IP address ${JSON.stringify(value)} is not an IPv4 address`);
    }
    return address;
}

/** The VLAN Scaleway gave a server's attachment to `privateNetworkId` (ids compared without their locality prefix). */
export function privateNetworkVlan(attachments: { id: string; vlan?: number }[] | undefined, privateNetworkId: string): number {
    const uuid = (id: string) => id.slice(id.lastIndexOf("/") + 1);
    const attachment = (attachments ?? []).find((pn) => uuid(pn.id) === uuid(privateNetworkId));
    if (attachment?.vlan === undefined || !Number.isInteger(attachment.vlan)) {
        throw new Error(`the server has no VLAN for private network ${privateNetworkId} (attachments: ${JSON.stringify(attachments ?? [])})`);
    }
    return attachment.vlan;
}

// ---------------------------------------------------------------------------------------------
// The private network on the host

/** Inputs of {@link privateVlanScript}. */
export interface PrivateVlanScriptArgs {
    /** VLAN id of the server's private network attachment (1-4094). Required. */
    vlan: number;
    /** The host's private address with prefix length, e.g. `172.18.0.10/24`. Required. */
    address: string;
    /** The physical interface. Default: the interface of the host's IPv4 default route. */
    uplink?: string;
}

/** The host script that puts an Elastic Metal server on its private network's VLAN (see {@link PRIVATE_VLAN_DEVICE}). */
export function privateVlanScript(args: PrivateVlanScriptArgs): HostScript {
    if (!Number.isInteger(args.vlan) || args.vlan < 1 || args.vlan > 4094) {
        throw new Error(`vlan must be an integer from 1 to 4094 (got ${JSON.stringify(args.vlan)})`);
    }
    if (typeof args.address !== "string" || !ipaddr.IPv4.isValidCIDR(args.address)) {
        throw new Error(`address must be an IPv4 address with a prefix length such as 172.18.0.10/24 (got ${JSON.stringify(args.address)})`);
    }
    const environment: Record<string, string> = { PRIVATE_VLAN: String(args.vlan), PRIVATE_ADDRESS: args.address, PRIVATE_VLAN_DEVICE };
    if (args.uplink !== undefined) {
        if (!INTERFACE_NAME.test(args.uplink)) throw new Error(`uplink must be an interface name (got ${JSON.stringify(args.uplink)})`);
        environment.UPLINK = args.uplink;
    }
    return { name: "scaleway-private-vlan.sh", script: readHostScript("scaleway-private-vlan.sh"), environment };
}

/** The uplink named by the last `UPLINK=<interface>` line of {@link privateVlanScript}'s output. */
export function uplinkFromOutput(stdout: string | undefined): string {
    const matches = [...(stdout ?? "").matchAll(/^UPLINK=(\S+)$/gm)];
    const uplink = matches.length ? matches[matches.length - 1][1] : undefined;
    if (uplink === undefined || !INTERFACE_NAME.test(uplink)) {
        throw new Error(`the private network script did not report the host's uplink (no UPLINK=<interface> line in its output)`);
    }
    return uplink;
}

// ---------------------------------------------------------------------------------------------
// The component

/**
 * An OpenNebula edge cluster on Scaleway Elastic Metal servers in one zone: VPC, private network
 * (the servers attached with reserved addresses), public gateway, IAM SSH key, servers, flexible
 * IPs; then the hosts configured and registered in OpenNebula by {@link EdgeCluster}.
 *
 * Elastic Metal has no security groups: the host firewall (`firewall`, strict by default) is the
 * only protection, and the ports it opens (SSH, BGP, VXLAN, WireGuard, libvirt, migration) are
 * open from anywhere, not only from the private network.
 */
export class ScalewayEdgeCluster extends pulumi.ComponentResource {
    /** The OpenNebula cluster ID. */
    readonly clusterId: pulumi.Output<number>;
    /** OpenNebula host ID per host key. */
    readonly hostIds: pulumi.Output<Record<string, number>>;
    /** The address each host is registered with in OpenNebula (its public IP), per host key. */
    readonly hostAddresses: pulumi.Output<Record<string, string>>;
    /** IDs of the image and system datastores. */
    readonly datastoreIds: pulumi.Output<{ image?: number; system?: number }>;
    /** ID of the OpenNebula public network (undefined when `publicIps` is 0). */
    readonly publicNetworkId: pulumi.Output<number | undefined>;
    /** Elastic Metal server id per host key. */
    readonly serverIds: pulumi.Output<Record<string, string>>;
    /** Public IPv4 of each server, per host key. */
    readonly hostPublicIps: pulumi.Output<Record<string, string>>;
    /** Private address of each server in the private network, per host key. */
    readonly hostPrivateIps: Record<string, string>;
    /** The flexible IPs, in allocation order. */
    readonly publicIps: pulumi.Output<string[]>;
    /** Which host carries each flexible IP: flexible IP → host key. */
    readonly publicIpHosts: pulumi.Output<Record<string, string>>;
    /** VPC, private network and public gateway ids. */
    readonly vpcId: pulumi.Output<string>;
    readonly privateNetworkId: pulumi.Output<string>;
    readonly publicGatewayId: pulumi.Output<string>;
    /** The zone and its region. */
    readonly zone: string;
    readonly region: string;

    /** The created children (escape hatch). */
    readonly vpc: scaleway.network.Vpc;
    readonly privateNetwork: scaleway.network.PrivateNetwork;
    readonly publicGateway: scaleway.network.PublicGateway;
    readonly gatewayNetwork: scaleway.network.GatewayNetwork;
    /** Absent when `sshKeyId` was given. */
    readonly sshKey?: scaleway.iam.SshKey;
    readonly servers: Record<string, scaleway.elasticmetal.Server>;
    readonly privateIpReservations: Record<string, scaleway.ipam.Ip>;
    readonly flexibleIps: scaleway.elasticmetal.Ip[];
    /** The command putting each host on the private network's VLAN, per host key. */
    readonly privateVlans: Record<string, command.remote.Command>;
    readonly edge: EdgeCluster;

    constructor(name: string, args: ScalewayEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = validateScalewayEdgeClusterArgs(args);
        super(SCALEWAY_EDGE_CLUSTER_TYPE, name, {}, opts);
        const cloud: pulumi.CustomResourceOptions = { parent: this, provider: args.provider };
        const { zone, region } = plan;
        const tags = args.tags ?? ["opennebula-edge", name];
        const projectId = args.projectId;
        this.zone = zone;
        this.region = region;

        // Network: VPC, private network, reserved private addresses, public gateway.
        this.vpc = new scaleway.network.Vpc(`${name}-vpc`, { name: `${name}-vpc`, region, enableRouting: true, projectId, tags }, cloud);
        this.privateNetwork = new scaleway.network.PrivateNetwork(`${name}-private`, {
            name: `${name}-private`, region, vpcId: this.vpc.id, ipv4Subnet: { subnet: plan.privateNetworkCidr }, projectId, tags,
        }, cloud);
        const reserve = (resourceName: string, address: string) => new scaleway.ipam.Ip(resourceName, {
            address, region, sources: [{ privateNetworkId: this.privateNetwork.id }], projectId, tags,
        }, cloud);
        const keys = hostKeys(plan.hostCount);
        this.hostPrivateIps = Object.fromEntries(keys.map((key, i) => [key, hostPrivateAddress(plan.privateNetworkCidr, i)]));
        this.privateIpReservations = Object.fromEntries(keys.map((key) => [key, reserve(`${name}-${key}-private-ip`, this.hostPrivateIps[key])]));
        const gatewayIp = reserve(`${name}-gateway-ip`, gatewayPrivateAddress(plan.privateNetworkCidr));
        this.publicGateway = new scaleway.network.PublicGateway(`${name}-gateway`, {
            name: `${name}-gateway`, type: plan.gatewayType, zone, projectId, tags,
            bastionEnabled: plan.bastion !== undefined, bastionPort: plan.bastion?.port, allowedIpRanges: plan.bastion?.allowedIpRanges,
        }, cloud);
        // Reserved addresses first (Scaleway's advice), so the gateway cannot take a host's.
        this.gatewayNetwork = new scaleway.network.GatewayNetwork(`${name}-gateway-network`, {
            gatewayId: this.publicGateway.id, privateNetworkId: this.privateNetwork.id, zone, enableMasquerade: true,
            ipamConfigs: [{ pushDefaultRoute: true, ipamIpId: gatewayIp.id }],
        }, { ...cloud, dependsOn: Object.values(this.privateIpReservations) });

        // Servers.
        if (args.sshKeyId === undefined) {
            this.sshKey = new scaleway.iam.SshKey(`${name}-ssh-key`, { name: `${name}-ssh-key`, publicKey: args.ssh.publicKey, projectId }, cloud);
        }
        const sshKeyId = args.sshKeyId ?? this.sshKey!.id;
        const invoke = { parent: this, provider: args.provider };
        const offer = scaleway.elasticmetal.getOfferOutput({ name: plan.offer, zone, subscriptionPeriod: "hourly" }, invoke);
        const image = SCALEWAY_OS_IMAGES[plan.os];
        const os = scaleway.elasticmetal.getOsOutput({ name: image.name, version: image.version, zone }, invoke);
        this.servers = Object.fromEntries(keys.map((key) => [key, new scaleway.elasticmetal.Server(`${name}-${key}`, {
            name: `${name}-${key}`, zone, offer: offer.apply((o) => requireId("offer", plan.offer, o.offerId)), os: os.apply((o) => requireId("os", plan.os, o.osId)),
            sshKeyIds: [sshKeyId], projectId, tags, description: `OpenNebula edge host ${key} of ${name}`,
            privateNetworks: [{ id: this.privateNetwork.id, ipamIpIds: [this.privateIpReservations[key].id] }],
        }, cloud)]));
        const publicIpOf = (key: string) => this.servers[key].ipv4s.apply((ips) => {
            const address = ips?.[0]?.address;
            if (!address) throw new Error(`Elastic Metal server ${name}-${key} reports no public IPv4 address`);
            return address;
        });
        const hostPublicIps = Object.fromEntries(keys.map((key) => [key, publicIpOf(key)]));

        // Flexible IPs, round-robin over the servers.
        const carrier = (k: number) => keys[k % keys.length];
        this.flexibleIps = Array.from({ length: plan.publicIps }, (_, k) => new scaleway.elasticmetal.Ip(`${name}-ip-${k}`, {
            zone, serverId: this.servers[carrier(k)].id, projectId, tags, description: `OpenNebula edge ${name}: VMs on ${carrier(k)}`,
        }, cloud));
        const flexibleAddresses = this.flexibleIps.map((ip) => ip.ipAddress.apply(flexibleIpAddress));

        // Each host joins the private network's VLAN before anything else runs on it.
        this.privateVlans = Object.fromEntries(keys.map((key) => {
            const host = { publicIp: hostPublicIps[key], sshUser: SCALEWAY_DEFAULTS.sshUser };
            const prefix = plan.privateNetworkCidr.split("/")[1];
            const stdin = pulumi.all([this.servers[key].privateNetworks, this.privateNetwork.id]).apply(([attachments, pnId]) =>
                toStdin(privateVlanScript({
                    vlan: privateNetworkVlan(attachments as { id: string; vlan?: number }[] | undefined, pnId),
                    address: `${this.hostPrivateIps[key]}/${prefix}`,
                    uplink: plan.uplinkInterface,
                })));
            return [key, new command.remote.Command(`${name}-${key}-private-vlan`, {
                connection: sshConnection(args.ssh, host), create: scriptRunner(host.sshUser), stdin,
            }, { parent: this, dependsOn: [this.servers[key]], additionalSecretOutputs: ["connection"] })];
        }));

        const hosts: EdgeHost[] = keys.map((key, i) => {
            const mine = this.flexibleIps.map((ip, k) => ({ ip, k })).filter(({ k }) => carrier(k) === key);
            const uplink = plan.uplinkInterface !== undefined
                ? pulumi.output(plan.uplinkInterface)
                : this.privateVlans[key].stdout.apply(uplinkFromOutput);
            return {
                key,
                publicIp: hostPublicIps[key],
                privateIp: this.hostPrivateIps[key],
                sshUser: SCALEWAY_DEFAULTS.sshUser,
                cloudId: this.servers[key].id,
                dependsOn: [this.servers[key], this.privateVlans[key], ...mine.map(({ ip }) => ip)],
                publicForwarding: mine.length === 0 ? undefined : pulumi.all([uplink, ...mine.map(({ k }) => flexibleAddresses[k])])
                    .apply(([device, ...addresses]): NatForwardingArgs => ({
                        model: "nat", natBy: "host", uplink: device, bridge: "br0",
                        pairs: mine.map(({ k }, j) => ({ publicIp: addresses[j], privateIp: natLease(plan.natCidr, k).vmIp })),
                    })),
            };
        });

        const addressRanges: pulumi.Output<AddressRangeInput>[] = flexibleAddresses.map((address, k) => {
            const lease = natLease(plan.natCidr, k);
            return pulumi.all([address, hostPublicIps[carrier(k)]]).apply(([external, edgeHost]): AddressRangeInput => ({
                TYPE: "IP4", IP: lease.vmIp, SIZE: 1, GATEWAY: lease.gateway, NETWORK_MASK: "255.255.255.254",
                EXTERNAL_IP: external, EDGE_HOST: edgeHost,
            }));
        });
        const { publicKey: _publicKey, ...ssh } = args.ssh;
        this.edge = new EdgeCluster(`${name}-one`, {
            hosts,
            ssh,
            opennebula: args.opennebula,
            hypervisor: plan.hypervisor,
            firewall: args.firewall,
            cluster: args.cluster ?? { name },
            publicNetwork: plan.publicIps === 0 ? undefined : {
                template: { BRIDGE: "br0", NETROLE: "public", DNS: plan.dns },
                addressRanges,
            },
            description: `Scaleway Elastic Metal edge cluster ${name} (${zone})`,
        }, { parent: this });

        this.clusterId = this.edge.clusterId;
        this.hostIds = this.edge.hostIds;
        this.hostAddresses = this.edge.hostAddresses;
        this.datastoreIds = this.edge.datastoreIds;
        this.publicNetworkId = this.edge.publicNetworkId;
        this.serverIds = recordOf(keys, keys.map((key) => this.servers[key].id));
        this.hostPublicIps = recordOf(keys, keys.map((key) => hostPublicIps[key]));
        this.publicIps = pulumi.all(flexibleAddresses);
        this.publicIpHosts = pulumi.all(flexibleAddresses).apply((addresses) => Object.fromEntries(addresses.map((address, k) => [address, carrier(k)])));
        this.vpcId = this.vpc.id;
        this.privateNetworkId = this.privateNetwork.id;
        this.publicGatewayId = this.publicGateway.id;
        this.registerOutputs({
            clusterId: this.clusterId, hostIds: this.hostIds, hostAddresses: this.hostAddresses, datastoreIds: this.datastoreIds,
            publicNetworkId: this.publicNetworkId, serverIds: this.serverIds, hostPublicIps: this.hostPublicIps,
            hostPrivateIps: this.hostPrivateIps, publicIps: this.publicIps, publicIpHosts: this.publicIpHosts, vpcId: this.vpcId,
            privateNetworkId: this.privateNetworkId, publicGatewayId: this.publicGatewayId, zone, region,
        });
    }
}

/** Fails clearly when a catalogue lookup found nothing (an offer or OS not sold in the zone). */
function requireId(field: string, wanted: string, id: string | undefined): string {
    if (!id) throw new Error(`${field}: Scaleway's catalogue has no ${JSON.stringify(wanted)} in this zone`);
    return id;
}

function recordOf<T>(keys: string[], values: pulumi.Input<T>[]): pulumi.Output<Record<string, T>> {
    return pulumi.all(values).apply((resolved) => Object.fromEntries(keys.map((key, i) => [key, resolved[i] as T])));
}
