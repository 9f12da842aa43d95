/**
 * An OpenNebula edge cluster on Vultr: Cloud Compute instances ("virtual" mode) or Bare Metal
 * servers ("metal" mode), reserved public IPs routed to the VMs themselves, then the
 * cloud-independent {@link EdgeCluster} (host configuration over SSH, OpenNebula registration).
 *
 * What oneprovision built (reference §7.2, §7.3, §8.1) and what this component does instead:
 * - virtual: one private network ("VPC") per cluster, instances attached to it; here the VPC has
 *   a fixed CIDR (`vpcCidr`) so firewall rules can name it;
 * - metal: no private network at all (oneprovision's `vultr_metal` had none and no FRR) — the
 *   hosts reach each other over their public addresses, and so does the overlay;
 * - SSH access: oneprovision appended keys with a startup script; here an SSH key resource given
 *   to the machines on create, for `root` (Vultr's Ubuntu images log in as root);
 * - public IPs: oneprovision's IPAM reserved IPs when the OpenNebula network was created and its
 *   `elastic` driver attached them on VM deploy; both depend on oneprovision, gone in 7.0. Here
 *   Pulumi reserves `publicIps` addresses and attaches each to one host (round-robin), and the
 *   host routes it to the VM that uses it (`public-forwarding.sh`, model `routed`);
 * - firewall: oneprovision created none; here a Vultr firewall group (virtual mode only — Vultr
 *   firewall groups do not apply to Bare Metal), open by default as before, or restricted.
 */
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import { EdgeCluster } from "../edge/edge-cluster";
import type { FirewallPort, Hypervisor, RoutedForwardingArgs } from "../edge/host-scripts";
import type { EdgeHost } from "../edge/types";
import type { AddressRangeInput } from "../opennebula/resources/virtual-network";
import {
    CloudEdgeClusterArgs, EdgeConfigError, hostKeys, requireIntegerIn, requireIpv4Cidr, requireOneOf, validateCommonArgs,
} from "./common";

/** Type token of {@link VultrEdgeCluster}. */
export const VULTR_EDGE_CLUSTER_TYPE = "opennebula-edge:clouds:VultrEdgeCluster";

/** Vultr regions (ids of `GET /v2/regions`). Bare Metal is not offered in every one of them. */
export const VULTR_REGIONS = [
    "ams", "atl", "blr", "bom", "cdg", "del", "dfw", "ewr", "fra", "hnl", "icn", "itm", "jnb", "lax", "lhr", "mad",
    "man", "mel", "mex", "mia", "nrt", "ord", "sao", "scl", "sea", "sgp", "sjc", "sto", "syd", "tlv", "waw", "yto",
] as const;

/** `virtual`: Cloud Compute instances. `metal`: Bare Metal servers. */
export const VULTR_MODES = ["virtual", "metal"] as const;
/** A mode from {@link VULTR_MODES}. */
export type VultrMode = (typeof VULTR_MODES)[number];

/** Hypervisors per mode: instances have no nested KVM (oneprovision: qemu or lxc); Bare Metal runs kvm or lxc. */
export const VULTR_HYPERVISORS: Record<VultrMode, readonly Hypervisor[]> = { virtual: ["qemu", "lxc"], metal: ["kvm", "lxc"] };

/** Default plan per mode. */
export const VULTR_DEFAULT_PLANS: Record<VultrMode, string> = { virtual: "vc2-2c-4gb", metal: "vbm-4c-32gb" };

/**
 * Plan id families per mode. Vultr has too many plans (and changes them too often) to list, so the
 * plan is checked by family: regular (vc2), high frequency (vhf), high performance (vhp),
 * optimized (voc), dedicated (vdc) and GPU (vcg) Cloud Compute; Bare Metal (vbm).
 */
