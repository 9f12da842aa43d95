/**
 * An OpenNebula edge cluster on Scaleway Elastic Metal: what oneprovision's (7.0-dev) Scaleway
 * provision built — VPC, private network, VPC-GW-S public gateway, Elastic Metal servers — and
 * what it left undone: the servers are attached to the private network (a VLAN on the server's
 * NIC, configured on the host), the `os` input is used, and flexible IPs work without
 * oneprovision's IPAM / elastic drivers.
 *
 * Public IP model ("nat", translated by the host): every flexible IP belongs to one host
 * (`publicIps` per host) and is attached to it. A VM using it gets a private address from
 * `natCidr` (a /31 pair: the VM on the odd address, its gateway on the even one, answered by the
 * host); the host DNATs the flexible IP to the VM and SNATs the VM's traffic back to it
 * (`public-forwarding.sh`, NAT_BY=host). OpenNebula's public network carries one address range per
 * flexible IP (SIZE 1, the VM's private address, GATEWAY, NETWORK_MASK 255.255.255.254,
 * EXTERNAL_IP = the flexible IP, EDGE_HOST = the public IP of the host that carries it). A VM
 * taking such a lease must run on that host (e.g. `SCHED_REQUIREMENTS = "NAME = \"<EDGE_HOST>\""`).
 *
 * Addresses follow the host's slot (see `settings.ts`): host slot s is at private network + 10 + s,
 * and its flexible IP j's VM at `natCidr` + 2·(8s + j) + 1.
 *
 * Firewall: Elastic Metal has no security groups or cloud firewall. The host firewall
 * (`firewall.sh`, strict by default, trusting the private network) is the only filter in front of
 * the hosts.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { hostCommand } from "../remote/host-command";
import type { HostScript } from "../remote/host-script";
import { hostScript } from "../remote/host-script";
import {
    ConfigError,
    INTERFACE_NAME,
    addToIpv4,
    describe,
    cidrInside,
    cidrOf,
    cidrsOverlap,
    integerIn,
    interfaceName,
    ipv4,
} from "../validation";
import { checkedBy, cidrSchema, inputSchema, interfaceNameSchema, portSchema, schemaOf, textSchema } from "../validation/schema";
import type { CloudArgs, PublicIpLease } from "./base";
import { CloudEdgeCluster, checkCloudArgs, parseCloudSettings, userData } from "./base";
import { defineCloud } from "./definition";
import type { CloudSettings, HostSettings, PlannedHost } from "./settings";
import { checkHosts, commonSettings, planHosts, publicIpSettings, slotSchema, tagTexts } from "./settings";

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
    privateNetworkCidr: "172.18.0.0/20",
    natCidr: "172.16.0.0/16",
    gatewayType: "VPC-GW-S" as ScalewayGatewayType,
    bastionPort: 61000,
    sshUser: "ubuntu",
} as const;

/** Offset of host slot 0's private address in the private network (the first addresses are Scaleway's and the gateway's). */
const HOST_ADDRESS_OFFSET = 10;
/** Offset of the public gateway's private address. Scaleway reserves the first two addresses. */
const GATEWAY_ADDRESS_OFFSET = 2;
/** The VLAN interface the private network gets on every host. */
export const PRIVATE_VLAN_DEVICE = "scwpn0";

/** Elastic Metal offer names, e.g. `EM-A115X-SSD`, `EM-I220E-NVME`, `EM-L110X-SATA`. */
const OFFER_NAME = /^EM-[A-Z][0-9]{3}[A-Z]-(SSD|HDD|NVME|SATA)$/;
const PRIVATE_RANGES = ["172.16.0.0/12", "192.168.0.0/16"];

// ---------------------------------------------------------------------------------------------
// Settings: the component's plain arguments, and an edge cluster's keys in stack configuration

