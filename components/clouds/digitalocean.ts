/**
 * `DigitalOceanEdgeCluster`: an OpenNebula edge cluster on DigitalOcean droplets, the way
 * oneprovision's DigitalOcean provision built it (reference §7.1, §8.3), without oneprovision.
 *
 * Cloud side: a VPC (or an existing one), an SSH key, a tag, one droplet per host in the VPC and a
 * cloud firewall applied through the tag. OpenNebula side: {@link EdgeCluster} configures the
 * droplets over SSH and registers the cluster, hosts, datastores and the public network.
 *
 * Public access is **port forwarding** (`public-forwarding.sh` model `portforward`): VMs take
 * private leases 192.168.23.2… on the hosts' `br0`, and lease *i* is reachable on the public IP of
 * the host it runs on at TCP ports `9000 + 100·i + 1 … + 100` (external `a + k − 1` → VM port *k*).
 * Every host forwards every lease, so a VM is reachable wherever it runs; {@link digitalOceanPortForward}
 * and {@link DigitalOceanEdgeCluster.portForward} answer what `onevm port-forward` answers.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { CloudFirewallRule, FirewallScriptArgs, PortForwardForwardingArgs } from "../edge/host-scripts";
import { portForward } from "../edge/host-scripts";
import { ConfigError, addToIpv4, cidrInside, cidrOf, cidrsOverlap, integerIn, ipv4, ipv4Cidr, ipv4ToNumber, oneOf } from "../validation";
import { checkedBy, inputSchema, schemaOf, textSchema } from "../validation/schema";
import type { CloudArgs, CloudMachine } from "./base";
import { CloudEdgeCluster, checkCloudArgs, hostFirewallOf, parseCloudSettings, userData } from "./base";
import { defineCloud } from "./definition";
import type { CloudFirewallArgs, CloudSettings } from "./settings";
import {
    checkHosts,
    cloudFirewallPlan,
    cloudFirewallSchema,
    commonSettings,
    fnv1a,
    hostsSchema,
    planHosts,
    portText,
    restrictedRules,
    tagTexts,
} from "./settings";

/** Type token of {@link DigitalOceanEdgeCluster}. */
export const DIGITALOCEAN_EDGE_CLUSTER_TYPE = "opennebula-edge:clouds:DigitalOceanEdgeCluster";

