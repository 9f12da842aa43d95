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
 *   every reserved IP belongs to one host (`publicIps` per host), Pulumi attaches it there, and the
 *   host routes it to the VM that uses it (`public-forwarding.sh`, model `routed`);
 * - firewall: oneprovision created none; here a Vultr firewall group (virtual mode only — Vultr
 *   firewall groups do not apply to Bare Metal), open by default as before, or restricted.
 */
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import { z } from "zod";
import type { FirewallScriptArgs, Hypervisor } from "../edge/host-scripts";
import { ConfigError } from "../validation";
import { checkedBy, cidrSchema, integerSchema, interfaceNameSchema, schemaOf } from "../validation/schema";
import type { CloudArgs, PublicIpLease } from "./base";
import { CloudEdgeCluster, checkCloudArgs, hostFirewallOf, parseCloudSettings, userData } from "./base";
import { defineCloud } from "./definition";
import type { CloudFirewallArgs, CloudFirewallPlan, CloudSettings, HostSettings } from "./settings";
import {
    checkHosts,
    cloudFirewallPlan,
    cloudFirewallSchema,
    commonSettings,
    ipv4Sources,
    planHosts,
    portText,
    publicIpSettings,
    restrictedRules,
    tagTexts,
} from "./settings";

/** Type token of {@link VultrEdgeCluster}. */
export const VULTR_EDGE_CLUSTER_TYPE = "opennebula-edge:clouds:VultrEdgeCluster";

/** Vultr regions (ids of `GET /v2/regions`). Bare Metal is not offered in every one of them. */
export const VULTR_REGIONS = [
    "ams",
    "atl",
    "blr",
    "bom",
    "cdg",
    "del",
    "dfw",
    "ewr",
    "fra",
    "hnl",
    "icn",
    "itm",
    "jnb",
    "lax",
    "lhr",
    "mad",
    "man",
    "mel",
    "mex",
    "mia",
    "nrt",
    "ord",
    "sao",
    "scl",
    "sea",
    "sgp",
    "sjc",
    "sto",
    "syd",
    "tlv",
    "waw",
    "yto",
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
    virtual: {
        pattern: /^(vc2|vhf|vhp|voc|vdc|vcg)-[a-z0-9]+(-[a-z0-9]+)*$/,
        examples: "vc2-2c-4gb, vhf-2c-4gb, vhp-2c-4gb-amd, voc-c-2c-4gb-50s",
    },
    metal: { pattern: /^vbm-[a-z0-9]+(-[a-z0-9]+)*$/, examples: "vbm-4c-32gb, vbm-8c-132gb, vbm-24c-256gb-amd" },
};

/** Vultr OS id of "Ubuntu 22.04 LTS x64" (`GET /v2/os`), the default image. */
export const VULTR_UBUNTU_2204_OS_ID = 1743;

/** Most reserved IPs one edge cluster asks for (Vultr accounts have a reserved-IP quota; keep well under it). */
export const VULTR_MAX_PUBLIC_IPS = 10;

/** Default CIDR of the cluster's VPC (virtual mode); /20 as oneprovision's FRR setup assumed. */
export const VULTR_DEFAULT_VPC_CIDR = "10.10.0.0/20";

/** The user of Vultr's images. */
const IMAGE_USER = "root";

// ---------------------------------------------------------------------------------------------
// Settings: the component's plain arguments, and an edge cluster's keys in stack configuration