/** The settings of a Scaleway edge cluster: its own arguments, and an edge cluster's keys in stack configuration. */
export interface ScalewaySettings extends CloudSettings {
    /** The Elastic Metal zone, from {@link SCALEWAY_ZONES}; its region is the zone without its number. Required. */
    zone: ScalewayZone;
    /**
     * The hosts by key, e.g. `["kvm-a", "kvm-b"]`, or with per-host settings: `{ "kvm-a": { publicIps: 2 },
     * "kvm-b": { slot: 7 } }` — `publicIps` (0–8) overrides the cluster's, `slot` (0–3071) the slot
     * derived from the key. Default: `hostCount` hosts `host-0` ….
     */
    hosts?: string[] | Record<string, HostSettings>;
    /** Flexible IPs each host owns, for VMs, 0–8 (at most 8 in all). Default 0. */
    publicIps?: number;
    /** `kvm` or `lxc`. Default `kvm`. */
    hypervisor?: (typeof SCALEWAY_HYPERVISORS)[number];
    /** Elastic Metal offer name (hourly billing). Any `EM-<model>-<disk>` name is accepted. Default `EM-A115X-SSD`. */
    offer?: string;
    /** Operating system, a key of {@link SCALEWAY_OS_IMAGES}. Default `ubuntu_2204`. */
    os?: ScalewayOs;
    /**
     * IPv4 subnet of the Scaleway private network (/20 to /28, inside 172.16.0.0/12 or
     * 192.168.0.0/16). Host slot s gets network + 10 + s, the public gateway network + 2. Default `172.18.0.0/20`.
     */
    privateNetworkCidr?: string;
    /**
     * Private range (/8 to /30) the VMs behind flexible IPs take their addresses from, in /31 pairs
     * (host slot s, IP j: VM network + 2·(8s + j) + 1, gateway one below). Local to each host; must
     * not overlap the private network. Default `172.16.0.0/16`.
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
     * The hosts' physical interface (carrying the public IPs and the private network's VLAN).
     * Default: found on each host as the interface of its IPv4 default route.
     */
    uplinkInterface?: string;
    /** Scaleway project. Default: the provider's. */
    projectId?: pulumi.Input<string>;
}