/** Regions that accept new droplets and VPCs (the legacy nyc2, ams2 and sfo1 do not). */
export const DIGITALOCEAN_REGIONS = ["ams3", "blr1", "fra1", "lon1", "nyc1", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1"] as const;

/**
 * Droplet sizes accepted: oneprovision's list (without the retired `s-1vcpu-3gb`), the Premium
 * AMD / Intel variants of the basic sizes, and the CPU-optimized, general-purpose and
 * memory-optimized sizes up to 16 vCPUs. A size not offered in the chosen region fails at creation.
 */
export const DIGITALOCEAN_SIZES = [
    "s-1vcpu-1gb",
    "s-1vcpu-2gb",
    "s-2vcpu-2gb",
    "s-2vcpu-4gb",
    "s-4vcpu-8gb",
    "s-8vcpu-16gb",
    "s-1vcpu-1gb-amd",
    "s-1vcpu-2gb-amd",
    "s-2vcpu-2gb-amd",
    "s-2vcpu-4gb-amd",
    "s-4vcpu-8gb-amd",
    "s-8vcpu-16gb-amd",
    "s-1vcpu-1gb-intel",
    "s-1vcpu-2gb-intel",
    "s-2vcpu-2gb-intel",
    "s-2vcpu-4gb-intel",
    "s-4vcpu-8gb-intel",
    "s-8vcpu-16gb-intel",
    "c-2",
    "c-4",
    "c-8",
    "c-16",
    "g-2vcpu-8gb",
    "g-4vcpu-16gb",
    "g-8vcpu-32gb",
    "g-16vcpu-64gb",
    "m-2vcpu-16gb",
    "m-4vcpu-32gb",
    "m-8vcpu-64gb",
    "m-16vcpu-128gb",
] as const;

/** Image slugs the host scripts support (Ubuntu 22.04 / 24.04, Debian 12). A custom image may be given by its numeric id. */
export const DIGITALOCEAN_IMAGES = ["ubuntu-22-04-x64", "ubuntu-24-04-x64", "debian-12-x64"] as const;

/** Hypervisors a droplet can run: `qemu` (KVM driver with emulation) or `lxc`. Droplets have no nested KVM. */
export const DIGITALOCEAN_HYPERVISORS = ["qemu", "lxc"] as const;

/** Defaults of {@link DigitalOceanEdgeClusterArgs}. */
export const DIGITALOCEAN_DEFAULTS = {
    size: "s-2vcpu-4gb",
    image: "ubuntu-22-04-x64",
    hypervisor: "qemu",
    sshUser: "root",
} as const;

/**
 * The port-forwarding public network, as oneprovision's DigitalOcean provision had it: 250 leases
 * from 192.168.23.2 behind gateway 192.168.23.1 on `br0`, 100 TCP ports per lease from 9000.
 * `eth0` is the droplet's public interface (DigitalOcean images name it so; `eth1` is the VPC).
 */
export const DIGITALOCEAN_PORT_FORWARDING = {
    model: "portforward",
    uplink: "eth0",
    bridge: "br0",
    gateway: "192.168.23.1",
    baseIp: "192.168.23.2",
    leases: 250,
    portStart: 9000,
    portSize: 100,
} as const satisfies PortForwardForwardingArgs;

/** The VMs' side of the port-forwarding network; a VPC must not overlap it. */
const VM_NETWORK = "192.168.23.0/24";

/** Ranges DigitalOcean keeps for itself (Kubernetes pods/services and internal services); a VPC must not overlap them. */
export const DIGITALOCEAN_RESERVED_RANGES = ["10.244.0.0/16", "10.245.0.0/16", "10.246.0.0/24", "10.229.0.0/16"] as const;

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
const EVERYWHERE = ["0.0.0.0/0", "::/0"];
const VPC_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------------------------
// Settings: the component's plain arguments, and an edge cluster's keys in stack configuration

/** The settings of a DigitalOcean edge cluster: its own arguments, and an edge cluster's keys in stack configuration. */
export interface DigitalOceanSettings extends CloudSettings {
    /** A region from {@link DIGITALOCEAN_REGIONS}. Required. */
    region: (typeof DIGITALOCEAN_REGIONS)[number];
    /**
     * The hosts by key, e.g. `["kvm-a", "kvm-b"]` (or `{ "kvm-a": {} }`); a host's droplet is
     * `<name>-<key>`. Default: `hostCount` hosts `host-0` …. Droplets need no public IP resources
     * (VMs are reached by port forwarding), so hosts have no per-host settings.
     */
    hosts?: string[] | Record<string, Record<string, never>>;
    /**
     * `qemu` (the KVM driver with full emulation) or `lxc` (system containers). `kvm` is refused:
     * droplets do not expose hardware virtualization. Default `qemu`.
     */
    hypervisor?: (typeof DIGITALOCEAN_HYPERVISORS)[number];
    /** Droplet size from {@link DIGITALOCEAN_SIZES}. Default `s-2vcpu-4gb`. */
    size?: (typeof DIGITALOCEAN_SIZES)[number];
    /**
     * Droplet image: a slug from {@link DIGITALOCEAN_IMAGES}, or the numeric id of a custom image or
     * snapshot built on one of them. Default `ubuntu-22-04-x64`.
     */
    image?: string;
    /**
     * An existing VPC (its id, a UUID) to put the droplets in, instead of creating one. It must be in
     * `region`. Use this in a region that has no VPC yet: see `vpcIpRange`. Default: a new VPC.
     */
    vpcId?: pulumi.Input<string>;
    /**
     * IP range of the VPC created when `vpcId` is not given: an RFC 1918 network from /16 to /24
     * that overlaps no other VPC of the account, no range DigitalOcean reserves
     * ({@link DIGITALOCEAN_RESERVED_RANGES}) and not the VMs' 192.168.23.0/24. Default: a /24 in
     * 172.16.0.0/12 derived from the component name, like oneprovision's `172.<16+…>.<…>.0/24`
     * derived from the cluster id (see {@link defaultVpcIpRange}).
     *
     * **Warning** (from the OpenNebula docs): a VPC created in a region that has no VPC becomes the
     * region's DEFAULT VPC, and DigitalOcean never lets a default VPC be deleted, so `pulumi destroy`
     * fails on it. The component logs a warning whenever it creates a VPC. To avoid it, create a
     * default VPC in the region first (letting DigitalOcean pick its range), or pass `vpcId`.
     */
    vpcIpRange?: string;
    /**
     * The DigitalOcean cloud firewall on the droplets (through the cluster's tag). Restricted mode
     * also opens the forwarded ports 9001–34000/tcp from anywhere (the VMs' services). Default `{ mode: "open" }`.
     */
    cloudFirewall?: CloudFirewallArgs;
}

/** @internal The schema of {@link DigitalOceanSettings}, which the component and the stack program validate with. */
export const digitalOceanSettings = schemaOf<DigitalOceanSettings>()(
    z
        .object({
            region: z.enum(DIGITALOCEAN_REGIONS),
            ...commonSettings,
            hosts: hostsSchema(z.strictObject({})).optional(),
            hypervisor: z
                .enum(DIGITALOCEAN_HYPERVISORS, {
                    error: (issue) =>
                        issue.input === "kvm"
                            ? "kvm needs hardware virtualization, which DigitalOcean droplets do not expose (no nested KVM); use qemu (emulation, the default) or lxc"
                            : undefined,
                })
                .optional(),
            size: z.enum(DIGITALOCEAN_SIZES).optional(),
            image: checkedBy(z.string(), (image) => /^[1-9][0-9]{0,11}$/.test(image) || oneOf("", image, DIGITALOCEAN_IMAGES)).optional(),
            vpcId: inputSchema(
                textSchema("a VPC id (a UUID such as 5a4981aa-9653-4bd1-bef5-d6bff52042e4)").regex(
                    VPC_ID,
                    "must be a VPC id (a UUID such as 5a4981aa-9653-4bd1-bef5-d6bff52042e4)",
                ),
            ).optional(),
            vpcIpRange: checkedBy(z.string(), checkVpcIpRange).optional(),
            cloudFirewall: cloudFirewallSchema.optional(),
        })
        .superRefine((settings, ctx) => {
            if (ctx.issues.length > 0) return; // the rules across settings need each setting valid on its own
            checkHosts(settings, ctx, { maxPublicIps: 0, quota: "DigitalOcean VMs are reached by port forwarding" });
            if (settings.vpcId !== undefined && settings.vpcIpRange !== undefined) {
                ctx.addIssue({
                    code: "custom",
                    path: ["vpcIpRange"],
                    message: "applies only to a new VPC; give either vpcId (an existing VPC) or vpcIpRange (a new one), not both",
                });
            }
        }),
);

/**
 * The kinds of children of {@link DigitalOceanEdgeCluster} that take a `transform`, and their
 * arguments: `vpc` (`${name}-vpc`), `sshKey` (`${name}-ssh-key`), `tag` (`${name}-tag`), `droplet`
 * (`${name}-<host>`) and `firewall` (`${name}-firewall`).
 */
export interface DigitalOceanChildren {
    vpc: digitalocean.VpcArgs;
    sshKey: digitalocean.SshKeyArgs;
    tag: digitalocean.TagArgs;
    droplet: digitalocean.DropletArgs;
    firewall: digitalocean.FirewallArgs;
}

/** Arguments of {@link DigitalOceanEdgeCluster}: the settings, the provider, SSH, the front-end and the escape hatches. */
export type DigitalOceanEdgeClusterArgs = CloudArgs<DigitalOceanSettings, digitalocean.Provider, DigitalOceanChildren>;

/** The arguments of a {@link DigitalOceanEdgeCluster}, checked, with their defaults applied. */
export interface DigitalOceanPlan {
    region: (typeof DIGITALOCEAN_REGIONS)[number];
    hosts: string[];
    size: string;
    image: string;
    hypervisor: (typeof DIGITALOCEAN_HYPERVISORS)[number];
    /** The range of the VPC to create; undefined when `vpcId` is given. */
    vpcIpRange?: string;
    cloudFirewall: ReturnType<typeof cloudFirewallPlan>;
    sshUser: string;
}

/** Where a VM's internal port is reached from outside: the host's public IP and the external TCP port. */
export interface PortForwardAnswer {
    host: string;
    port: number;
}

/**
 * Checks the arguments of a {@link DigitalOceanEdgeCluster} and applies the defaults. Pure.
 *
 * @throws ConfigError naming the field and what is allowed.
 */
export function planDigitalOceanCluster(name: string, args: DigitalOceanEdgeClusterArgs): DigitalOceanPlan {
    checkCloudArgs(args, "digitalocean");
    const settings = parseCloudSettings(digitalOceanSettings, args);
    return {
        region: settings.region,
        hosts: planHosts(settings).map((host) => host.key),
        size: settings.size ?? DIGITALOCEAN_DEFAULTS.size,
        image: settings.image ?? DIGITALOCEAN_DEFAULTS.image,
        hypervisor: settings.hypervisor ?? DIGITALOCEAN_DEFAULTS.hypervisor,
        vpcIpRange: settings.vpcId === undefined ? (settings.vpcIpRange ?? defaultVpcIpRange(name)) : undefined,
        cloudFirewall: cloudFirewallPlan(settings.cloudFirewall),
        sshUser: settings.sshUser ?? DIGITALOCEAN_DEFAULTS.sshUser,
    };
}

/** A VPC range DigitalOcean accepts: private, /16 to /24, clear of its reserved ranges and of the VMs' network. */
function checkVpcIpRange(value: string): void {
    const range = ipv4Cidr("", value, 16, 24);
    if (!PRIVATE_RANGES.some((privateRange) => cidrInside(range, cidrOf(privateRange)))) {
        throw new ConfigError("", `must lie in a private range (${PRIVATE_RANGES.join(", ")}) (got ${range.cidr})`);
    }
    const clash = [VM_NETWORK, ...DIGITALOCEAN_RESERVED_RANGES].find((other) => cidrsOverlap(range, cidrOf(other)));
    if (clash !== undefined) {
        const why = clash === VM_NETWORK ? "the VMs' port-forwarding network" : "a range DigitalOcean reserves";
        throw new ConfigError("", `${range.cidr} overlaps ${clash}, ${why}; pick another private range`);
    }
}

/**
 * The default VPC range: `172.<16 + (h >> 8)>.<h & 255>.0/24` for a 12-bit hash `h` of the component
 * name — oneprovision's formula with the name in place of the cluster id (unknown before the
 * OpenNebula cluster exists). Distinct names almost always get distinct ranges (4096 of them);
 * DigitalOcean rejects a range that overlaps another VPC of the account, so pass `vpcIpRange`
 * when it does.
 */
export function defaultVpcIpRange(name: string): string {
    const hash = fnv1a(name);
    const h = (hash ^ (hash >>> 12) ^ (hash >>> 24)) & 0xfff;
    return `172.${16 + (h >> 8)}.${h & 0xff}.0/24`;
}

// ---------------------------------------------------------------------------------------------
// Port forwarding: what `onevm port-forward` answers

/**
 * Index of a lease in the port-forwarding address range, from the index itself (0–249) or the
 * VM's address (192.168.23.2–192.168.23.251).
 */
export function leaseIndexOf(lease: number | string): number {
    const { baseIp, leases } = DIGITALOCEAN_PORT_FORWARDING;
    if (typeof lease === "number") return integerIn("lease", lease, 0, leases - 1);
    const index = typeof lease === "string" ? ipv4ToNumber(ipv4("lease", lease)) - ipv4ToNumber(baseIp) : -1;
    if (index >= 0 && index < leases) return index;
    throw new ConfigError(
        "lease",
        `must be a lease index from 0 to ${leases - 1} or a VM address from ${baseIp} to ${addToIpv4(baseIp, leases - 1)} (got ${JSON.stringify(lease)})`,
    );
}

/**
 * What `onevm port-forward <vm> <port>` answers on a DigitalOcean edge cluster: the public IP of the
 * host the VM runs on and the external TCP port that reaches `internalPort` (1–100) of the VM with
 * that lease. Lease 0: port 80 → 9080, port 22 → 9022.
 */
export function digitalOceanPortForward(hostPublicIp: string, lease: number | string, internalPort: number): PortForwardAnswer {
    const { portStart, portSize } = DIGITALOCEAN_PORT_FORWARDING;
    integerIn("internalPort", internalPort, 1, portSize);
    return portForward({ hostPublicIp, leaseIndex: leaseIndexOf(lease), internalPort, portStart, portSize });
}

/** The TCP ports forwarded to the VMs on every host: `first`–`last` (9001–34000). */
export function forwardedPortRange(): { first: number; last: number } {
    const { portStart, portSize, leases } = DIGITALOCEAN_PORT_FORWARDING;
    return { first: portStart + 1, last: portStart + leases * portSize };
}

/** The OpenNebula public network: one address range carrying every lease, with the port ranges. */
export function portForwardAddressRange(): Record<string, string | number> {
    const { baseIp, leases, gateway, portStart, portSize } = DIGITALOCEAN_PORT_FORWARDING;
    return { TYPE: "IP4", IP: baseIp, SIZE: leases, GATEWAY: gateway, PORT_START: portStart, PORT_SIZE: portSize };
}

// ---------------------------------------------------------------------------------------------
// Cloud resources' inputs (pure)

/** A name DigitalOcean accepts for droplets, VPCs, tags and firewalls: lower-case letters, digits and `-`. */
export function digitalOceanName(name: string): string {
    const cleaned = name
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, "-")
        .replace(/-{2,}/g, "-")
        .replace(/^-+|-+$/g, "")
        .slice(0, 40)
        .replace(/-+$/, "");
    return cleaned || "edge";
}

