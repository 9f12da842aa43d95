/**
 * The stack configuration of the main program: its zod schema, and the check that turns raw
 * configuration values into {@link StackSettings} or a {@link StackConfigError} that names every
 * bad key the way `pulumi config` spells it (`opennebula-edge:edgeClusters[1].region`).
 *
 * Pure: nothing here reads Pulumi state or creates resources, so the Automation API entry point
 * runs the same check before it starts an engine.
 */
import { z } from "zod";
import { awsCloud } from "../../components/clouds/aws";
import type { CloudDefinition } from "../../components/clouds/definition";
import { digitalOceanCloud } from "../../components/clouds/digitalocean";
import { scalewayCloud } from "../../components/clouds/scaleway";
import { vultrCloud } from "../../components/clouds/vultr";
import { ONE_VERSIONS } from "../../components/edge/host-scripts";
import { DEFAULT_NETWORK } from "../../components/overlay/evpn-network";
import { DEFAULT_SUBNET } from "../../components/overlay/wireguard-config";
import { LINUX_USER_NAME, addressOrCidr, cidrOf, cidrsOverlap } from "../../components/validation";
import {
    checkedBy,
    cidrSchema,
    integerSchema,
    ipv4Schema,
    issueProblem,
    portSchema,
    sshPrivateKeySchema,
    sshPublicKeySchema,
    textSchema,
} from "../../components/validation/schema";

/** The configuration namespace of the main program (`pulumi config set opennebula-edge:…`). */
export const CONFIG_NAMESPACE = "opennebula-edge";

/** Keys that hold secrets: set them with `pulumi config set --secret`; their values never appear in errors. */
export const SECRET_KEYS = ["onePassword", "sshPrivateKey", "bastionPrivateKey"] as const;

/** The clouds an edge cluster can be built on, each defined next to its component. A new cloud is one line here. */
export const CLOUDS: readonly CloudDefinition[] = [digitalOceanCloud, awsCloud, vultrCloud, scalewayCloud];

/** The definition of a cloud by its `cloud` key. */
export function cloudDefinition(cloud: string): CloudDefinition {
    const definition = CLOUDS.find((candidate) => candidate.cloud === cloud);
    if (definition === undefined) throw new Error(`no cloud ${JSON.stringify(cloud)} (clouds: ${CLOUDS.map((c) => c.cloud).join(", ")})`);
    return definition;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const host = z
    .string()
    .refine((value) => ipv4Schema.safeParse(value).success || HOSTNAME.test(value), "must be an IPv4 address or a DNS name");
const linuxUser = z.string().regex(LINUX_USER_NAME, "must be a Linux user name (lower-case letters, digits, '_', '-')");
const cidr = cidrSchema();

const [firstCloud, ...otherClouds] = CLOUDS.map((cloud) => cloud.cloud);

/**
 * An edge cluster in stack configuration: its name, its cloud, and that cloud's settings — checked
 * by the cloud's own schema, the one its component validates its arguments with.
 */
const edgeCluster = z
    .object({
        /** Resource-name prefix and OpenNebula cluster name: lower-case, starts with a letter, ≤ 24 characters. */
        name: z.string().regex(/^[a-z][a-z0-9-]{0,23}$/, "must be 1-24 lower-case letters, digits or '-', starting with a letter"),
        /** The cloud, one of {@link CLOUDS}. */
        cloud: z.enum([firstCloud, ...otherClouds]),
    })
    .catchall(z.unknown())
    .superRefine(({ name: _name, cloud, ...settings }, ctx) => {
        const definition = CLOUDS.find((candidate) => candidate.cloud === cloud);
        if (definition === undefined) return;
        const known = ["name", "cloud", ...Object.keys(definition.settings.shape)].join(", ");
        const result = definition.settings.strict().safeParse(settings, { reportInput: true });
        for (const issue of result.error?.issues ?? []) {
            if (issue.code === "unrecognized_keys") {
                for (const key of issue.keys)
                    ctx.addIssue({ code: "custom", path: [...issue.path, key], message: `is not a known key; known keys here: ${known}` });
            } else {
                ctx.addIssue({ code: "custom", path: issue.path, message: issueProblem(issue) });
            }
        }
    });

const opennebula = z.strictObject({
    endpoint: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, "must be the XML-RPC URL, e.g. http://frontend:2633/RPC2"),
    username: textSchema("an OpenNebula user name").default("oneadmin"),
    frontendSshPublicKey: sshPublicKeySchema,
    version: z.enum(ONE_VERSIONS).optional(),
    /** Where the front-end reaches the hosts from (VNC, libvirt). Default: the endpoint's host when it is an IP address. */
    frontendAddresses: z.array(checkedBy(z.string(), (value) => addressOrCidr("", value))).optional(),
});