/** @internal The schema of {@link ScalewaySettings}, which the component and the stack program validate with. */
export const scalewaySettings = schemaOf<ScalewaySettings>()(
    z
        .object({
            zone: z.enum(SCALEWAY_ZONES),
            ...commonSettings,
            ...publicIpSettings(SCALEWAY_MAX_PUBLIC_IPS, { slot: slotSchema.optional() }),
            hypervisor: z.enum(SCALEWAY_HYPERVISORS).optional(),
            offer: z
                .string()
                .regex(OFFER_NAME, "must be an Elastic Metal offer name such as EM-A115X-SSD, EM-I220E-NVME or EM-L110X-SATA")
                .optional(),
            os: z.enum(Object.keys(SCALEWAY_OS_IMAGES) as [ScalewayOs, ...ScalewayOs[]]).optional(),
            privateNetworkCidr: checkedBy(cidrSchema(20, 28), (cidr) => {
                if (!PRIVATE_RANGES.some((range) => cidrInside(cidrOf(cidr), cidrOf(range)))) {
                    throw new ConfigError(
                        "",
                        `must lie inside 172.16.0.0/12 or 192.168.0.0/16, as Scaleway advises for private networks (got ${cidr})`,
                    );
                }
            }).optional(),
            natCidr: cidrSchema(8, 30).optional(),
            gatewayType: z.enum(SCALEWAY_GATEWAY_TYPES).optional(),
            bastion: z
                .strictObject({
                    port: portSchema.optional(),
                    allowedIpRanges: z.array(cidrSchema()).optional(),
                })
                .optional(),
            uplinkInterface: interfaceNameSchema.optional(),
            projectId: inputSchema(textSchema("a Scaleway project id")).optional(),
        })
        .superRefine((settings, ctx) => {
            if (ctx.issues.length > 0) return; // the rules across settings need each setting valid on its own
            checkHosts(settings, ctx, {
                maxPublicIps: SCALEWAY_MAX_PUBLIC_IPS,
                quota: "this package's limit (each flexible IP is billed)",
                slots: true,
            });
            const hosts = planHosts(settings);
            const privateNetwork = cidrOf(settings.privateNetworkCidr ?? SCALEWAY_DEFAULTS.privateNetworkCidr);
            const natCidr = cidrOf(settings.natCidr ?? SCALEWAY_DEFAULTS.natCidr);
            // Scaleway keeps the last two addresses of the private network.
            const highest = hosts.reduce((top, host) => (host.slot > top.slot ? host : top));
            if (HOST_ADDRESS_OFFSET + highest.slot + 2 >= privateNetwork.size) {
                ctx.addIssue({
                    code: "custom",
                    path: ["privateNetworkCidr"],
                    message: `${privateNetwork.cidr} is too small for host ${highest.key} (slot ${highest.slot}): hosts take network + 10 + slot`,
                });
            }
            const withIps = hosts.filter((host) => host.publicIps > 0);
            const lastLease = (host: PlannedHost) => 2 * (SCALEWAY_MAX_PUBLIC_IPS * host.slot + host.publicIps - 1) + 1;
            const tightest = withIps.find((host) => lastLease(host) >= natCidr.size);
            if (tightest !== undefined) {
                ctx.addIssue({
                    code: "custom",
                    path: ["natCidr"],
                    message: `${natCidr.cidr} is too small for the public IPs of host ${tightest.key} (slot ${tightest.slot}): IP j of slot s takes the /31 pair 8s + j`,
                });
            }
            if (cidrsOverlap(natCidr, privateNetwork)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["natCidr"],
                    message: `${natCidr.cidr} overlaps privateNetworkCidr ${privateNetwork.cidr}; pick a separate range`,
                });
            }
        }),
);

/**
 * The kinds of children of {@link ScalewayEdgeCluster} that take a `transform`, and their
 * arguments: `vpc` (`${name}-vpc`), `privateNetwork` (`${name}-private`), `privateIp` (the
 * reservations `${name}-<host>-private-ip` and `${name}-gateway-ip`), `publicGateway`
 * (`${name}-gateway`), `gatewayNetwork`, `sshKey`, `server` (`${name}-<host>`), `flexibleIp`
 * (`${name}-<host>-ip-<j>`) and `privateVlanCommand` (`${name}-<host>-private-vlan`).
 */
export interface ScalewayChildren {
    vpc: scaleway.network.VpcArgs;
    privateNetwork: scaleway.network.PrivateNetworkArgs;
    privateIp: scaleway.ipam.IpArgs;
    publicGateway: scaleway.network.PublicGatewayArgs;
    gatewayNetwork: scaleway.network.GatewayNetworkArgs;
    sshKey: scaleway.iam.SshKeyArgs;
    server: scaleway.elasticmetal.ServerArgs;
    flexibleIp: scaleway.elasticmetal.IpArgs;
    privateVlanCommand: command.remote.CommandArgs;
}

/** Arguments of {@link ScalewayEdgeCluster}: the settings, the provider of `zone`, SSH, the front-end and the escape hatches. */
export type ScalewayEdgeClusterArgs = CloudArgs<ScalewaySettings, scaleway.Provider, ScalewayChildren>;

/** A host of a Scaleway edge cluster, planned: its reserved private address and its flexible IPs' NAT leases. */
export interface ScalewayHostPlan {
    key: string;
    slot: number;
    /** Private network + 10 + slot. */
    privateIp: string;
    /** The VM address of each flexible IP the host owns (its gateway is the address below). */
    natLeases: string[];
}

