/**
 * The stack configuration of the main program: its zod schema, and the check that turns raw
 * configuration values into {@link StackSettings} or a {@link StackConfigError} that names every
 * bad key the way `pulumi config` spells it (`opennebula-edge:edgeClusters[1].region`).
 *
 * Pure: nothing here reads Pulumi state or creates resources, so the Automation API entry point
 * runs the same check before it starts an engine.
 */
import { z } from "zod";
import { AWS_MAX_PUBLIC_IPS, AWS_REGIONS } from "../../components/clouds/aws";
import { DIGITALOCEAN_HYPERVISORS, DIGITALOCEAN_REGIONS, DIGITALOCEAN_SIZES } from "../../components/clouds/digitalocean";
import {
    SCALEWAY_GATEWAY_TYPES, SCALEWAY_HYPERVISORS, SCALEWAY_MAX_PUBLIC_IPS, SCALEWAY_OS_IMAGES, SCALEWAY_ZONES,
} from "../../components/clouds/scaleway";
import { VULTR_HYPERVISORS, VULTR_MAX_PUBLIC_IPS, VULTR_MODES, VULTR_REGIONS } from "../../components/clouds/vultr";
import { FIREWALL_MODES, HYPERVISORS, ONE_VERSIONS } from "../../components/edge/host-scripts";

/** The configuration namespace of the main program (`pulumi config set opennebula-edge:…`). */
export const CONFIG_NAMESPACE = "opennebula-edge";

/** Keys that hold secrets: set them with `pulumi config set --secret`; their values never appear in errors. */
export const SECRET_KEYS = ["onePassword", "sshPrivateKey", "bastionPrivateKey"] as const;

/** The clouds an edge cluster can be built on. */
export const CLOUDS = ["digitalocean", "aws", "vultr", "scaleway"] as const;
/** A cloud from {@link CLOUDS}. */
export type Cloud = (typeof CLOUDS)[number];

// ---------------------------------------------------------------------------------------------
// Building blocks

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/([0-9]|[12]\d|3[0-2])$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;
const SSH_PUBLIC_KEY = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

const text = (what: string) => z.string({ error: `must be ${what}` }).min(1, `must be ${what}`);
const ipv4 = z.string().regex(IPV4, "must be an IPv4 address such as 203.0.113.10");
const cidr = z.string().regex(CIDR, "must be an IPv4 CIDR such as 172.17.2.0/24");
const host = z.string().refine((value) => IPV4.test(value) || HOSTNAME.test(value), "must be an IPv4 address or a DNS name");
const port = z.number().int().min(1).max(65535);
const linuxUser = z.string().regex(LINUX_USER, "must be a Linux user name (lower-case letters, digits, '_', '-')");
const sshPublicKey = z.string().trim().regex(SSH_PUBLIC_KEY, "must be one OpenSSH public key line \"TYPE BASE64 [COMMENT]\"");
const count = (min: number, max: number) => z.number().int().min(min).max(max);

const firewallPort = z.strictObject({ port, toPort: port.optional(), protocol: z.enum(["tcp", "udp"]).optional() });
const hostFirewall = z.strictObject({ mode: z.enum(FIREWALL_MODES).optional(), extraPorts: z.array(firewallPort).optional() });

/** Fields every edge cluster has, whatever its cloud. */
const common = {
    /** Resource-name prefix and OpenNebula cluster name: lower-case, starts with a letter, ≤ 24 characters. */
    name: z.string().regex(/^[a-z][a-z0-9-]{0,23}$/, "must be 1-24 lower-case letters, digits or '-', starting with a letter"),
    hostCount: count(1, 50).optional(),
    dns: ipv4.optional(),
    firewall: hostFirewall.optional(),
};

const digitalOceanCluster = z.strictObject({
    ...common,
    cloud: z.literal("digitalocean"),
    region: z.enum(DIGITALOCEAN_REGIONS),
    hypervisor: z.enum(DIGITALOCEAN_HYPERVISORS).optional(),
    size: z.enum(DIGITALOCEAN_SIZES).optional(),
    image: text("an image slug or id").optional(),
    vpcId: text("a VPC id").optional(),
    vpcIpRange: cidr.optional(),
    cloudFirewall: z.enum(["open", "restricted"]).optional(),
    sshUser: linuxUser.optional(),
    sshKeyFingerprint: text("an SSH key fingerprint or id").optional(),
});

