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
import ipaddr from "ipaddr.js";
import { EdgeCluster } from "../edge/edge-cluster";
import { Hypervisor, PortForwardForwardingArgs, portForward } from "../edge/host-scripts";
import type { EdgeHost } from "../edge/types";
import {
    CloudEdgeClusterArgs, EdgeConfigError, addToIpv4, hostKeys, isPlain, requireIntegerIn, requireIpv4Cidr, requireOneOf,
    validateCommonArgs,
} from "./common";

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
    "s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-2gb", "s-2vcpu-4gb", "s-4vcpu-8gb", "s-8vcpu-16gb",
    "s-1vcpu-1gb-amd", "s-1vcpu-2gb-amd", "s-2vcpu-2gb-amd", "s-2vcpu-4gb-amd", "s-4vcpu-8gb-amd", "s-8vcpu-16gb-amd",
    "s-1vcpu-1gb-intel", "s-1vcpu-2gb-intel", "s-2vcpu-2gb-intel", "s-2vcpu-4gb-intel", "s-4vcpu-8gb-intel", "s-8vcpu-16gb-intel",
    "c-2", "c-4", "c-8", "c-16",
    "g-2vcpu-8gb", "g-4vcpu-16gb", "g-8vcpu-32gb", "g-16vcpu-64gb",
    "m-2vcpu-16gb", "m-4vcpu-32gb", "m-8vcpu-64gb", "m-16vcpu-128gb",
] as const;

/** Image slugs the host scripts support (Ubuntu 22.04 / 24.04, Debian 12). A custom image may be given by its numeric id. */
export const DIGITALOCEAN_IMAGES = ["ubuntu-22-04-x64", "ubuntu-24-04-x64", "debian-12-x64"] as const;

/** Hypervisors a droplet can run: `qemu` (KVM driver with emulation) or `lxc`. Droplets have no nested KVM. */
export const DIGITALOCEAN_HYPERVISORS = ["qemu", "lxc"] as const;

/** Cloud firewall modes: `open` allows all traffic (as oneprovision did), `restricted` only what the cluster needs. */
export const DIGITALOCEAN_FIREWALL_MODES = ["open", "restricted"] as const;