const ssh = z.strictObject({
    publicKey: sshPublicKeySchema.optional(),
    port: portSchema.optional(),
    bastion: z.strictObject({ host, user: linuxUser.optional(), port: portSchema.optional() }).optional(),
});

const overlay = z.strictObject({
    ingress: z.strictObject({
        publicIp: host,
        sshUser: linuxUser.default("root"),
        key: z
            .string()
            .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be 1-63 letters, digits, '.', '_' or '-'")
            .default("ingress"),
    }),
    subnet: cidr.optional(),
    asn: z
        .number()
        .int()
        .min(1)
        .max(4294967295)
        .refine((asn) => asn !== 23456, "23456 is AS_TRANS, reserved")
        .optional(),
    topology: z.enum(["mesh", "hub"]).optional(),
    listenPort: portSchema.optional(),
    underlayMtu: integerSchema(576, 65535).optional(),
});

const privateNetwork = z.strictObject({
    vlanId: integerSchema(1, 16777215),
    name: textSchema("an OpenNebula network name").optional(),
    network: cidr.optional(),
    addressRange: z.strictObject({ ip: ipv4Schema.optional(), size: integerSchema(1, 65536).optional() }).optional(),
    gateway: ipv4Schema.optional(),
    dns: z.array(ipv4Schema).min(1).optional(),
});

/** The virtual router: NIC 0 on an edge cluster's public network, NIC 1 on the EVPN network's first lease. */
const router = z.strictObject({
    /** The edge cluster whose public network gives the router its public IP (AWS, Vultr or Scaleway). Default: the first such cluster. */
    edgeCluster: z.string().optional(),
    /** OpenNebula name of the virtual router. Default `router`. */
    name: textSchema("an OpenNebula name").optional(),
    /** How many public IPs SDNAT may map to private VMs. Default: all of the cluster's but the router's own. */
    publicIps: integerSchema(0, 64).optional(),
    /** Private VMs reached through the next SDNAT public IPs, in order. Default none. */
    mappings: z.array(z.strictObject({ privateIp: ipv4Schema })).optional(),
    /** Masquerade the private network's other traffic out of the public NIC (NAT4). Default false. */
    outboundNat: z.boolean().optional(),
    /** The appliance: exported from the marketplace into the cluster's image datastore, or an existing template. */
    appliance: z
        .strictObject({
            appName: textSchema("a marketplace app name").optional(),
            marketplaceId: integerSchema(0, 2147483647).optional(),
            imageName: textSchema("an image name").optional(),
            datastoreId: integerSchema(0, 2147483647).optional(),
            templateId: integerSchema(0, 2147483647).optional(),
        })
        .optional(),
    /** More appliance context (`ONEAPP_*` variables). Default none. */
    context: z.record(z.string(), z.string()).optional(),
});

/** A secret's text: the error says how to set it, and never shows the value. */
const secret = (what: string) =>
    z
        .string({ error: (issue) => (issue.input === undefined ? `is required: ${what}` : `must be a string: ${what}`) })
        .min(1, `is required: ${what}`);