/** The settings of a Vultr edge cluster: its own arguments, and an edge cluster's keys in stack configuration. */
export interface VultrSettings extends CloudSettings {
    /** A region from {@link VULTR_REGIONS}. Required. */
    region: (typeof VULTR_REGIONS)[number];
    /**
     * The hosts by key, e.g. `["kvm-a", "kvm-b"]`, or with per-host settings: `{ "kvm-a": { publicIps: 2 } }`
     * (`publicIps`, 0–10, overrides the cluster's). Default: `hostCount` hosts `host-0` ….
     */
    hosts?: string[] | Record<string, Pick<HostSettings, "publicIps">>;
    /** Reserved IPv4 addresses each host owns, 0–10 (at most 10 in all); VMs use them directly. Default 0. */
    publicIps?: number;
    /** `virtual` (Cloud Compute instances) or `metal` (Bare Metal servers). Default `virtual`. */
    mode?: VultrMode;
    /** Hypervisor: `qemu` or `lxc` in virtual mode, `kvm` or `lxc` in metal mode. Default `qemu` (virtual) or `kvm` (metal). */
    hypervisor?: Hypervisor;
    /**
     * Plan id (`GET /v2/plans`, `GET /v2/plans-metal`). Default `vc2-2c-4gb` (virtual) or
     * `vbm-4c-32gb` (metal). Checked by family: vc2/vhf/vhp/voc/vdc/vcg for virtual, vbm for metal.
     */
    plan?: string;
    /**
     * Vultr OS id (`GET /v2/os`), 1–999999. Default {@link VULTR_UBUNTU_2204_OS_ID} (1743, Ubuntu 22.04 LTS x64).
     * The host scripts support Ubuntu 22.04/24.04 and Debian 12; the image must log in as `root`.
     */
    osId?: number;
    /** Virtual mode: the VPC's private IPv4 range (RFC 1918, /16 to /28). Default `10.10.0.0/20`. */
    vpcCidr?: string;
    /** Virtual mode: the Vultr firewall group (it filters every address of an instance, reserved ones too). Default `{ mode: "open" }`. */
    cloudFirewall?: CloudFirewallArgs;
    /**
     * The host's public network interface, where the reserved IPs arrive. Default `enp1s0` (Cloud
     * Compute). Required in metal mode when there are public IPs: Bare Metal NIC names differ by plan
     * (see `ip route show default` on the server).
     */
    uplinkInterface?: string;
}

/** @internal The schema of {@link VultrSettings}, which the component and the stack program validate with. */
export const vultrSettings = schemaOf<VultrSettings>()(
    z
        .object({
            region: z.enum(VULTR_REGIONS),
            ...commonSettings,
            ...publicIpSettings(VULTR_MAX_PUBLIC_IPS, {}),
            mode: z.enum(VULTR_MODES).optional(),
            hypervisor: z.enum(["kvm", "qemu", "lxc"]).optional(),
            plan: z.string().optional(),
            osId: integerSchema(1, 999999).optional(),
            vpcCidr: checkedBy(cidrSchema(16, 28), (cidr) => {
                if (ipaddr.IPv4.parseCIDR(cidr)[0].range() !== "private")
                    throw new ConfigError(
                        "",
                        `must be a private (RFC 1918) range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (got ${cidr})`,
                    );
            }).optional(),
            cloudFirewall: cloudFirewallSchema.optional(),
            uplinkInterface: interfaceNameSchema.optional(),
        })
        .superRefine((settings, ctx) => {
            if (ctx.issues.length > 0) return; // the rules across settings need each setting valid on its own
            checkHosts(settings, ctx, {
                maxPublicIps: VULTR_MAX_PUBLIC_IPS,
                quota: "this package's limit, well under Vultr's reserved-IP quota",
            });
            const mode = settings.mode ?? "virtual";
            const add = (key: string, message: string) => ctx.addIssue({ code: "custom", path: [key], message });
            const allowed = VULTR_HYPERVISORS[mode];
            if (settings.hypervisor !== undefined && !allowed.includes(settings.hypervisor))
                add("hypervisor", `must be one of ${allowed.join(", ")} in mode ${mode} (got ${JSON.stringify(settings.hypervisor)})`);
            const format = PLAN_FORMATS[mode];
            if (settings.plan !== undefined && !format.pattern.test(settings.plan)) {
                add("plan", `must be a Vultr ${mode === "virtual" ? "Cloud Compute" : "Bare Metal"} plan id such as ${format.examples}`);
            }
            if (mode === "metal") {
                if (settings.vpcCidr !== undefined)
                    add("vpcCidr", "applies to mode virtual only (metal hosts get no VPC; they use their public addresses)");
                if (settings.cloudFirewall !== undefined)
                    add(
                        "cloudFirewall",
                        "applies to mode virtual only (Vultr firewall groups do not cover Bare Metal; use firewall, the host firewall)",
                    );
                if (settings.uplinkInterface === undefined && planHosts(settings).some((host) => host.publicIps > 0)) {
                    add(
                        "uplinkInterface",
                        "is required in mode metal when there are public IPs: the server's public interface (Bare Metal NIC names differ by plan)",
                    );
                }
            }
        }),
);