/** {@link ScalewayEdgeClusterArgs} after validation, with every default filled in. */
export interface ScalewayPlan {
    zone: ScalewayZone;
    region: string;
    hosts: ScalewayHostPlan[];
    offer: string;
    os: ScalewayOs;
    hypervisor: "kvm" | "lxc";
    privateNetworkCidr: string;
    natCidr: string;
    gatewayType: ScalewayGatewayType;
    bastion?: { port: number; allowedIpRanges?: string[] };
    sshUser: string;
    uplinkInterface?: string;
}

/** The region of an Elastic Metal zone: `fr-par-1` → `fr-par`. */
export function scalewayRegionOf(zone: string): string {
    return zone.replace(/-[0-9]+$/, "");
}

/**
 * Checks the arguments of {@link ScalewayEdgeCluster} and fills in the defaults. Pure.
 *
 * @throws ConfigError naming the field and what is allowed.
 */
export function validateScalewayEdgeClusterArgs(args: ScalewayEdgeClusterArgs): ScalewayPlan {
    checkCloudArgs(args, "scaleway");
    const settings = parseCloudSettings(scalewaySettings, args);
    const privateNetworkCidr = settings.privateNetworkCidr ?? SCALEWAY_DEFAULTS.privateNetworkCidr;
    const natCidr = settings.natCidr ?? SCALEWAY_DEFAULTS.natCidr;
    return {
        zone: settings.zone,
        region: scalewayRegionOf(settings.zone),
        hosts: planHosts(settings).map((host) => ({
            key: host.key,
            slot: host.slot,
            privateIp: hostPrivateAddress(privateNetworkCidr, host.slot),
            natLeases: Array.from({ length: host.publicIps }, (_, j) => natLease(natCidr, host.slot, j)),
        })),
        offer: settings.offer ?? SCALEWAY_DEFAULTS.offer,
        os: settings.os ?? SCALEWAY_DEFAULTS.os,
        hypervisor: settings.hypervisor ?? "kvm",
        privateNetworkCidr,
        natCidr,
        gatewayType: settings.gatewayType ?? SCALEWAY_DEFAULTS.gatewayType,
        bastion: settings.bastion && {
            port: settings.bastion.port ?? SCALEWAY_DEFAULTS.bastionPort,
            allowedIpRanges: settings.bastion.allowedIpRanges,
        },
        sshUser: settings.sshUser ?? SCALEWAY_DEFAULTS.sshUser,
        uplinkInterface: settings.uplinkInterface,
    };
}

/** Private address of host slot `slot` in the private network (network + 10 + slot). */
export function hostPrivateAddress(privateNetworkCidr: string, slot: number): string {
    return addToIpv4(privateNetworkCidr.split("/")[0], HOST_ADDRESS_OFFSET + slot);
}

/** Private address of the public gateway in the private network (network + 2). */
export function gatewayPrivateAddress(privateNetworkCidr: string): string {
    return addToIpv4(privateNetworkCidr.split("/")[0], GATEWAY_ADDRESS_OFFSET);
}

/**
 * The VM address of flexible IP `index` of the host with slot `slot`: the odd address of the /31
 * pair 8·slot + index of `natCidr`; the VM's gateway is the even one (the address XOR 1, the rule
 * public-forwarding.sh applies by default).
 */
export function natLease(natCidr: string, slot: number, index: number): string {
    return addToIpv4(natCidr.split("/")[0], 2 * (SCALEWAY_MAX_PUBLIC_IPS * slot + index) + 1);
}

/** A flexible IP's address without the `/32` the Scaleway API may append. */
export function flexibleIpAddress(value: string): string {
    const address = typeof value === "string" ? value.replace(/\/32$/, "") : value;
    return ipv4("flexibleIp", address);
}