const PLAN_FORMATS: Record<VultrMode, { pattern: RegExp; examples: string }> = {
    virtual: { pattern: /^(vc2|vhf|vhp|voc|vdc|vcg)-[a-z0-9]+(-[a-z0-9]+)*$/, examples: "vc2-2c-4gb, vhf-2c-4gb, vhp-2c-4gb-amd, voc-c-2c-4gb-50s" },
    metal: { pattern: /^vbm-[a-z0-9]+(-[a-z0-9]+)*$/, examples: "vbm-4c-32gb, vbm-8c-132gb, vbm-24c-256gb-amd" },
};

/** Vultr OS id of "Ubuntu 22.04 LTS x64" (`GET /v2/os`), the default image. */
export const VULTR_UBUNTU_2204_OS_ID = 1743;

/** Most reserved IPs one edge cluster asks for (Vultr accounts have a reserved-IP quota; keep well under it). */
export const VULTR_MAX_PUBLIC_IPS = 10;

/** Default CIDR of the cluster's VPC (virtual mode); /20 as oneprovision's FRR setup assumed. */
export const VULTR_DEFAULT_VPC_CIDR = "10.10.0.0/20";

/** The /31 netmask OpenNebula's Vultr IPAM gave each public lease; the gateway is the address's peer. */
export const PUBLIC_LEASE_NETMASK = "255.255.255.254";

/** The WireGuard port of the overlay (the host firewall opens the same). */
const WIREGUARD_PORT = 51820;

/** Vultr firewall group options (virtual mode). */
export interface VultrCloudFirewallArgs {
    /**
     * `open`: allow all inbound TCP, UDP and ICMP (oneprovision created no firewall, so this is the
     * same exposure; the host firewall still applies). `restricted`: allow only SSH 22/tcp,
     * WireGuard 51820/udp and ICMP from anywhere, BGP 179/tcp, VXLAN 8472/udp, libvirt
     * 16509,16514/tcp and migration 49152-49215/tcp from the VPC, and `publicPorts` from anywhere.
     * Default `open`.
     */
    mode?: "open" | "restricted";
    /**
     * `restricted` only: ports opened to anyone — the VMs' own services on their reserved IPs (a
     * Vultr firewall group filters every address of the instance, reserved ones included).
     * Default none.
     */
    publicPorts?: FirewallPort[];
}

/** Arguments of {@link VultrEdgeCluster}. */
export interface VultrEdgeClusterArgs extends CloudEdgeClusterArgs {
    /**
     * The Vultr provider every cloud resource is created with (its API key picks the account).
     * Required: the default provider is never used, so several accounts can live in one program.
     */
    provider: vultr.Provider;
    /** `virtual` (Cloud Compute instances) or `metal` (Bare Metal servers). Default `virtual`. */
    mode?: VultrMode;
    /**
     * Plan id (`GET /v2/plans`, `GET /v2/plans-metal`). Default `vc2-2c-4gb` (virtual) or
     * `vbm-4c-32gb` (metal). Checked by family: vc2/vhf/vhp/voc/vdc/vcg for virtual, vbm for metal.
     */
    plan?: string;
    /**
     * Vultr OS id (`GET /v2/os`). Default {@link VULTR_UBUNTU_2204_OS_ID} (1743, Ubuntu 22.04 LTS x64).
     * The host scripts support Ubuntu 22.04/24.04 and Debian 12; the image must log in as `root`.
     */
    osId?: number;
    /**
     * Hypervisor. Default `qemu` (virtual; `lxc` allowed) or `kvm` (metal; `lxc` allowed).
     */
    hypervisor?: Hypervisor;
    /**
     * Number of reserved public IPv4 addresses (0 to {@link VULTR_MAX_PUBLIC_IPS}), attached to the hosts
     * round-robin (IP i on host i mod hostCount). VMs use them directly. Default 1.
     */
    publicIps?: number;
    /** Virtual mode: the VPC's private IPv4 range (RFC 1918, /16 to /28). Default `10.10.0.0/20`. */
    vpcCidr?: string;
    /** Virtual mode: the Vultr firewall group. Default `{ mode: "open" }`. */
    cloudFirewall?: VultrCloudFirewallArgs;
    /**
     * The host's public network interface, where the reserved IPs arrive. Default `enp1s0` (Cloud
     * Compute). Required in metal mode when `publicIps` > 0: Bare Metal NIC names differ by plan
     * (see `ip route show default` on the server).
     */
    uplinkInterface?: string;
}