type InboundRule = digitalocean.types.input.FirewallInboundRule;
type OutboundRule = digitalocean.types.input.FirewallOutboundRule;

/**
 * Inbound rules of the cloud firewall: everything (`open`), or the hosts' allow-list
 * (`hostFirewall`, see `hostFirewallOf`) plus the VMs' forwarded ports (`restricted`).
 */
export function firewallInboundRules(firewall: DigitalOceanPlan["cloudFirewall"], hostFirewall: FirewallScriptArgs): InboundRule[] {
    if (firewall.mode === "open") {
        return [
            { protocol: "tcp", portRange: "1-65535", sourceAddresses: EVERYWHERE },
            { protocol: "udp", portRange: "1-65535", sourceAddresses: EVERYWHERE },
            { protocol: "icmp", sourceAddresses: EVERYWHERE },
        ];
    }
    const { first, last } = forwardedPortRange();
    const forwarded: CloudFirewallRule = {
        key: "forwarded",
        protocol: "tcp",
        fromPort: first,
        toPort: last,
        sources: EVERYWHERE,
        description: "the VMs' forwarded ports",
    };
    return restrictedRules(firewall, hostFirewall, [forwarded]).map((rule) => {
        const portRange = portText(rule, "-");
        return { protocol: rule.protocol, ...(portRange === undefined ? {} : { portRange }), sourceAddresses: rule.sources };
    });
}