/**
 * The kinds of children of {@link VultrEdgeCluster} that take a `transform`, and their arguments:
 * `sshKey` (`${name}-ssh-key`), in virtual mode `vpc` (`${name}-vpc`), `firewallGroup`
 * (`${name}-firewall`), `firewallRule` (`${name}-fw-<rule>`) and `instance` (`${name}-<host>`), in
 * metal mode `bareMetalServer` (`${name}-<host>`), and `reservedIp` (`${name}-<host>-ip-<j>`).
 */
export interface VultrChildren {
    sshKey: vultr.SSHKeyArgs;
    vpc: vultr.VpcArgs;
    firewallGroup: vultr.FirewallGroupArgs;
    firewallRule: vultr.FirewallRuleArgs;
    instance: vultr.InstanceArgs;
    bareMetalServer: vultr.BareMetalServerArgs;
    reservedIp: vultr.ReservedIpArgs;
}

/** Arguments of {@link VultrEdgeCluster}: the settings, the provider, SSH, the front-end and the escape hatches. */
export type VultrEdgeClusterArgs = CloudArgs<VultrSettings, vultr.Provider, VultrChildren>;

/** The arguments of a {@link VultrEdgeCluster} after validation, with every default filled in. */
export interface VultrPlan {
    region: (typeof VULTR_REGIONS)[number];
    /** `virtual` or `metal`. */
    mode: VultrMode;
    /** The hosts and how many reserved IPs each owns. */
    hosts: { key: string; publicIps: number }[];
    /** The Vultr plan id. */
    plan: string;
    /** The Vultr OS id. */
    osId: number;
    /** The OpenNebula hypervisor of the hosts. */
    hypervisor: Hypervisor;
    /** The user SSH logs in as. */
    sshUser: string;
    /** The VPC's CIDR (virtual mode only). */
    vpcCidr?: string;
    /** The firewall group (virtual mode only). */
    cloudFirewall?: CloudFirewallPlan;
    /** The hosts' public interface; undefined only in metal mode without public IPs. */
    uplinkInterface?: string;
}

/**
 * Checks a {@link VultrEdgeCluster}'s arguments and fills in the defaults. Pure.
 *
 * @throws ConfigError naming the field and what is allowed.
 */
export function validateVultrEdgeClusterArgs(args: VultrEdgeClusterArgs): VultrPlan {
    checkCloudArgs(args, "vultr");
    const settings = parseCloudSettings(vultrSettings, args);
    const mode = settings.mode ?? "virtual";
    return {
        region: settings.region,
        mode,
        hosts: planHosts(settings).map(({ key, publicIps }) => ({ key, publicIps })),
        plan: settings.plan ?? VULTR_DEFAULT_PLANS[mode],
        osId: settings.osId ?? VULTR_UBUNTU_2204_OS_ID,
        hypervisor: settings.hypervisor ?? (mode === "virtual" ? "qemu" : "kvm"),
        sshUser: settings.sshUser ?? IMAGE_USER,
        ...(mode === "virtual"
            ? {
                  vpcCidr: settings.vpcCidr ?? VULTR_DEFAULT_VPC_CIDR,
                  cloudFirewall: cloudFirewallPlan(settings.cloudFirewall),
                  uplinkInterface: settings.uplinkInterface ?? "enp1s0",
              }
            : { uplinkInterface: settings.uplinkInterface }),
    };
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
 * The rules of the cluster's Vultr firewall group, one per rule and source (a Vultr rule has one
 * source): everything (`open`), or the hosts' allow-list (`hostFirewall`, see `hostFirewallOf`;
 * IPv4 only, the instances get no IPv6) for `restricted`.
 */