const awsCluster = z.strictObject({
    ...common,
    cloud: z.literal("aws"),
    region: z.enum(AWS_REGIONS),
    hypervisor: z.enum(HYPERVISORS).optional(),
    instanceType: z.string().regex(/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/, "must be an EC2 instance type such as c5.metal or t3.large").optional(),
    ami: z.string().regex(/^ami-[0-9a-f]{8,17}$/, "must be an AMI id such as ami-0123456789abcdef0").optional(),
    rootVolumeSize: count(8, 16384).optional(),
    availabilityZone: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, "must be an availability zone such as eu-west-2a").optional(),
    vpcCidr: cidr.optional(),
    publicIps: count(0, AWS_MAX_PUBLIC_IPS).optional(),
    securityGroup: z.strictObject({
        mode: z.enum(["open", "restricted"]).optional(),
        sshSourceCidrs: z.array(cidr).optional(),
        extraIngress: z.array(z.strictObject({ port, toPort: port.optional(), protocol: z.enum(["tcp", "udp"]).optional(), cidrs: z.array(cidr).optional() })).optional(),
    }).optional(),
    sshUser: linuxUser.optional(),
    uplinkInterface: text("an interface name").optional(),
    tags: z.record(z.string(), z.string()).optional(),
});

const vultrCluster = z.strictObject({
    ...common,
    cloud: z.literal("vultr"),
    region: z.enum(VULTR_REGIONS),
    hypervisor: z.enum(HYPERVISORS).optional(),
    mode: z.enum(VULTR_MODES).optional(),
    plan: text("a Vultr plan id").optional(),
    osId: count(1, 999999).optional(),
    publicIps: count(0, VULTR_MAX_PUBLIC_IPS).optional(),
    vpcCidr: cidr.optional(),
    cloudFirewall: z.strictObject({ mode: z.enum(["open", "restricted"]).optional(), publicPorts: z.array(firewallPort).optional() }).optional(),
    uplinkInterface: text("an interface name").optional(),
});

const scalewayCluster = z.strictObject({
    ...common,
    cloud: z.literal("scaleway"),
    /** The Elastic Metal zone (Scaleway calls it a zone; the key is `region` for every cloud). */
    region: z.enum(SCALEWAY_ZONES),
    hypervisor: z.enum(SCALEWAY_HYPERVISORS).optional(),
    offer: text("an Elastic Metal offer name").optional(),
    os: z.enum(Object.keys(SCALEWAY_OS_IMAGES) as [keyof typeof SCALEWAY_OS_IMAGES]).optional(),
    publicIps: count(0, SCALEWAY_MAX_PUBLIC_IPS).optional(),
    privateNetworkCidr: cidr.optional(),
    natCidr: cidr.optional(),
    gatewayType: z.enum(SCALEWAY_GATEWAY_TYPES).optional(),
    bastion: z.strictObject({ port: port.optional(), allowedIpRanges: z.array(cidr).optional() }).optional(),
    sshKeyId: text("an IAM SSH key id").optional(),
    uplinkInterface: text("an interface name").optional(),
    projectId: text("a Scaleway project id").optional(),
    tags: z.array(z.string()).optional(),
});

const CLUSTER_SCHEMAS = { digitalocean: digitalOceanCluster, aws: awsCluster, vultr: vultrCluster, scaleway: scalewayCluster } as const;

const edgeCluster = z.discriminatedUnion("cloud", [digitalOceanCluster, awsCluster, vultrCluster, scalewayCluster]);

const opennebula = z.strictObject({
    endpoint: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, "must be the XML-RPC URL, e.g. http://frontend:2633/RPC2"),
    username: text("an OpenNebula user name").default("oneadmin"),
    frontendSshPublicKey: sshPublicKey,
    version: z.enum(ONE_VERSIONS).optional(),
});

const ssh = z.strictObject({
    publicKey: sshPublicKey,
    port: port.optional(),
    bastion: z.strictObject({ host, user: linuxUser.optional(), port: port.optional() }).optional(),
});

const overlay = z.strictObject({
    ingress: z.strictObject({
        publicIp: host,
        sshUser: linuxUser.default("root"),
        key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-'").default("ingress"),
    }),
    subnet: cidr.optional(),
    asn: z.number().int().min(1).max(4294967295).refine((asn) => asn !== 23456, "23456 is AS_TRANS, reserved").optional(),
    topology: z.enum(["mesh", "hub"]).optional(),
    listenPort: port.optional(),
    underlayMtu: count(576, 65535).optional(),
});