/** A secret private key in PEM form: the error says how to set it, and never shows the value. */
const privateKey = (what: string) => secret(what).pipe(sshPrivateKeySchema);

const stackKeys = z.strictObject({
    opennebula,
    onePassword: secret("the OpenNebula password (pulumi config set --secret opennebula-edge:onePassword)"),
    ssh: ssh.default({}),
    sshPrivateKey: privateKey(
        "the private key matching ssh.publicKey (pulumi config set --secret opennebula-edge:sshPrivateKey < key)",
    ).optional(),
    bastionPrivateKey: privateKey("the bastion's private key").optional(),
    edgeClusters: z.array(edgeCluster).min(1, "must list at least one edge cluster"),
    sharedCluster: z.boolean().optional(),
    sharedClusterName: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, "must be an OpenNebula cluster name (letters, digits, '.', '_', '-')")
        .optional(),
    overlay: overlay.optional(),
    privateNetwork: privateNetwork.optional(),
    router: router.optional(),
});

/** The schema of every key of the {@link CONFIG_NAMESPACE} namespace. */
export const stackConfigSchema = stackKeys.superRefine(crossChecks);

/** The configuration after the schema, with its defaults. */
export type StackSettings = z.output<typeof stackConfigSchema>;
/** One edge cluster of {@link StackSettings}: its name, its cloud and that cloud's settings. */
export type EdgeClusterSettings = StackSettings["edgeClusters"][number];

/** The clouds whose public IPs a virtual router can hold (DigitalOcean forwards ports instead). */
export function routerClouds(): string[] {
    return CLOUDS.filter((cloud) => cloud.routesPublicIps).map((cloud) => cloud.cloud);
}

/** How many public IPs an edge cluster has in all (its hosts' own). */
export function publicIpCount(cluster: EdgeClusterSettings): number {
    return cloudDefinition(cluster.cloud)
        .hosts(cluster)
        .reduce((sum, host) => sum + host.publicIps, 0);
}