/** Defaults of {@link DigitalOceanEdgeClusterArgs}. */
export const DIGITALOCEAN_DEFAULTS = {
    size: "s-2vcpu-4gb",
    image: "ubuntu-22-04-x64",
    hypervisor: "qemu",
    cloudFirewall: "open",
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
const WIREGUARD_PORT = 51820;
const EVERYWHERE = ["0.0.0.0/0", "::/0"];

/** Arguments of {@link DigitalOceanEdgeCluster}. */
export interface DigitalOceanEdgeClusterArgs extends CloudEdgeClusterArgs {
    /**
     * The DigitalOcean provider (API token) every cloud resource is created with. Required: the
     * default provider is never used, so several accounts or regions can live in one program.
     */
    provider: digitalocean.Provider;
    /** A region from {@link DIGITALOCEAN_REGIONS}. Required. */
    region: string;
    /** Droplet size from {@link DIGITALOCEAN_SIZES}. Default `s-2vcpu-4gb`. */
    size?: string;
    /**
     * Droplet image: a slug from {@link DIGITALOCEAN_IMAGES}, or the numeric id of a custom image or
     * snapshot built on one of them. Default `ubuntu-22-04-x64`.
     */
    image?: string;
    /**
     * `qemu` (the KVM driver with full emulation) or `lxc` (system containers). `kvm` is rejected:
     * droplets do not expose hardware virtualization. Default `qemu`.
     */
    hypervisor?: Exclude<Hypervisor, "kvm">;
    /**
     * An existing VPC (its id) to put the droplets in, instead of creating one. It must be in
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
     * The DigitalOcean cloud firewall applied to the droplets. `open`: all inbound and outbound
     * traffic allowed, as oneprovision did (the host firewall still applies). `restricted`: inbound
     * only SSH 22/tcp, WireGuard 51820/udp, the forwarded ports 9001–34000/tcp and ICMP from
     * anywhere, and BGP 179/tcp, VXLAN 8472/udp, libvirt 16509,16514/tcp and live migration
     * 49152–49215/tcp from inside the VPC; all outbound traffic allowed. Default `open`.
     */
    cloudFirewall?: (typeof DIGITALOCEAN_FIREWALL_MODES)[number];
    /**
     * The user SSH and the front-end log in as. `root` uses the droplet's root login with the SSH
     * key; any other name is created by cloud-init with passwordless sudo and `ssh.publicKey`. Default `root`.
     */
    sshUser?: string;
    /**
     * Fingerprint (or id) of an SSH key already in the account, holding `ssh.publicKey`, to use
     * instead of creating one. DigitalOcean refuses the same public key twice in one account, so a
     * second edge cluster with the same key must pass the first one's `sshKeyFingerprint` here.
     * Default: a new `digitalocean.SshKey` from `ssh.publicKey`.
     */
    sshKeyFingerprint?: pulumi.Input<string>;
}

/** The arguments of {@link DigitalOceanEdgeCluster} with their defaults applied. */
export interface ResolvedDigitalOceanArgs {
    hostCount: number;
    size: string;
    image: string;
    hypervisor: Exclude<Hypervisor, "kvm">;
    /** The range of the VPC to create; undefined when `vpcId` is given. */
    vpcIpRange?: string;
    cloudFirewall: (typeof DIGITALOCEAN_FIREWALL_MODES)[number];
    sshUser: string;
    dns: string;
}

/** Where a VM's internal port is reached from outside: the host's public IP and the external TCP port. */
export interface PortForwardAnswer {
    host: string;
    port: number;
}

// ---------------------------------------------------------------------------------------------
// Validation (pure; runs before anything is registered)

/**
 * Checks the arguments of a {@link DigitalOceanEdgeCluster} and applies the defaults. Throws an
 * {@link EdgeConfigError} naming the field and what is allowed.
 */
export function validateDigitalOceanArgs(name: string, args: DigitalOceanEdgeClusterArgs): ResolvedDigitalOceanArgs {
    if (!args) throw new EdgeConfigError("args", "are required");
    if (!digitalocean.Provider.isInstance(args.provider)) {
        throw new EdgeConfigError("provider", "must be a digitalocean.Provider (the default provider is never used)");
    }
    if (args.hypervisor === ("kvm" as string)) {
        throw new EdgeConfigError("hypervisor", "kvm needs hardware virtualization, which DigitalOcean droplets do not expose (no nested KVM); use qemu (emulation, the default) or lxc");
    }
    const hostCount = validateCommonArgs(args, DIGITALOCEAN_REGIONS, DIGITALOCEAN_HYPERVISORS);
    const size = args.size ?? DIGITALOCEAN_DEFAULTS.size;
    requireOneOf("size", size, DIGITALOCEAN_SIZES);
    const image = args.image ?? DIGITALOCEAN_DEFAULTS.image;
    if (!/^[1-9][0-9]{0,11}$/.test(String(image))) requireOneOf("image", image, DIGITALOCEAN_IMAGES);
    const cloudFirewall = args.cloudFirewall ?? DIGITALOCEAN_DEFAULTS.cloudFirewall;
    requireOneOf("cloudFirewall", cloudFirewall, DIGITALOCEAN_FIREWALL_MODES);
    const sshUser = args.sshUser ?? DIGITALOCEAN_DEFAULTS.sshUser;
    if (typeof sshUser !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser)) {
        throw new EdgeConfigError("sshUser", `must be a Linux user name: a lower-case letter or "_", then up to 31 lower-case letters, digits, "_" or "-" (got ${JSON.stringify(sshUser)})`);
    }
    if (isPlain(args.ssh.publicKey) && !/^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/.test(String(args.ssh.publicKey).trim())) {
        throw new EdgeConfigError("ssh.publicKey", "must be one OpenSSH public key line \"TYPE BASE64 [COMMENT]\" (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521)");
    }
    if (args.sshKeyFingerprint !== undefined && isPlain(args.sshKeyFingerprint) && String(args.sshKeyFingerprint).trim() === "") {
        throw new EdgeConfigError("sshKeyFingerprint", "must be the fingerprint or id of an SSH key of the account when given");
    }
    return { hostCount, size, image, hypervisor: args.hypervisor ?? DIGITALOCEAN_DEFAULTS.hypervisor, vpcIpRange: resolveVpcIpRange(name, args), cloudFirewall, sshUser, dns: args.dns ?? "1.1.1.1" };
}