/** Outbound rules: everything, in both modes (package repositories, the front-end, the overlay). */
export function firewallOutboundRules(): OutboundRule[] {
    return [
        { protocol: "tcp", portRange: "1-65535", destinationAddresses: EVERYWHERE },
        { protocol: "udp", portRange: "1-65535", destinationAddresses: EVERYWHERE },
        { protocol: "icmp", destinationAddresses: EVERYWHERE },
    ];
}

/** The warning logged when the component creates a VPC. */
export function vpcDefaultWarning(region: string, ipRange: string): string {
    return (
        `Creating a VPC (${ipRange}) in ${region}: if ${region} has no VPC yet, DigitalOcean makes this one the region's DEFAULT VPC, ` +
        "which can never be deleted (pulumi destroy will fail on it). To avoid that, create a default VPC in the region first " +
        "(letting DigitalOcean pick its range), or pass vpcId to use an existing VPC."
    );
}

// ---------------------------------------------------------------------------------------------
// The component

/**
 * An OpenNebula edge cluster on DigitalOcean: droplets in a VPC, a cloud firewall, an SSH key, and
 * public access by port forwarding on every host (see the module comment).
 *
 * Children: `${name}-vpc` (unless `vpcId`), `${name}-ssh-key` (unless `sshKeyId`), `${name}-tag`,
 * `${name}-<host>` per host, `${name}-firewall`, and the {@link EdgeCluster} `${name}-one`. The
 * firewall is applied through the tag, since a DigitalOcean firewall takes at most 10 droplets by
 * id. Limits: DigitalOcean's droplet quota of the account (often 10 or 25) caps the hosts; only TCP
 * is forwarded to the VMs; VPC ranges must not overlap within the account; lease 75's ports
 * 16501–16600 include libvirt's 16509/16514, so those reach that VM on every address of a host
 * (OpenNebula's live migration goes over SSH and 49152–49215, unaffected).
 */