const privateNetwork = z.strictObject({
    vlanId: count(1, 16777215),
    name: text("an OpenNebula network name").optional(),
    network: cidr.optional(),
    addressRange: z.strictObject({ ip: ipv4.optional(), size: count(1, 65536).optional() }).optional(),
    gateway: ipv4.optional(),
    dns: z.array(ipv4).min(1).optional(),
});

/** The virtual router: NIC 0 on an edge cluster's public network, NIC 1 on the EVPN network's first lease. */
const router = z.strictObject({
    /** The edge cluster whose public network gives the router its public IP (AWS, Vultr or Scaleway). Default: the first such cluster. */
    edgeCluster: z.string().optional(),
    /** OpenNebula name of the virtual router. Default `router`. */
    name: text("an OpenNebula name").optional(),
    /** How many public IPs SDNAT may map to private VMs. Default: all of the cluster's but the router's own. */
    publicIps: count(0, 64).optional(),
    /** Private VMs reached through the next SDNAT public IPs, in order. Default none. */
    mappings: z.array(z.strictObject({ privateIp: ipv4 })).optional(),
    /** Masquerade the private network's other traffic out of the public NIC (NAT4). Default false. */
    outboundNat: z.boolean().optional(),
    /** The appliance: exported from the marketplace into the cluster's image datastore, or an existing template. */
    appliance: z.strictObject({
        appName: text("a marketplace app name").optional(),
        marketplaceId: count(0, 2147483647).optional(),
        imageName: text("an image name").optional(),
        datastoreId: count(0, 2147483647).optional(),
        templateId: count(0, 2147483647).optional(),
    }).optional(),
    /** More appliance context (`ONEAPP_*` variables). Default none. */
    context: z.record(z.string(), z.string()).optional(),
});

/** Clouds whose public network carries addresses a virtual router can hold (DigitalOcean forwards ports instead). */
export const ROUTER_CLOUDS: readonly Cloud[] = ["aws", "vultr", "scaleway"];

/** A secret's text: the error says how to set it, and never shows the value. */
const secret = (what: string) => z
    .string({ error: (issue) => (issue.input === undefined ? `is required: ${what}` : `must be a string: ${what}`) })
    .min(1, `is required: ${what}`);

const stackKeys = z.strictObject({
    opennebula,
    onePassword: secret("the OpenNebula password (pulumi config set --secret opennebula-edge:onePassword)"),
    ssh,
    sshPrivateKey: secret("the private key matching ssh.publicKey (pulumi config set --secret opennebula-edge:sshPrivateKey < key)"),
    bastionPrivateKey: secret("the bastion's private key").optional(),
    edgeClusters: z.array(edgeCluster).min(1, "must list at least one edge cluster"),
    sharedCluster: z.boolean().optional(),
    sharedClusterName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be an OpenNebula cluster name (letters, digits, '.', '_', '-')").optional(),
    overlay: overlay.optional(),
    privateNetwork: privateNetwork.optional(),
    router: router.optional(),
});

/** The schema of every key of the {@link CONFIG_NAMESPACE} namespace. */
export const stackConfigSchema = stackKeys.superRefine(crossChecks);

/** The configuration after the schema, with its defaults. */
export type StackSettings = z.output<typeof stackConfigSchema>;
/** One edge cluster of {@link StackSettings}. */
export type EdgeClusterSettings = StackSettings["edgeClusters"][number];
/** The edge cluster settings of one cloud. */
export type EdgeClusterSettingsOf<C extends Cloud> = Extract<EdgeClusterSettings, { cloud: C }>;

/** Rules that span several keys. */
function crossChecks(config: z.output<typeof stackKeys>, ctx: z.RefinementCtx): void {
    const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const clusters = config.edgeClusters;
    const seen = new Map<string, number>();
    clusters.forEach((cluster, i) => {
        if (seen.has(cluster.name)) add(["edgeClusters", i, "name"], `"${cluster.name}" is already the name of edgeClusters[${seen.get(cluster.name)}]; names must be unique`);
        seen.set(cluster.name, i);
        checkCloudRules(cluster, (key, message) => add(["edgeClusters", i, key], message));
    });
    if (config.sharedCluster === false && config.sharedClusterName !== undefined) {
        add(["sharedClusterName"], "applies only with sharedCluster true (or several edge clusters)");
    }
    if (config.bastionPrivateKey !== undefined && config.ssh?.bastion === undefined) {
        add(["bastionPrivateKey"], "applies only with ssh.bastion");
    }
    if (config.privateNetwork !== undefined && config.overlay === undefined) {
        add(["privateNetwork"], "needs overlay: the EVPN network runs over the WireGuard interface of the overlay");
    }
    if (config.router !== undefined && config.privateNetwork === undefined) {
        add(["router"], "needs privateNetwork: the router's second NIC is the EVPN network's first lease");
    }
    if (config.router !== undefined) checkRouterCluster(config.router.edgeCluster, clusters, add);
}