/** The arguments of a {@link VultrEdgeCluster} after validation, with every default filled in. */
export interface VultrSettings {
    /** `virtual` or `metal`. */
    mode: VultrMode;
    /** Number of machines, 1–50. */
    hostCount: number;
    /** The Vultr plan id. */
    plan: string;
    /** The Vultr OS id. */
    osId: number;
    /** The OpenNebula hypervisor of the hosts. */
    hypervisor: Hypervisor;
    /** Number of reserved IPv4 addresses, 0–10. */
    publicIps: number;
    /** The VPC's CIDR, normalized (virtual mode only). */
    vpcCidr?: string;
    /** The firewall group's mode and extra public ports (virtual mode only). */
    cloudFirewall?: { mode: "open" | "restricted"; publicPorts: FirewallPort[] };
    /** The hosts' public interface; undefined only in metal mode without public IPs. */
    uplinkInterface?: string;
}

/**
 * Checks a {@link VultrEdgeCluster}'s arguments and fills in the defaults. Pure: throws an
 * {@link EdgeConfigError} naming the field and what is allowed.
 */
export function validateVultrEdgeClusterArgs(args: VultrEdgeClusterArgs): VultrSettings {
    if (!args) throw new EdgeConfigError("args", "are required");
    requireVultrProvider(args.provider);
    const mode = (args.mode ?? "virtual") as VultrMode;
    requireOneOf("mode", mode, VULTR_MODES);
    const hostCount = validateCommonArgs(args, VULTR_REGIONS, VULTR_HYPERVISORS[mode]);
    const plan = requirePlan(mode, args.plan ?? VULTR_DEFAULT_PLANS[mode]);
    const osId = requireIntegerIn("osId", args.osId ?? VULTR_UBUNTU_2204_OS_ID, 1, 999999);
    const publicIps = requireIntegerIn("publicIps", args.publicIps ?? 1, 0, VULTR_MAX_PUBLIC_IPS);
    const uplinkInterface = requireUplink(mode, args.uplinkInterface, publicIps);
    const settings: VultrSettings = {
        mode, hostCount, plan, osId, publicIps, uplinkInterface,
        hypervisor: args.hypervisor ?? (mode === "virtual" ? "qemu" : "kvm"),
    };
    if (mode === "metal") {
        if (args.vpcCidr !== undefined) throw new EdgeConfigError("vpcCidr", "applies to mode virtual only (metal hosts get no VPC; they use their public addresses)");
        if (args.cloudFirewall !== undefined) {
            throw new EdgeConfigError("cloudFirewall", "applies to mode virtual only (Vultr firewall groups do not cover Bare Metal; use firewall, the host firewall)");
        }
        return settings;
    }
    settings.vpcCidr = requirePrivateCidr("vpcCidr", args.vpcCidr ?? VULTR_DEFAULT_VPC_CIDR);
    settings.cloudFirewall = requireCloudFirewall(args.cloudFirewall ?? {});
    return settings;
}

function requireVultrProvider(provider: unknown): void {
    const pkg = (provider as { getPackage?: () => string } | undefined)?.getPackage?.();
    if (!pulumi.CustomResource.isInstance(provider) || pkg !== "vultr") {
        throw new EdgeConfigError("provider", `is required and must be a vultr.Provider (got ${pkg ? `a provider of package "${pkg}"` : JSON.stringify(typeof provider)}); the default provider is never used`);
    }
}

function requirePlan(mode: VultrMode, plan: unknown): string {
    const format = PLAN_FORMATS[mode];
    if (typeof plan !== "string" || !format.pattern.test(plan)) {
        throw new EdgeConfigError("plan", `must be a Vultr ${mode === "virtual" ? "Cloud Compute" : "Bare Metal"} plan id such as ${format.examples} (got ${JSON.stringify(plan)})`);
    }
    return plan;
}