export function vultrFirewallRules(firewall: CloudFirewallPlan, hostFirewall: FirewallScriptArgs): VultrFirewallRuleSpec[] {
    const anywhere = { subnet: "0.0.0.0", subnetSize: 0 };
    if (firewall.mode === "open") {
        return [
            { key: "all-tcp", protocol: "tcp", port: "1:65535", ...anywhere, notes: "all TCP (open mode)" },
            { key: "all-udp", protocol: "udp", port: "1:65535", ...anywhere, notes: "all UDP (open mode)" },
            { key: "icmp", protocol: "icmp", ...anywhere, notes: "ICMP" },
        ];
    }
    return restrictedRules(firewall, hostFirewall).flatMap((rule) => {
        const sources = ipv4Sources(rule);
        const port = portText(rule, ":");
        return sources.map((source, j): VultrFirewallRuleSpec => {
            const [subnet, prefix] = source.split("/");
            return {
                key: sources.length === 1 ? rule.key : `${rule.key}-${j}`,
                protocol: rule.protocol,
                ...(port === undefined ? {} : { port }),
                subnet,
                subnetSize: Number(prefix ?? 32),
                notes: rule.description,
            };
        });
    });
}

/** A valid Vultr hostname for host `key` of the cluster `name` (letters, digits, '-'; at most 63). */
export function vultrHostname(name: string, key: string): string {
    const suffix = `-${key}`;
    const base =
        name
            .toLowerCase()
            .replace(/[^a-z0-9-]+/g, "-")
            .replace(/^-+|-+$/g, "") || "edge";
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
 * with its rules; one machine per host; the reserved IPv4 addresses each host owns, attached to
 * it; then an {@link EdgeCluster} that configures the hosts (the host carrying a reserved IP routes
 * it to the VM using it) and registers the cluster, hosts, datastores and a public network with one
 * address range per reserved IP.
 *
 * A VM on the public network must run on the host that carries its address: each address range
 * names it in `EDGE_HOST` (the host's OpenNebula name, its main IP). Pin the VM with
 * `SCHED_REQUIREMENTS = "NAME = \"<EDGE_HOST>\""` and its NIC with `AR_ID`.
 */
export class VultrEdgeCluster extends CloudEdgeCluster<VultrChildren, vultr.SSHKey> {
    /** The arguments, checked, with their defaults. */
    readonly settings: VultrPlan;
    /** The VPC id (virtual mode; undefined in metal mode). */
    readonly vpcId: pulumi.Output<string | undefined>;
    /** The firewall group id (virtual mode; undefined in metal mode). */
    readonly firewallGroupId: pulumi.Output<string | undefined>;
    /** The machines, per host key (instances in virtual mode, bare-metal servers in metal mode). */
    readonly machines: Record<string, VultrMachine>;
    /** The reserved IPs of each host, per host key. */
    readonly reservedIps: Record<string, vultr.ReservedIp[]>;
    /** The VPC (virtual mode). */
    readonly vpc?: vultr.Vpc;
    /** The firewall group (virtual mode). */
    readonly firewallGroup?: vultr.FirewallGroup;
    /** The firewall group's rules (virtual mode). */
    readonly firewallRules: vultr.FirewallRule[];

    constructor(name: string, args: VultrEdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const settings = validateVultrEdgeClusterArgs(args);
        super(VULTR_EDGE_CLUSTER_TYPE, name, args, opts);
        this.settings = settings;

        // The SSH key installed for root on every machine.
        const sshKeyId = this.useSshKey(
            args.sshKeyId,
            (publicKey) => this.create("sshKey", vultr.SSHKey, `${name}-ssh-key`, { name: `${name}-root`, sshKey: publicKey }),
            (key) => key.id,
        );
        this.firewallRules = [];
        if (settings.mode === "virtual") {
            const [network, prefix] = settings.vpcCidr!.split("/");
            this.vpc = this.create("vpc", vultr.Vpc, `${name}-vpc`, {
                region: settings.region,
                description: `${name} OpenNebula edge cluster`,
                v4Subnet: network,
                v4SubnetMask: Number(prefix),
            });
            const group = this.create("firewallGroup", vultr.FirewallGroup, `${name}-firewall`, {
                description: `${name} OpenNebula edge cluster`,
            });
            this.firewallGroup = group;
            this.firewallRules = vultrFirewallRules(settings.cloudFirewall!, hostFirewallOf(args, settings.vpcCidr)).map((rule) =>
                this.create("firewallRule", vultr.FirewallRule, `${name}-fw-${rule.key}`, {
                    firewallGroupId: group.id,
                    ipType: "v4",
                    protocol: rule.protocol,
                    port: rule.port,
                    subnet: rule.subnet,
                    subnetSize: rule.subnetSize,
                    notes: rule.notes,
                }),
            );
        }

        this.machines = {};
        this.reservedIps = {};
        const leases: PublicIpLease[] = [];
        for (const host of settings.hosts) {
            const machine = this.createMachine(name, host.key, sshKeyId, userData(settings.sshUser, IMAGE_USER, this.sshPublicKey), args);
            this.machines[host.key] = machine;
            this.reservedIps[host.key] = Array.from({ length: host.publicIps }, (_, j) => {
                const ipName = `${name}-${host.key}-ip-${j}`;
                const ip = this.create("reservedIp", vultr.ReservedIp, ipName, {
                    region: settings.region,
                    ipType: "v4",
                    label: ipName,
                    instanceId: machine.id,
                });
                leases.push({ host: host.key, address: ip.subnet, publicIp: ip.subnet, translated: false, dependsOn: [ip] });
                return ip;
            });
        }

        this.vpcId = this.vpc ? this.vpc.id.apply((id): string | undefined => id) : pulumi.output(undefined);
        this.firewallGroupId = this.firewallGroup ? this.firewallGroup.id.apply((id): string | undefined => id) : pulumi.output(undefined);
        this.connect({
            args,
            sshUser: settings.sshUser,
            hypervisor: settings.hypervisor,
            machines: Object.fromEntries(
                settings.hosts.map(({ key }) => {
                    const machine = this.machines[key];
                    // Metal hosts have no VPC: they reach each other (and the overlay) over their public addresses.
                    const privateIp = settings.mode === "virtual" ? (machine as vultr.Instance).internalIp : machine.mainIp;
                    return [key, { publicIp: machine.mainIp, privateIp, machineId: machine.id, dependsOn: [machine] }];
                }),
            ),
            leases,
            forwarding: { model: "routed", uplinkOf: () => settings.uplinkInterface! },
            // Metal hosts have no private network: they reach one another's guarded ports over the overlay.
            privateRange: settings.vpcCidr,
            description: `Vultr ${settings.mode} edge cluster (pulumi-opennebula-edge)`,
            outputs: { vpcId: this.vpcId, firewallGroupId: this.firewallGroupId },
        });
    }

    private createMachine(
        name: string,
        key: string,
        sshKeyId: pulumi.Input<string>,
        cloudInit: pulumi.Output<string> | undefined,
        args: VultrEdgeClusterArgs,
    ): VultrMachine {
        const common = {
            region: this.settings.region,
            plan: this.settings.plan,
            osId: this.settings.osId,
            hostname: vultrHostname(name, key),
            label: `${name}-${key}`,
            sshKeyIds: [sshKeyId],
            activationEmail: false,
            tags: ["opennebula-edge", name, ...tagTexts(args.tags)],
            userData: cloudInit,
        };
        if (this.settings.mode === "metal") return this.create("bareMetalServer", vultr.BareMetalServer, `${name}-${key}`, common);
        return this.create("instance", vultr.Instance, `${name}-${key}`, {
            ...common,
            vpcIds: [this.vpc!.id],
            firewallGroupId: this.firewallGroup!.id,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The stack program's view

/**
 * @internal Vultr for the stack program: one provider per region (`vultr-<region>`, API key from `vultr:apiKey` or `VULTR_API_KEY`). */
export const vultrCloud = defineCloud({
    cloud: "vultr",
    settings: vultrSettings,
    routesPublicIps: true,
    privateRanges: (_name, settings) =>
        (settings.mode ?? "virtual") === "virtual" ? [{ cidr: settings.vpcCidr ?? VULTR_DEFAULT_VPC_CIDR, what: "the VPC" }] : [],
    build(name, settings, context) {
        // Vultr's API is global; one provider per region keeps the layout the same as the other clouds'.
        const provider = context.provider(
            `vultr-${settings.region}`,
            () => new vultr.Provider(`vultr-${settings.region}`, { apiKey: context.config("vultr").getSecret("apiKey") }),
        );
        return new VultrEdgeCluster(name, { ...settings, ...context.common, provider });
    },
});