/** Rules that span several keys. */
function crossChecks(config: z.output<typeof stackKeys>, ctx: z.RefinementCtx): void {
    if (ctx.issues.length > 0) return; // the rules across keys need every key valid on its own
    const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
    const clusters = config.edgeClusters;
    const seen = new Map<string, number>();
    clusters.forEach((cluster, i) => {
        if (seen.has(cluster.name))
            add(
                ["edgeClusters", i, "name"],
                `"${cluster.name}" is already the name of edgeClusters[${seen.get(cluster.name)}]; names must be unique`,
            );
        seen.set(cluster.name, i);
    });
    if (config.sharedCluster === false && config.sharedClusterName !== undefined) {
        add(["sharedClusterName"], "applies only with sharedCluster true (or several edge clusters)");
    }
    if (config.ssh.publicKey !== undefined && config.sshPrivateKey === undefined) {
        add(
            ["sshPrivateKey"],
            "is required with ssh.publicKey: the private key of that pair (pulumi config set --secret opennebula-edge:sshPrivateKey < key), or set neither and a key pair is generated",
        );
    }
    if (config.sshPrivateKey !== undefined && config.ssh.publicKey === undefined) {
        add(
            ["ssh", "publicKey"],
            "is required with sshPrivateKey: the public key of that pair, or set neither and a key pair is generated",
        );
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
    checkAddressPlan(config, add);
}

/**
 * The overlay's subnet and the EVPN network must not overlap any edge cluster's private ranges
 * (VPCs, private networks, the VMs' NAT or forwarding ranges): a host would route the overlay's
 * or the VMs' traffic into its own network instead. (The two against each other, and the router's
 * mappings against the EVPN network, are the planners' checks.)
 */
function checkAddressPlan(config: z.output<typeof stackKeys>, add: (path: (string | number)[], message: string) => void): void {
    const ranges = config.edgeClusters.flatMap((cluster) =>
        cloudDefinition(cluster.cloud)
            .privateRanges(cluster.name, cluster)
            .map((range) => ({ ...range, cluster: cluster.name })),
    );
    const check = (path: (string | number)[], cidr: string) => {
        const clash = ranges.find((range) => cidrsOverlap(cidrOf(cidr), cidrOf(range.cidr)));
        if (clash)
            add(
                path,
                `${cidr} overlaps ${clash.what} of edge cluster ${clash.cluster} (${clash.cidr}); pick a range that overlaps no edge cluster's private ranges`,
            );
    };
    if (config.overlay !== undefined) check(["overlay", "subnet"], config.overlay.subnet ?? DEFAULT_SUBNET);
    if (config.privateNetwork !== undefined) check(["privateNetwork", "network"], config.privateNetwork.network ?? DEFAULT_NETWORK);
}

/** The router's edge cluster must exist, be on a cloud with routable public IPs, and have at least one. */
function checkRouterCluster(
    name: string | undefined,
    clusters: EdgeClusterSettings[],
    add: (path: (string | number)[], message: string) => void,
): void {
    const routable = routerClouds();
    if (name === undefined) {
        if (!clusters.some((cluster) => routable.includes(cluster.cloud))) {
            add(
                ["router"],
                `needs an edge cluster on ${routable.join(", ")} (its public network holds the router's public IP; DigitalOcean forwards ports instead)`,
            );
        }
        return;
    }
    const cluster = clusters.find((candidate) => candidate.name === name);
    if (cluster === undefined) {
        add(
            ["router", "edgeCluster"],
            `must be the name of an edge cluster: one of ${clusters.map((c) => c.name).join(", ")} (got ${JSON.stringify(name)})`,
        );
    } else if (!routable.includes(cluster.cloud)) {
        add(
            ["router", "edgeCluster"],
            `must be an edge cluster on ${routable.join(", ")}: ${name} is on ${cluster.cloud}, which forwards ports instead of routing public IPs`,
        );
    } else if (publicIpCount(cluster) === 0) {
        add(["router", "edgeCluster"], `${name} has no public IPs (publicIps: 0); the router needs at least one`);
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
    throw new StackConfigError(
        result.error.issues.flatMap((issue): StackConfigIssue[] => {
            if (issue.code === "unrecognized_keys") {
                const known = knownKeysAt(issue.path);
                const hint = known ? `; known keys here: ${known.join(", ")}` : "";
                return issue.keys.map((key) => ({ key: keyOf([...issue.path, key]), problem: `is not a known key${hint}` }));
            }
            return [{ key: keyOf(issue.path), problem: problemOf(issue) }];
        }),
    );
}

/** `["edgeClusters", 1, "region"]` → `opennebula-edge:edgeClusters[1].region`. */
export function keyOf(path: readonly PropertyKey[]): string {
    const rest = path
        .slice(1)
        .map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`))
        .join("");
    return `${CONFIG_NAMESPACE}:${String(path[0] ?? "")}${rest}`;
}

/** A problem in words, as the components say it; a secret's value is never shown. */
function problemOf(issue: z.core.$ZodIssue): string {
    const isSecret = (SECRET_KEYS as readonly PropertyKey[]).includes(issue.path[0]);
    return `${issueProblem(issue, isSecret)}${versionHint(issue.path, (issue as { input?: unknown }).input)}`;
}

/** YAML reads `version: 6.10` as the number 6.1: say to quote it. */
function versionHint(path: readonly PropertyKey[], input: unknown): string {
    return path.join(".") === "opennebula.version" && typeof input === "number" ? ` — quote it in YAML: version: "6.10"` : "";
}

/** The keys allowed where an unknown key was found at the top level. */
function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
    return path.length === 0 ? Object.keys(stackConfigSchema.shape) : undefined;
}