/** The router's edge cluster must exist, be on a cloud with routable public IPs, and have at least one. */
function checkRouterCluster(name: string | undefined, clusters: EdgeClusterSettings[], add: (path: (string | number)[], message: string) => void): void {
    const eligible = clusters.filter((cluster) => ROUTER_CLOUDS.includes(cluster.cloud)).map((cluster) => cluster.name);
    if (name === undefined) {
        if (eligible.length === 0) add(["router"], `needs an edge cluster on ${ROUTER_CLOUDS.join(", ")} (its public network holds the router's public IP; DigitalOcean forwards ports instead)`);
        return;
    }
    const cluster = clusters.find((candidate) => candidate.name === name);
    if (cluster === undefined) {
        add(["router", "edgeCluster"], `must be the name of an edge cluster: one of ${clusters.map((c) => c.name).join(", ")} (got ${JSON.stringify(name)})`);
    } else if (!ROUTER_CLOUDS.includes(cluster.cloud)) {
        add(["router", "edgeCluster"], `must be an edge cluster on ${ROUTER_CLOUDS.join(", ")}: ${name} is on ${cluster.cloud}, which forwards ports instead of routing public IPs`);
    } else if ("publicIps" in cluster && cluster.publicIps === 0) {
        add(["router", "edgeCluster"], `${name} has publicIps: 0; the router needs at least one public IP`);
    }
}