/** The range of the VPC to create (validated), or undefined when an existing VPC is used. */
function resolveVpcIpRange(name: string, args: DigitalOceanEdgeClusterArgs): string | undefined {
    if (args.vpcId !== undefined) {
        if (args.vpcIpRange !== undefined) throw new EdgeConfigError("vpcIpRange", "applies only to a new VPC; give either vpcId (an existing VPC) or vpcIpRange (a new one), not both");
        if (isPlain(args.vpcId) && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(String(args.vpcId))) {
            throw new EdgeConfigError("vpcId", `must be a VPC id (a UUID such as 5a4981aa-9653-4bd1-bef5-d6bff52042e4) (got ${JSON.stringify(args.vpcId)})`);
        }
        return undefined;
    }
    if (args.vpcIpRange === undefined) return defaultVpcIpRange(name);
    const range = requireIpv4Cidr("vpcIpRange", args.vpcIpRange, 16, 24);
    if (!PRIVATE_RANGES.some((privateRange) => cidrInside(range, privateRange))) {
        throw new EdgeConfigError("vpcIpRange", `must lie in a private range (${PRIVATE_RANGES.join(", ")}) (got ${range})`);
    }
    const clash = [VM_NETWORK, ...DIGITALOCEAN_RESERVED_RANGES].find((other) => cidrsOverlap(range, other));
    if (clash !== undefined) {
        const why = clash === VM_NETWORK ? "the VMs' port-forwarding network" : "a range DigitalOcean reserves";
        throw new EdgeConfigError("vpcIpRange", `${range} overlaps ${clash}, ${why}; pick another private range`);
    }
    return range;
}

/**
 * The default VPC range: `172.<16 + (h >> 8)>.<h & 255>.0/24` for a 12-bit hash `h` of the component
 * name — oneprovision's formula with the name in place of the cluster id (unknown before the
 * OpenNebula cluster exists). Distinct names almost always get distinct ranges (4096 of them);
 * DigitalOcean rejects a range that overlaps another VPC of the account, so pass `vpcIpRange`
 * when it does.
 */