/** The VLAN Scaleway gave a server's attachment to `privateNetworkId` (ids compared without their locality prefix). */
export function privateNetworkVlan(attachments: { id: string; vlan?: number }[] | undefined, privateNetworkId: string): number {
    const uuid = (id: string) => id.slice(id.lastIndexOf("/") + 1);
    const attachment = (attachments ?? []).find((pn) => uuid(pn.id) === uuid(privateNetworkId));
    if (attachment?.vlan === undefined || !Number.isInteger(attachment.vlan)) {
        throw new Error(
            `the server has no VLAN for private network ${privateNetworkId} (attachments: ${JSON.stringify(attachments ?? [])})`,
        );
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
    integerIn("vlan", args.vlan, 1, 4094);
    if (typeof args.address !== "string" || !ipaddr.IPv4.isValidCIDR(args.address)) {
        throw new ConfigError(
            "address",
            `must be an IPv4 address with a prefix length such as 172.18.0.10/24 (got ${describe(args.address)})`,
        );
    }
    const environment: Record<string, string> = { PRIVATE_VLAN: String(args.vlan), PRIVATE_ADDRESS: args.address, PRIVATE_VLAN_DEVICE };
    if (args.uplink !== undefined) environment.UPLINK = interfaceName("uplink", args.uplink);
    return hostScript("scaleway-private-vlan.sh", environment);
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
 * (the servers attached with reserved addresses), public gateway, IAM SSH key, servers, the
 * flexible IPs each host owns; then the hosts configured and registered in OpenNebula by
 * {@link EdgeCluster}.
 *
 * Elastic Metal has no security groups: the host firewall (`firewall`, strict by default) is the
 * only protection: SSH and WireGuard from anywhere, BGP and VXLAN only on the overlay's interface,
 * libvirt, migration and VNC only from the private network, the front-end and the overlay.
 */
export class ScalewayEdgeCluster extends CloudEdgeCluster<ScalewayChildren, scaleway.iam.SshKey> {
    /** The arguments, checked, with their defaults. */
    readonly plan: ScalewayPlan;
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
    readonly servers: Record<string, scaleway.elasticmetal.Server>;
    readonly privateIpReservations: Record<string, scaleway.ipam.Ip>;
    /** The flexible IPs of each host, per host key. */
    readonly flexibleIps: Record<string, scaleway.elasticmetal.Ip[]>;
    /** The command putting each host on the private network's VLAN, per host key. */
    readonly privateVlans: Record<string, command.remote.Command>;

    constructor(name: string, args: ScalewayEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = validateScalewayEdgeClusterArgs(args);
        super(SCALEWAY_EDGE_CLUSTER_TYPE, name, args, opts);
        this.plan = plan;
        const { zone, region } = plan;
        const tags = ["opennebula-edge", name, ...tagTexts(args.tags)];
        const projectId = args.projectId;
        this.zone = zone;
        this.region = region;

        // Network: VPC, private network, reserved private addresses, public gateway.
        this.vpc = this.create("vpc", scaleway.network.Vpc, `${name}-vpc`, {
            name: `${name}-vpc`,
            region,
            enableRouting: true,
            projectId,
            tags,
        });
        this.privateNetwork = this.create("privateNetwork", scaleway.network.PrivateNetwork, `${name}-private`, {
            name: `${name}-private`,
            region,
            vpcId: this.vpc.id,
            ipv4Subnet: { subnet: plan.privateNetworkCidr },
            projectId,
            tags,
        });
        const reserve = (resourceName: string, address: string) =>
            this.create("privateIp", scaleway.ipam.Ip, resourceName, {
                address,
                region,
                sources: [{ privateNetworkId: this.privateNetwork.id }],
                projectId,
                tags,
            });
        this.privateIpReservations = Object.fromEntries(
            plan.hosts.map((host) => [host.key, reserve(`${name}-${host.key}-private-ip`, host.privateIp)]),
        );
        const gatewayIp = reserve(`${name}-gateway-ip`, gatewayPrivateAddress(plan.privateNetworkCidr));
        this.publicGateway = this.create("publicGateway", scaleway.network.PublicGateway, `${name}-gateway`, {
            name: `${name}-gateway`,
            type: plan.gatewayType,
            zone,
            projectId,
            tags,
            bastionEnabled: plan.bastion !== undefined,
            bastionPort: plan.bastion?.port,
            allowedIpRanges: plan.bastion?.allowedIpRanges,
        });
        // Reserved addresses first (Scaleway's advice), so the gateway cannot take a host's.
        this.gatewayNetwork = this.create(
            "gatewayNetwork",
            scaleway.network.GatewayNetwork,
            `${name}-gateway-network`,
            {
                gatewayId: this.publicGateway.id,
                privateNetworkId: this.privateNetwork.id,
                zone,
                enableMasquerade: true,
                ipamConfigs: [{ pushDefaultRoute: true, ipamIpId: gatewayIp.id }],
            },
            { dependsOn: Object.values(this.privateIpReservations) },
        );

        // Servers.
        const sshKeyId = this.useSshKey(
            args.sshKeyId,
            (publicKey) => this.create("sshKey", scaleway.iam.SshKey, `${name}-ssh-key`, { name: `${name}-ssh-key`, publicKey, projectId }),
            (key) => key.id,
        );
        const offer = scaleway.elasticmetal.getOfferOutput({ name: plan.offer, zone, subscriptionPeriod: "hourly" }, this.cloudOptions());
        const image = SCALEWAY_OS_IMAGES[plan.os];
        const os = scaleway.elasticmetal.getOsOutput({ name: image.name, version: image.version, zone }, this.cloudOptions());
        // Another user than the image's needs an offer with cloud-init.
        const cloudInit = userData(plan.sshUser, SCALEWAY_DEFAULTS.sshUser, this.sshPublicKey);
        this.servers = Object.fromEntries(
            plan.hosts.map(({ key }) => [
                key,
                this.create("server", scaleway.elasticmetal.Server, `${name}-${key}`, {
                    name: `${name}-${key}`,
                    zone,
                    offer: offer.apply((o) => requireId("offer", plan.offer, o.offerId)),
                    os: os.apply((o) => requireId("os", plan.os, o.osId)),
                    sshKeyIds: [sshKeyId],
                    projectId,
                    tags,
                    description: `OpenNebula edge host ${key} of ${name}`,
                    cloudInit,
                    privateNetworks: [{ id: this.privateNetwork.id, ipamIpIds: [this.privateIpReservations[key].id] }],
                }),
            ]),
        );
        const publicIpOf = (key: string) =>
            this.servers[key].ipv4s.apply((ips) => {
                const address = ips?.[0]?.address;
                if (!address) throw new Error(`Elastic Metal server ${name}-${key} reports no public IPv4 address`);
                return address;
            });

        // The flexible IPs each host owns, and each host on the private network's VLAN before anything else runs on it.
        this.flexibleIps = {};
        this.privateVlans = {};
        const leases: PublicIpLease[] = [];
        const prefix = plan.privateNetworkCidr.split("/")[1];
        for (const host of plan.hosts) {
            const server = this.servers[host.key];
            this.flexibleIps[host.key] = host.natLeases.map((address, j) => {
                const ip = this.create("flexibleIp", scaleway.elasticmetal.Ip, `${name}-${host.key}-ip-${j}`, {
                    zone,
                    serverId: server.id,
                    projectId,
                    tags,
                    description: `OpenNebula edge ${name}: VMs on ${host.key}`,
                });
                leases.push({
                    host: host.key,
                    address,
                    publicIp: ip.ipAddress.apply(flexibleIpAddress),
                    translated: true,
                    dependsOn: [ip],
                });
                return ip;
            });
            const script = pulumi.all([server.privateNetworks, this.privateNetwork.id]).apply(([attachments, pnId]) =>
                privateVlanScript({
                    vlan: privateNetworkVlan(attachments as { id: string; vlan?: number }[] | undefined, pnId),
                    address: `${host.privateIp}/${prefix}`,
                    uplink: plan.uplinkInterface,
                }),
            );
            this.privateVlans[host.key] = hostCommand(`${name}-${host.key}-private-vlan`, script, {
                parent: this,
                ssh: { port: args.ssh?.port, bastion: args.ssh?.bastion, privateKey: this.sshPrivateKey },
                node: { key: host.key, publicIp: publicIpOf(host.key), sshUser: plan.sshUser, dependsOn: [server] },
                transform: this.transform.privateVlanCommand,
            });
        }

        this.vpcId = this.vpc.id;
        this.privateNetworkId = this.privateNetwork.id;
        this.publicGatewayId = this.publicGateway.id;
        this.connect({
            args,
            sshUser: plan.sshUser,
            hypervisor: plan.hypervisor,
            machines: Object.fromEntries(
                plan.hosts.map((host) => [
                    host.key,
                    {
                        publicIp: publicIpOf(host.key),
                        privateIp: host.privateIp,
                        machineId: this.servers[host.key].id,
                        dependsOn: [this.servers[host.key], this.privateVlans[host.key]],
                    },
                ]),
            ),
            leases,
            forwarding: {
                model: "nat",
                natBy: "host",
                uplinkOf: (key) => plan.uplinkInterface ?? this.privateVlans[key].stdout.apply(uplinkFromOutput),
            },
            privateRange: plan.privateNetworkCidr,
            description: `Scaleway Elastic Metal edge cluster ${name} (${zone})`,
            outputs: { vpcId: this.vpcId, privateNetworkId: this.privateNetworkId, publicGatewayId: this.publicGatewayId, zone, region },
        });
    }
}

/** Fails clearly when a catalogue lookup found nothing (an offer or OS not sold in the zone). */
function requireId(field: string, wanted: string, id: string | undefined): string {
    if (!id) throw new Error(`${field}: Scaleway's catalogue has no ${JSON.stringify(wanted)} in this zone`);
    return id;
}

// ---------------------------------------------------------------------------------------------
// The stack program's view

/**
 * @internal
 * Scaleway for the stack program: one provider per zone (`scaleway-<zone>`; credentials from
 * `scaleway:accessKey`/`secretKey`/`projectId` or the `SCW_*` environment) and one IAM SSH key per
 * project (Scaleway refuses the same public key twice in a project).
 */
export const scalewayCloud = defineCloud({
    cloud: "scaleway",
    settings: scalewaySettings,
    routesPublicIps: true,
    privateRanges: (_name, settings) => [
        { cidr: settings.privateNetworkCidr ?? SCALEWAY_DEFAULTS.privateNetworkCidr, what: "the private network" },
        { cidr: settings.natCidr ?? SCALEWAY_DEFAULTS.natCidr, what: "the NAT range of the flexible IPs' VMs" },
    ],
    build(name, settings, context) {
        const config = context.config("scaleway");
        const provider = context.provider(
            `scaleway-${settings.zone}`,
            () =>
                new scaleway.Provider(`scaleway-${settings.zone}`, {
                    zone: settings.zone,
                    region: scalewayRegionOf(settings.zone),
                    accessKey: config.get("accessKey"),
                    secretKey: config.getSecret("secretKey"),
                    projectId: config.get("projectId"),
                }),
        );
        const projectId = settings.projectId;
        const keyName = typeof projectId === "string" ? `scaleway-ssh-key-${projectId}` : "scaleway-ssh-key";
        const sshKeyId =
            settings.sshKeyId ??
            context.sharedSshKey(
                keyName,
                () =>
                    new scaleway.iam.SshKey(
                        keyName,
                        { name: context.label, publicKey: context.common.ssh!.publicKey!, projectId },
                        { provider },
                    ).id,
            );
        return new ScalewayEdgeCluster(name, { ...settings, ...context.common, provider, sshKeyId });
    },
});