function requireUplink(mode: VultrMode, uplink: unknown, publicIps: number): string | undefined {
    if (uplink === undefined) {
        if (mode === "virtual") return "enp1s0";
        if (publicIps === 0) return undefined;
        throw new EdgeConfigError("uplinkInterface", "is required in mode metal when publicIps > 0: the server's public interface (Bare Metal NIC names differ by plan)");
    }
    if (typeof uplink !== "string" || !/^[A-Za-z0-9_.@-]{1,15}$/.test(uplink)) {
        throw new EdgeConfigError("uplinkInterface", `must be an interface name of 1 to 15 letters, digits, "_", ".", "@", "-" (got ${JSON.stringify(uplink)})`);
    }
    return uplink;
}

function requirePrivateCidr(field: string, value: unknown): string {
    const cidr = requireIpv4Cidr(field, value, 16, 28);
    if (ipaddr.IPv4.parseCIDR(cidr)[0].range() !== "private") {
        throw new EdgeConfigError(field, `must be a private (RFC 1918) range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (got ${cidr})`);
    }
    return cidr;
}

function requireCloudFirewall(firewall: VultrCloudFirewallArgs): { mode: "open" | "restricted"; publicPorts: FirewallPort[] } {
    const mode = firewall.mode ?? "open";
    requireOneOf("cloudFirewall.mode", mode, ["open", "restricted"]);
    const publicPorts = firewall.publicPorts ?? [];
    if (!Array.isArray(publicPorts)) throw new EdgeConfigError("cloudFirewall.publicPorts", "must be a list of { port, toPort?, protocol? }");
    if (mode === "open" && publicPorts.length > 0) {
        throw new EdgeConfigError("cloudFirewall.publicPorts", "applies to mode restricted only (mode open already allows every port)");
    }
    publicPorts.forEach((p, i) => {
        const field = `cloudFirewall.publicPorts[${i}]`;
        const first = requireIntegerIn(`${field}.port`, p?.port, 1, 65535);
        if (p.toPort !== undefined) requireIntegerIn(`${field}.toPort`, p.toPort, first, 65535);
        requireOneOf(`${field}.protocol`, p.protocol ?? "tcp", ["tcp", "udp"]);
    });
    return { mode, publicPorts };
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** One rule of the Vultr firewall group, before it becomes a `vultr.FirewallRule`. */
export interface VultrFirewallRuleSpec {
    /** Suffix of the rule's resource name, e.g. `ssh` → `${name}-fw-ssh`. */
    key: string;
    /** Vultr rule protocol (lower case, as the API wants it). */
    protocol: "tcp" | "udp" | "icmp";
    /** A port or `first:last` range; absent for ICMP. */
    port?: string;
    /** Source network address and prefix length (`0.0.0.0`/0 is anywhere). */
    subnet: string;
    subnetSize: number;
    /** What the rule is for, shown in Vultr's console. */
    notes: string;
}

/**
 * The rules of the cluster's Vultr firewall group (IPv4; the instances get no IPv6). See
 * {@link VultrCloudFirewallArgs.mode} for what each mode allows.
 */
export function vultrFirewallRules(mode: "open" | "restricted", vpcCidr: string, publicPorts: FirewallPort[] = []): VultrFirewallRuleSpec[] {
    const anywhere = { subnet: "0.0.0.0", subnetSize: 0 };
    if (mode === "open") {
        return [
            { key: "all-tcp", protocol: "tcp", port: "1:65535", ...anywhere, notes: "all TCP (open mode)" },
            { key: "all-udp", protocol: "udp", port: "1:65535", ...anywhere, notes: "all UDP (open mode)" },
            { key: "icmp", protocol: "icmp", ...anywhere, notes: "ICMP" },
        ];
    }
    const [network, prefix] = vpcCidr.split("/");
    const vpc = { subnet: network, subnetSize: Number(prefix) };
    return [
        { key: "ssh", protocol: "tcp", port: "22", ...anywhere, notes: "SSH (front-end, Pulumi)" },
        { key: "wireguard", protocol: "udp", port: String(WIREGUARD_PORT), ...anywhere, notes: "WireGuard overlay" },
        { key: "icmp", protocol: "icmp", ...anywhere, notes: "ICMP" },
        { key: "bgp", protocol: "tcp", port: "179", ...vpc, notes: "BGP (FRR EVPN) inside the VPC" },
        { key: "vxlan", protocol: "udp", port: "8472", ...vpc, notes: "VXLAN inside the VPC" },
        { key: "libvirt", protocol: "tcp", port: "16509", ...vpc, notes: "libvirt TCP inside the VPC" },
        { key: "libvirt-tls", protocol: "tcp", port: "16514", ...vpc, notes: "libvirt TLS inside the VPC" },
        { key: "migration", protocol: "tcp", port: "49152:49215", ...vpc, notes: "QEMU live migration inside the VPC" },
        ...publicPorts.map((p, i): VultrFirewallRuleSpec => ({
            key: `public-${i}`,
            protocol: p.protocol ?? "tcp",
            port: p.toPort !== undefined && p.toPort !== p.port ? `${p.port}:${p.toPort}` : String(p.port),
            ...anywhere,
            notes: "VM service on the reserved IPs",
        })),
    ];
}

/** The /31 peer of an IPv4 address (address XOR 1): the gateway of a VM using that address. */
export function peerOf31(ip: string): string {
    const octets = ipaddr.IPv4.parse(ip).octets.slice();
    octets[3] ^= 1;
    return octets.join(".");
}

/** Index of the host carrying reserved IP `ipIndex` (round-robin). */
export function hostIndexOfIp(ipIndex: number, hostCount: number): number {
    return ipIndex % hostCount;
}

/**
 * The OpenNebula address range of one reserved IP: the VM uses the public address itself, with a
 * /31 mask and the peer address as gateway (what oneprovision's Vultr IPAM answered, and what
 * `public-forwarding.sh` proxy-answers on the bridge), and `EDGE_HOST` naming the only host whose
 * VMs can use it.
 */
export function reservedIpAddressRange(ip: pulumi.Input<string>, edgeHost: pulumi.Input<string>): AddressRangeInput {
    return {
        TYPE: "IP4",
        IP: ip,
        SIZE: 1,
        NETWORK_MASK: PUBLIC_LEASE_NETMASK,
        GATEWAY: pulumi.output(ip).apply(peerOf31),
        EDGE_HOST: edgeHost,
    };
}

/** A valid Vultr hostname for host `index` of the cluster `name` (letters, digits, '-'; at most 63). */
export function vultrHostname(name: string, index: number): string {
    const suffix = `-${index}`;
    const base = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "edge";
    return `${base.slice(0, 63 - suffix.length).replace(/-+$/, "")}${suffix}`;
}

// ---------------------------------------------------------------------------------------------
// The component

/** A Vultr machine of either mode: both have an id and a main (public) IPv4. */
type VultrMachine = vultr.Instance | vultr.BareMetalServer;

/**
 * An OpenNebula edge cluster on Vultr, in `virtual` (Cloud Compute) or `metal` (Bare Metal) mode.
 *
 * Creates: an SSH key (root's, installed on create); in virtual mode a VPC and a firewall group
 * with its rules; `hostCount` machines; `publicIps` reserved IPv4 addresses, each attached to one
 * host (round-robin); then an {@link EdgeCluster} that configures the hosts (the host carrying a
 * reserved IP routes it to the VM using it) and registers the cluster, hosts, datastores and a
 * public network with one address range per reserved IP.
 *
 * A VM on the public network must run on the host that carries its address: each address range
 * names it in `EDGE_HOST` (the host's OpenNebula name, its main IP). Pin the VM with
 * `SCHED_REQUIREMENTS = "NAME = \"<EDGE_HOST>\""` and its NIC with `AR_ID`.
 */
export class VultrEdgeCluster extends pulumi.ComponentResource {
    /** The OpenNebula cluster ID. */
    readonly clusterId: pulumi.Output<number>;
    /** OpenNebula host ID per host key (`host-0` …). */
    readonly hostIds: pulumi.Output<Record<string, number>>;
    /** The address each host is registered with in OpenNebula (its main IP), per host key. */
    readonly hostAddresses: pulumi.Output<Record<string, string>>;
    /** IDs of the image and system datastores. */
    readonly datastoreIds: pulumi.Output<{ image?: number; system?: number }>;
    /** ID of the OpenNebula public network (undefined when `publicIps` is 0). */
    readonly publicNetworkId: pulumi.Output<number | undefined>;
    /** Vultr instance or bare-metal server id per host key. */
    readonly machineIds: pulumi.Output<Record<string, string>>;
    /** The reserved public IPv4 addresses, in order. */
    readonly publicIps: pulumi.Output<string[]>;
    /** Which host carries each reserved IP: address → host key. */
    readonly publicIpHosts: pulumi.Output<Record<string, string>>;
    /** The VPC id (virtual mode; undefined in metal mode). */
    readonly vpcId: pulumi.Output<string | undefined>;
    /** The firewall group id (virtual mode; undefined in metal mode). */
    readonly firewallGroupId: pulumi.Output<string | undefined>;

    /** The machines, in host order (instances in virtual mode, bare-metal servers in metal mode). */
    readonly machines: VultrMachine[];
    /** The reserved IPs, in order. */
    readonly reservedIps: vultr.ReservedIp[];
    /** The SSH key installed for root on every machine. */
    readonly sshKey: vultr.SSHKey;
    /** The VPC (virtual mode). */
    readonly vpc?: vultr.Vpc;
    /** The firewall group (virtual mode). */
    readonly firewallGroup?: vultr.FirewallGroup;
    /** The firewall group's rules (virtual mode). */
    readonly firewallRules: vultr.FirewallRule[];
    /** The cloud-independent core: host configuration and OpenNebula objects. */
    readonly edge: EdgeCluster;

    constructor(name: string, args: VultrEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateVultrEdgeClusterArgs(args);
        super(VULTR_EDGE_CLUSTER_TYPE, name, {}, opts);
        const child = { parent: this, provider: args.provider };

        this.sshKey = new vultr.SSHKey(`${name}-ssh-key`, { name: `${name}-root`, sshKey: args.ssh.publicKey }, child);
        if (settings.mode === "virtual") {
            const [network, prefix] = settings.vpcCidr!.split("/");
            this.vpc = new vultr.Vpc(`${name}-vpc`, {
                region: args.region, description: `${name} OpenNebula edge cluster`, v4Subnet: network, v4SubnetMask: Number(prefix),
            }, child);
            this.firewallGroup = new vultr.FirewallGroup(`${name}-firewall`, { description: `${name} OpenNebula edge cluster` }, child);
            const group = this.firewallGroup;
            this.firewallRules = vultrFirewallRules(settings.cloudFirewall!.mode, settings.vpcCidr!, settings.cloudFirewall!.publicPorts).map(
                (rule) => new vultr.FirewallRule(`${name}-fw-${rule.key}`, {
                    firewallGroupId: group.id, ipType: "v4", protocol: rule.protocol, port: rule.port,
                    subnet: rule.subnet, subnetSize: rule.subnetSize, notes: rule.notes,
                }, child),
            );
        } else {
            this.firewallRules = [];
        }

        const keys = hostKeys(settings.hostCount);
        this.machines = keys.map((key, i) => this.createMachine(name, key, i, args, settings));
        this.reservedIps = Array.from({ length: settings.publicIps }, (_, i) => new vultr.ReservedIp(`${name}-ip-${i}`, {
            region: args.region, ipType: "v4", label: `${name}-ip-${i}`,
            instanceId: this.machines[hostIndexOfIp(i, settings.hostCount)].id,
        }, child));

        this.edge = new EdgeCluster(`${name}-one`, {
            hosts: keys.map((key, i) => this.edgeHost(key, i, settings)),
            ssh: { privateKey: args.ssh.privateKey, port: args.ssh.port, bastion: args.ssh.bastion },
            opennebula: args.opennebula,
            hypervisor: settings.hypervisor,
            firewall: args.firewall,
            cluster: args.cluster ?? { name },
            publicNetwork: this.reservedIps.length === 0 ? undefined : {
                template: { DNS: args.dns ?? "1.1.1.1", NETROLE: "public" },
                addressRanges: this.reservedIps.map((ip, i) => reservedIpAddressRange(ip.subnet, this.machines[hostIndexOfIp(i, settings.hostCount)].mainIp)),
            },
            description: `Vultr ${settings.mode} edge cluster (pulumi-opennebula-edge)`,
        }, { parent: this });

        this.clusterId = this.edge.clusterId;
        this.hostIds = this.edge.hostIds;
        this.hostAddresses = this.edge.hostAddresses;
        this.datastoreIds = this.edge.datastoreIds;
        this.publicNetworkId = this.edge.publicNetworkId;
        this.machineIds = pulumi.all(this.machines.map((m) => m.id)).apply((ids) => Object.fromEntries(keys.map((key, i) => [key, ids[i] as string])));
        this.publicIps = pulumi.all(this.reservedIps.map((ip) => ip.subnet));
        this.publicIpHosts = this.publicIps.apply((ips) => Object.fromEntries(ips.map((ip, i) => [ip, keys[hostIndexOfIp(i, settings.hostCount)]])));
        this.vpcId = this.vpc ? this.vpc.id.apply((id): string | undefined => id) : pulumi.output(undefined);
        this.firewallGroupId = this.firewallGroup ? this.firewallGroup.id.apply((id): string | undefined => id) : pulumi.output(undefined);
        this.registerOutputs({
            clusterId: this.clusterId, hostIds: this.hostIds, hostAddresses: this.hostAddresses, datastoreIds: this.datastoreIds,
            publicNetworkId: this.publicNetworkId, machineIds: this.machineIds, publicIps: this.publicIps,
            publicIpHosts: this.publicIpHosts, vpcId: this.vpcId, firewallGroupId: this.firewallGroupId,
        });
    }

    private createMachine(name: string, key: string, index: number, args: VultrEdgeClusterArgs, settings: VultrSettings): VultrMachine {
        const common = {
            region: args.region,
            plan: settings.plan,
            osId: settings.osId,
            hostname: vultrHostname(name, index),
            label: `${name}-${key}`,
            sshKeyIds: [this.sshKey.id],
            activationEmail: false,
            tags: ["opennebula-edge", name],
        };
        const opts = { parent: this, provider: args.provider };
        if (settings.mode === "metal") return new vultr.BareMetalServer(`${name}-${key}`, common, opts);
        return new vultr.Instance(`${name}-${key}`, {
            ...common, vpcIds: [this.vpc!.id], firewallGroupId: this.firewallGroup!.id,
        }, opts);
    }

    /** The EdgeHost of machine `index`: its reserved IPs are routed to VMs (model `routed`). */
    private edgeHost(key: string, index: number, settings: VultrSettings): EdgeHost {
        const machine = this.machines[index];
        const carried = this.reservedIps.filter((_, i) => hostIndexOfIp(i, settings.hostCount) === index);
        const publicForwarding = carried.length === 0 ? undefined : pulumi.all(carried.map((ip) => ip.subnet)).apply(
            (publicIps): RoutedForwardingArgs => ({ model: "routed", uplink: settings.uplinkInterface!, publicIps }),
        );
        return {
            key,
            publicIp: machine.mainIp,
            // Metal hosts have no VPC: they reach each other (and the overlay) over their public addresses.
            privateIp: settings.mode === "virtual" ? (machine as vultr.Instance).internalIp : machine.mainIp,
            sshUser: "root",
            cloudId: machine.id,
            dependsOn: [machine, ...carried],
            publicForwarding,
        };
    }
}