export class DigitalOceanEdgeCluster extends CloudEdgeCluster<DigitalOceanChildren, digitalocean.SshKey> {
    /** The arguments, checked, with their defaults. */
    readonly plan: DigitalOceanPlan;
    /** The VPC the droplets are in (new or given). */
    readonly vpcId: pulumi.Output<string>;
    /** Its IP range. */
    readonly vpcIpRange: pulumi.Output<string>;
    /** The cloud firewall's id. */
    readonly firewallId: pulumi.Output<string>;
    /** Fingerprint of the SSH key on the droplets (new or given). */
    readonly sshKeyFingerprint: pulumi.Output<string>;
    /** The created VPC (undefined with `vpcId`). */
    readonly vpc?: digitalocean.Vpc;
    /** The tag on every droplet, through which the firewall applies. */
    readonly tag: digitalocean.Tag;
    /** The droplets, per host key. */
    readonly droplets: Record<string, digitalocean.Droplet>;
    /** The cloud firewall. */
    readonly firewall: digitalocean.Firewall;

    constructor(name: string, args: DigitalOceanEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planDigitalOceanCluster(name, args);
        super(DIGITALOCEAN_EDGE_CLUSTER_TYPE, name, args, opts);
        this.plan = plan;
        const base = digitalOceanName(name);

        if (plan.vpcIpRange !== undefined) {
            pulumi.log.warn(vpcDefaultWarning(plan.region, plan.vpcIpRange), this);
            this.vpc = this.create("vpc", digitalocean.Vpc, `${name}-vpc`, {
                name: `${base}-vpc`,
                region: plan.region,
                ipRange: plan.vpcIpRange,
                description: `OpenNebula edge cluster ${name}`,
            });
            this.vpcId = this.vpc.id;
            this.vpcIpRange = this.vpc.ipRange;
        } else {
            this.vpcId = pulumi.output(args.vpcId!);
            this.vpcIpRange = digitalocean.getVpcOutput({ id: args.vpcId }, this.cloudOptions()).ipRange;
        }
        this.sshKeyFingerprint = pulumi.output(
            this.useSshKey(
                args.sshKeyId,
                (publicKey) => this.create("sshKey", digitalocean.SshKey, `${name}-ssh-key`, { name: base, publicKey }),
                (key) => key.fingerprint,
            ),
        );
        this.tag = this.create("tag", digitalocean.Tag, `${name}-tag`, { name: `one-edge-${base}` });

        const cloudInit = userData(plan.sshUser, DIGITALOCEAN_DEFAULTS.sshUser, this.sshPublicKey);
        this.droplets = Object.fromEntries(
            plan.hosts.map((key) => [
                key,
                this.create("droplet", digitalocean.Droplet, `${name}-${key}`, {
                    name: `${base}-${key}`,
                    region: plan.region,
                    size: plan.size,
                    image: plan.image,
                    vpcUuid: this.vpcId,
                    sshKeys: [this.sshKeyFingerprint],
                    tags: [this.tag.name, ...tagTexts(args.tags)],
                    userData: cloudInit,
                }),
            ]),
        );
        this.firewall = this.create("firewall", digitalocean.Firewall, `${name}-firewall`, {
            name: `${base}-edge`,
            tags: [this.tag.name],
            inboundRules: pulumi
                .output(plan.vpcIpRange ?? this.vpcIpRange)
                .apply((range) => firewallInboundRules(plan.cloudFirewall, hostFirewallOf(args, range))),
            outboundRules: firewallOutboundRules(),
        });
        this.firewallId = this.firewall.id;

        this.connect({
            args,
            sshUser: plan.sshUser,
            hypervisor: plan.hypervisor,
            machines: Object.fromEntries(
                plan.hosts.map((key): [string, CloudMachine] => {
                    const droplet = this.droplets[key];
                    return [
                        key,
                        {
                            publicIp: droplet.ipv4Address,
                            privateIp: droplet.ipv4AddressPrivate,
                            machineId: droplet.id,
                            dependsOn: [droplet],
                        },
                    ];
                }),
            ),
            leases: [],
            forwarding: DIGITALOCEAN_PORT_FORWARDING,
            privateRange: plan.vpcIpRange ?? this.vpcIpRange,
            publicNetwork: {
                template: {
                    BRIDGE: DIGITALOCEAN_PORT_FORWARDING.bridge,
                    NETWORK_ADDRESS: "192.168.23.0",
                    NETWORK_MASK: "255.255.255.0",
                    EDGE_PUBLIC_MODEL: "portforward",
                },
                addressRanges: [portForwardAddressRange()],
            },
            description: `DigitalOcean edge cluster in ${plan.region} (pulumi-opennebula-edge)`,
            outputs: {
                vpcId: this.vpcId,
                vpcIpRange: this.vpcIpRange,
                firewallId: this.firewallId,
                sshKeyFingerprint: this.sshKeyFingerprint,
            },
        });
    }