/** The rules of each cloud that tie several of a cluster's keys together. */
function checkCloudRules(cluster: EdgeClusterSettings, add: (key: string, message: string) => void): void {
    if (cluster.cloud === "aws") {
        const instanceType = cluster.instanceType ?? "c5.metal";
        const metal = instanceType.split(".")[1].startsWith("metal");
        if (cluster.hypervisor === "kvm" && !metal) add("hypervisor", `kvm needs a metal instance type (*.metal); ${instanceType} has no hardware virtualization — use qemu or lxc`);
        if (cluster.availabilityZone !== undefined && !new RegExp(`^${cluster.region}[a-z]$`).test(cluster.availabilityZone)) {
            add("availabilityZone", `must be a zone of ${cluster.region}, e.g. ${cluster.region}b (got ${JSON.stringify(cluster.availabilityZone)})`);
        }
    }
    if (cluster.cloud === "vultr") {
        const mode = cluster.mode ?? "virtual";
        const allowed = VULTR_HYPERVISORS[mode];
        if (cluster.hypervisor !== undefined && !allowed.includes(cluster.hypervisor)) {
            add("hypervisor", `must be one of ${allowed.join(", ")} in mode ${mode} (got ${JSON.stringify(cluster.hypervisor)})`);
        }
        if (mode === "metal" && cluster.vpcCidr !== undefined) add("vpcCidr", "applies to mode virtual only");
        if (mode === "metal" && cluster.cloudFirewall !== undefined) add("cloudFirewall", "applies to mode virtual only (use firewall, the host firewall)");
    }
    if (cluster.cloud === "digitalocean" && cluster.vpcId !== undefined && cluster.vpcIpRange !== undefined) {
        add("vpcIpRange", "give either vpcId (an existing VPC) or vpcIpRange (a new one), not both");
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/** One bad key and what is wrong with it. */
export interface StackConfigIssue {
    /** The full key as `pulumi config` spells it, e.g. `opennebula-edge:edgeClusters[1].region`. */
    key: string;
    /** What is wrong and what is allowed. */
    problem: string;
}

/** The stack configuration is invalid: one line per bad key, each naming the key. */
export class StackConfigError extends Error {
    constructor(readonly issues: StackConfigIssue[]) {
        super(issues.map((issue) => `${issue.key}: ${issue.problem}`).join("\n"));
        this.name = "StackConfigError";
    }

    /** The error for a single key (`path` inside the namespace, e.g. `overlay.subnet`). */
    static of(path: string, problem: string): StackConfigError {
        return new StackConfigError([{ key: `${CONFIG_NAMESPACE}:${path}`, problem }]);
    }
}

/**
 * Checks raw configuration values (keys without the namespace; objects already parsed from
 * JSON) and applies the schema's defaults.
 *
 * @throws StackConfigError naming every bad key.
 */
export function parseStackSettings(raw: Record<string, unknown>): StackSettings {
    const result = stackConfigSchema.safeParse(raw, { reportInput: true });
    if (result.success) return result.data;
    throw new StackConfigError(result.error.issues.flatMap((issue): StackConfigIssue[] => {
        if (issue.code === "unrecognized_keys") {
            const known = knownKeysAt(issue.path, raw);
            const hint = known ? `; known keys here: ${known.join(", ")}` : "";
            return issue.keys.map((key) => ({ key: keyOf([...issue.path, key]), problem: `is not a known key${hint}` }));
        }
        return [{ key: keyOf(issue.path), problem: problemOf(issue) }];
    }));
}

/** `["edgeClusters", 1, "region"]` → `opennebula-edge:edgeClusters[1].region`. */
export function keyOf(path: readonly PropertyKey[]): string {
    const rest = path.slice(1).map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
    return `${CONFIG_NAMESPACE}:${String(path[0] ?? "")}${rest}`;
}

/** A problem in words: what is allowed, and (except for secrets) what was given. */
function problemOf(issue: z.core.$ZodIssue): string {
    const isSecret = (SECRET_KEYS as readonly PropertyKey[]).includes(issue.path[0]);
    const input = (issue as { input?: unknown }).input;
    const got = isSecret || input === undefined || typeof input === "object" ? "" : ` (got ${JSON.stringify(input)})`;
    // A message written in this schema says it best; zod's own ("Too small: …", "Invalid …") are reworded.
    if (!/^(Invalid|Too (small|big)|Unrecognized)/.test(issue.message)) return `${issue.message}${got}`;
    switch (issue.code) {
        case "invalid_value":
            return `must be one of ${issue.values.map(String).join(", ")}${got}${versionHint(issue.path, input)}`;
        case "invalid_union": {
            const options = (issue as { options?: unknown[] }).options;
            const value = (input as Record<string, unknown> | undefined)?.cloud;
            return options ? `must be one of ${options.join(", ")} (got ${JSON.stringify(value)})` : issue.message;
        }
        case "invalid_type":
            if (input === undefined) return "is required";
            return `must be ${article(issue.expected)}${got}`;
        case "too_small":
        case "too_big":
            return `${rangeProblem(issue.code, issue.origin, Number(issue.code === "too_small" ? issue.minimum : issue.maximum))}${got}`;
        default:
            return `${issue.message}${got}`;
    }
}

/** "must be at least 1", "must list at most 5 items", "must have at least 1 character". */
function rangeProblem(code: "too_small" | "too_big", origin: string, limit: number): string {
    const bound = code === "too_small" ? "at least" : "at most";
    if (origin === "array") return `must list ${bound} ${limit} item${limit === 1 ? "" : "s"}`;
    if (origin === "string") return `must have ${bound} ${limit} character${limit === 1 ? "" : "s"}`;
    return `must be ${bound} ${limit}`;
}

function article(expected: string): string {
    if (expected === "int") return "an integer";
    if (expected === "array") return "a list";
    if (expected === "object") return "a map of keys";
    return `a ${expected}`;
}

/** YAML reads `version: 6.10` as the number 6.1: say to quote it. */
function versionHint(path: readonly PropertyKey[], input: unknown): string {
    return path.join(".") === "opennebula.version" && typeof input === "number" ? ` — quote it in YAML: version: "6.10"` : "";
}

/** The keys allowed where an unknown key was found (the top level, or an edge cluster of a known cloud). */
function knownKeysAt(path: readonly PropertyKey[], raw: Record<string, unknown>): string[] | undefined {
    if (path.length === 0) return Object.keys(stackConfigSchema.shape);
    if (path.length === 2 && path[0] === "edgeClusters") {
        const cloud = (raw.edgeClusters as Record<string, unknown>[] | undefined)?.[path[1] as number]?.cloud as Cloud;
        return CLUSTER_SCHEMAS[cloud] ? Object.keys(CLUSTER_SCHEMAS[cloud].shape) : undefined;
    }
    return undefined;
}