export function defaultVpcIpRange(name: string): string {
    let hash = 0x811c9dc5; // FNV-1a, 32 bits
    for (const byte of Buffer.from(name, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    const h = (hash ^ (hash >>> 12) ^ (hash >>> 24)) & 0xfff;
    return `172.${16 + (h >> 8)}.${h & 0xff}.0/24`;
}

function cidrInside(inner: string, outer: string): boolean {
    const [address, prefix] = ipaddr.IPv4.parseCIDR(inner);
    const [outerAddress, outerPrefix] = ipaddr.IPv4.parseCIDR(outer);
    return prefix >= outerPrefix && address.match(outerAddress, outerPrefix);
}

function cidrsOverlap(a: string, b: string): boolean {
    return cidrInside(a, b) || cidrInside(b, a);
}

// ---------------------------------------------------------------------------------------------
// Port forwarding: what `onevm port-forward` answers

/**
 * Index of a lease in the port-forwarding address range, from the index itself (0–249) or the
 * VM's address (192.168.23.2–192.168.23.251).
 */
export function leaseIndexOf(lease: number | string): number {
    const { baseIp, leases } = DIGITALOCEAN_PORT_FORWARDING;
    if (typeof lease === "number") return requireIntegerIn("lease", lease, 0, leases - 1);
    if (typeof lease === "string" && ipaddr.IPv4.isValidFourPartDecimal(lease)) {
        const index = ipToNumber(lease) - ipToNumber(baseIp);
        if (index >= 0 && index < leases) return index;
    }
    throw new EdgeConfigError("lease", `must be a lease index from 0 to ${leases - 1} or a VM address from ${baseIp} to ${addToIpv4(baseIp, leases - 1)} (got ${JSON.stringify(lease)})`);
}

/**
 * What `onevm port-forward <vm> <port>` answers on a DigitalOcean edge cluster: the public IP of the
 * host the VM runs on and the external TCP port that reaches `internalPort` (1–100) of the VM with
 * that lease. Lease 0: port 80 → 9080, port 22 → 9022.
 */
export function digitalOceanPortForward(hostPublicIp: string, lease: number | string, internalPort: number): PortForwardAnswer {
    const { portStart, portSize } = DIGITALOCEAN_PORT_FORWARDING;
    requireIntegerIn("internalPort", internalPort, 1, portSize);
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

function ipToNumber(ip: string): number {
    return ipaddr.IPv4.parse(ip).octets.reduce((n, octet) => n * 256 + octet, 0);
}

// ---------------------------------------------------------------------------------------------
// Cloud resources' inputs (pure)

/** A name DigitalOcean accepts for droplets, VPCs, tags and firewalls: lower-case letters, digits and `-`. */
export function digitalOceanName(name: string): string {
    const cleaned = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-{2,}/g, "-").replace(/^-+|-+$/g, "").slice(0, 40).replace(/-+$/, "");
    return cleaned || "edge";
}

/**
 * Cloud-config that creates `user` with passwordless sudo and the public key (JSON, which YAML
 * reads as is, so the key is quoted correctly whatever it contains). `root` needs none: the
 * droplet's SSH key gives root access.
 */
export function cloudConfig(user: string, publicKey: string): string | undefined {
    if (user === "root") return undefined;
    const config = {
        users: ["default", { name: user, groups: "sudo", shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: [publicKey.trim()] }],
    };
    return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}

type InboundRule = digitalocean.types.input.FirewallInboundRule;
type OutboundRule = digitalocean.types.input.FirewallOutboundRule;

/** Inbound rules of the cloud firewall for a mode; `vpcRange` is where cluster-internal traffic comes from. */
export function firewallInboundRules(mode: ResolvedDigitalOceanArgs["cloudFirewall"], vpcRange: pulumi.Input<string>): InboundRule[] {
    if (mode === "open") {
        return [
            { protocol: "tcp", portRange: "1-65535", sourceAddresses: EVERYWHERE },
            { protocol: "udp", portRange: "1-65535", sourceAddresses: EVERYWHERE },
            { protocol: "icmp", sourceAddresses: EVERYWHERE },
        ];
    }
    const { first, last } = forwardedPortRange();
    const insideVpc = [vpcRange];
    return [
        { protocol: "tcp", portRange: "22", sourceAddresses: EVERYWHERE },
        { protocol: "udp", portRange: String(WIREGUARD_PORT), sourceAddresses: EVERYWHERE },
        { protocol: "tcp", portRange: `${first}-${last}`, sourceAddresses: EVERYWHERE },
        { protocol: "icmp", sourceAddresses: EVERYWHERE },
        { protocol: "tcp", portRange: "179", sourceAddresses: insideVpc },
        { protocol: "udp", portRange: "8472", sourceAddresses: insideVpc },
        { protocol: "tcp", portRange: "16509", sourceAddresses: insideVpc },
        { protocol: "tcp", portRange: "16514", sourceAddresses: insideVpc },
        { protocol: "tcp", portRange: "49152-49215", sourceAddresses: insideVpc },
    ];
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
    return `Creating a VPC (${ipRange}) in ${region}: if ${region} has no VPC yet, DigitalOcean makes this one the region's DEFAULT VPC, ` +
        "which can never be deleted (pulumi destroy will fail on it). To avoid that, create a default VPC in the region first " +
        "(letting DigitalOcean pick its range), or pass vpcId to use an existing VPC.";
}

// ---------------------------------------------------------------------------------------------
// The component

/**
 * An OpenNebula edge cluster on DigitalOcean: droplets in a VPC, a cloud firewall, an SSH key, and
 * public access by port forwarding on every host (see the module comment).
 *
 * Children: `${name}-vpc` (unless `vpcId`), `${name}-ssh-key` (unless `sshKeyFingerprint`),
 * `${name}-tag`, `${name}-host-<i>`, `${name}-firewall`, and the {@link EdgeCluster} `${name}-one`.
 * The firewall is applied through the tag, since a DigitalOcean firewall takes at most 10
 * droplets by id. Limits: DigitalOcean's droplet quota of the account (often 10 or 25) caps
 * `hostCount`; only TCP is forwarded to the VMs; VPC ranges must not overlap within the account;
 * lease 75's ports 16501–16600 include libvirt's 16509/16514, so those reach that VM on every
 * address of a host (OpenNebula's live migration goes over SSH and 49152–49215, unaffected).
 */
export class DigitalOceanEdgeCluster extends pulumi.ComponentResource {
    /** The OpenNebula cluster ID. */
    readonly clusterId: pulumi.Output<number>;
    /** OpenNebula host ID per host key (`host-0` …). */
    readonly hostIds: pulumi.Output<Record<string, number>>;
    /** The address each host is registered with in OpenNebula (its public IP), per host key. */
    readonly hostAddresses: pulumi.Output<Record<string, string>>;
    /** IDs of the image and system datastores. */
    readonly datastoreIds: pulumi.Output<{ image?: number; system?: number }>;
    /** ID of the OpenNebula public (port-forwarding) network. */
    readonly publicNetworkId: pulumi.Output<number | undefined>;
    /** Droplet id per host key. */
    readonly dropletIds: pulumi.Output<Record<string, string>>;
    /** Public IPv4 address per host key. */
    readonly publicIps: pulumi.Output<Record<string, string>>;
    /** VPC address per host key. */
    readonly privateIps: pulumi.Output<Record<string, string>>;
    /** Host key per public IP: VMs are reached on the public IP of the host they run on. */
    readonly publicIpHosts: pulumi.Output<Record<string, string>>;
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
    /** The created SSH key (undefined with `sshKeyFingerprint`). */
    readonly sshKey?: digitalocean.SshKey;
    /** The tag on every droplet, through which the firewall applies. */
    readonly tag: digitalocean.Tag;
    /** The droplets, per host key. */
    readonly droplets: Record<string, digitalocean.Droplet>;
    /** The cloud firewall. */
    readonly firewall: digitalocean.Firewall;
    /** The cloud-independent core: host configuration and OpenNebula registration. */
    readonly edge: EdgeCluster;

    constructor(name: string, args: DigitalOceanEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateDigitalOceanArgs(name, args);
        super(DIGITALOCEAN_EDGE_CLUSTER_TYPE, name, {}, opts);
        const cloud = { parent: this, provider: args.provider };
        const base = digitalOceanName(name);

        if (settings.vpcIpRange !== undefined) {
            pulumi.log.warn(vpcDefaultWarning(args.region, settings.vpcIpRange), this);
            this.vpc = new digitalocean.Vpc(`${name}-vpc`, {
                name: `${base}-vpc`, region: args.region, ipRange: settings.vpcIpRange,
                description: `OpenNebula edge cluster ${name}`,
            }, cloud);
            this.vpcId = this.vpc.id;
            this.vpcIpRange = this.vpc.ipRange;
        } else {
            this.vpcId = pulumi.output(args.vpcId!);
            this.vpcIpRange = digitalocean.getVpcOutput({ id: args.vpcId }, cloud).ipRange;
        }

        if (args.sshKeyFingerprint === undefined) {
            this.sshKey = new digitalocean.SshKey(`${name}-ssh-key`, { name: base, publicKey: args.ssh.publicKey }, cloud);
            this.sshKeyFingerprint = this.sshKey.fingerprint;
        } else {
            this.sshKeyFingerprint = pulumi.output(args.sshKeyFingerprint);
        }
        this.tag = new digitalocean.Tag(`${name}-tag`, { name: `one-edge-${base}` }, cloud);

        const userData = settings.sshUser === "root"
            ? undefined
            : pulumi.output(args.ssh.publicKey).apply((key) => cloudConfig(settings.sshUser, key)!);
        this.droplets = {};
        const hosts: EdgeHost[] = hostKeys(settings.hostCount).map((key) => {
            const droplet = new digitalocean.Droplet(`${name}-${key}`, {
                name: `${base}-${key}`, region: args.region, size: settings.size, image: settings.image,
                vpcUuid: this.vpcId, sshKeys: [this.sshKeyFingerprint], tags: [this.tag.name], userData,
            }, cloud);
            this.droplets[key] = droplet;
            return {
                key, publicIp: droplet.ipv4Address, privateIp: droplet.ipv4AddressPrivate, sshUser: settings.sshUser,
                cloudId: droplet.id, dependsOn: [droplet], publicForwarding: DIGITALOCEAN_PORT_FORWARDING,
            };
        });

        this.firewall = new digitalocean.Firewall(`${name}-firewall`, {
            name: `${base}-edge`, tags: [this.tag.name],
            inboundRules: firewallInboundRules(settings.cloudFirewall, settings.vpcIpRange ?? this.vpcIpRange),
            outboundRules: firewallOutboundRules(),
        }, cloud);
        this.firewallId = this.firewall.id;

        this.edge = new EdgeCluster(`${name}-one`, {
            hosts,
            ssh: args.ssh,
            opennebula: args.opennebula,
            hypervisor: settings.hypervisor,
            firewall: args.firewall,
            cluster: args.cluster ?? { name },
            publicNetwork: {
                template: {
                    BRIDGE: DIGITALOCEAN_PORT_FORWARDING.bridge, NETROLE: "public", DNS: settings.dns,
                    NETWORK_ADDRESS: "192.168.23.0", NETWORK_MASK: "255.255.255.0", EDGE_PUBLIC_MODEL: "portforward",
                },
                addressRanges: [portForwardAddressRange()],
            },
            description: `DigitalOcean edge cluster in ${args.region} (pulumi-opennebula-edge)`,
        }, { parent: this });

        this.clusterId = this.edge.clusterId;
        this.hostIds = this.edge.hostIds;
        this.hostAddresses = this.edge.hostAddresses;
        this.datastoreIds = this.edge.datastoreIds;
        this.publicNetworkId = this.edge.publicNetworkId;
        this.dropletIds = perHost(this.droplets, (d) => d.id);
        this.publicIps = perHost(this.droplets, (d) => d.ipv4Address);
        this.privateIps = perHost(this.droplets, (d) => d.ipv4AddressPrivate);
        this.publicIpHosts = this.publicIps.apply((ips) => Object.fromEntries(Object.entries(ips).map(([key, ip]) => [ip, key])));
        this.registerOutputs({
            clusterId: this.clusterId, hostIds: this.hostIds, hostAddresses: this.hostAddresses, datastoreIds: this.datastoreIds,
            publicNetworkId: this.publicNetworkId, dropletIds: this.dropletIds, publicIps: this.publicIps, privateIps: this.privateIps,
            publicIpHosts: this.publicIpHosts, vpcId: this.vpcId, vpcIpRange: this.vpcIpRange, firewallId: this.firewallId,
            sshKeyFingerprint: this.sshKeyFingerprint,
        });
    }

    /**
     * What `onevm port-forward` answers for a VM on this cluster: the public IP of the host it runs
     * on (`hostKey`, e.g. `host-0`) and the external TCP port reaching `internalPort` (1–100) of the
     * VM with that lease (index 0–249, or its address 192.168.23.x). Arguments are checked now.
     */
    portForward(hostKey: string, lease: number | string, internalPort: number): pulumi.Output<PortForwardAnswer> {
        const droplet = this.droplets[hostKey];
        if (droplet === undefined) {
            throw new EdgeConfigError("hostKey", `must be one of ${Object.keys(this.droplets).join(", ")} (got ${JSON.stringify(hostKey)})`);
        }
        leaseIndexOf(lease);
        requireIntegerIn("internalPort", internalPort, 1, DIGITALOCEAN_PORT_FORWARDING.portSize);
        return droplet.ipv4Address.apply((ip) => digitalOceanPortForward(ip, lease, internalPort));
    }
}

function perHost(droplets: Record<string, digitalocean.Droplet>, pick: (d: digitalocean.Droplet) => pulumi.Output<string>): pulumi.Output<Record<string, string>> {
    const keys = Object.keys(droplets);
    return pulumi.all(keys.map((key) => pick(droplets[key]))).apply((values) => Object.fromEntries(keys.map((key, i) => [key, values[i]])));
}