    /**
     * What `onevm port-forward` answers for a VM on this cluster: the public IP of the host it runs
     * on (`hostKey`) and the external TCP port reaching `internalPort` (1–100) of the VM with that
     * lease (index 0–249, or its address 192.168.23.x). Arguments are checked now.
     */
    portForward(hostKey: string, lease: number | string, internalPort: number): pulumi.Output<PortForwardAnswer> {
        oneOf("hostKey", hostKey, Object.keys(this.droplets));
        leaseIndexOf(lease);
        integerIn("internalPort", internalPort, 1, DIGITALOCEAN_PORT_FORWARDING.portSize);
        return this.droplets[hostKey].ipv4Address.apply((ip) => digitalOceanPortForward(ip, lease, internalPort));
    }
}

// ---------------------------------------------------------------------------------------------
// The stack program's view

/**
 * @internal
 * DigitalOcean for the stack program: one provider per region (`digitalocean-<region>`, token from
 * `digitalocean:token` or `DIGITALOCEAN_TOKEN`) and one SSH key for the whole account (DigitalOcean
 * refuses the same public key twice).
 */
export const digitalOceanCloud = defineCloud({
    cloud: "digitalocean",
    settings: digitalOceanSettings,
    routesPublicIps: false,
    privateRanges: (name, settings) => [
        ...(settings.vpcId === undefined ? [{ cidr: settings.vpcIpRange ?? defaultVpcIpRange(name), what: "the VPC" }] : []),
        { cidr: VM_NETWORK, what: "the VMs' port-forwarding network" },
    ],
    build(name, settings, context) {
        const provider = context.provider(
            `digitalocean-${settings.region}`,
            () =>
                new digitalocean.Provider(`digitalocean-${settings.region}`, { token: context.config("digitalocean").getSecret("token") }),
        );
        const sshKeyId =
            settings.sshKeyId ??
            context.sharedSshKey(
                "digitalocean-ssh-key",
                () =>
                    new digitalocean.SshKey(
                        "digitalocean-ssh-key",
                        { name: context.label, publicKey: context.common.ssh!.publicKey! },
                        { provider },
                    ).fingerprint,
            );
        return new DigitalOceanEdgeCluster(name, { ...settings, ...context.common, provider, sshKeyId });
    },
});
