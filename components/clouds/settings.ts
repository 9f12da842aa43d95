/**
 * The settings every cloud's edge cluster shares, as zod building blocks that each cloud's own
 * schema spreads in: the hosts (named keys, or `hostCount` as shorthand) and the public IPs they
 * own, the SSH user, the bring-your-own SSH key, tags, DNS, the host firewall and the cloud
 * firewall. One schema per cloud then serves both the component's validation and the stack
 * program.
 *
 * **Stable host identity.** A host is its key: every child of a host is named after it, and every
 * public IP belongs to one host (`publicIps` counts the IPs each host owns, named
 * `<cluster>-<host>-ip-<j>`). So removing any host removes only that host's resources, adding one
 * changes nothing that belongs to the others, and a public IP stays on the host it was given to
 * until that host or that IP is removed. Addresses the package picks itself (AWS private IPs,
 * Scaleway reservations and NAT leases) are placed by the host's **slot**, a number derived from
 * its key alone (see {@link defaultSlot}).
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { CloudFirewallRule, FirewallPort, FirewallScriptArgs } from "../edge/host-scripts";
import { FIREWALL_MODES, cloudFirewallRules } from "../edge/host-scripts";
import type { EdgeFirewallArgs } from "../edge/types";
import { HOST_KEY } from "../edge/validation";
import { addressOrCidr, describe } from "../validation";
import {
    checkedBy,
    cidrSchema,
    inputSchema,
    integerSchema,
    ipv4Schema,
    linuxUserSchema,
    portSchema,
    schemaOf,
    textSchema,
} from "../validation/schema";

/** Most hosts one edge cluster holds. */
export const MAX_HOSTS = 50;

/** Number of slots: `host-<n>` keys take 0–255, other keys a slot from 256 to 3071 derived from a hash of the key. */
export const SLOTS = 3072;
const NUMBERED_SLOTS = 256;

/** The keys `hostCount` stands for: `host-0` … `host-(n-1)`. */
export function hostKeys(count: number): string[] {
    return Array.from({ length: count }, (_, i) => `host-${i}`);
}

/** FNV-1a (32 bits) of a text: a stable hash of a name. */
export function fnv1a(text: string): number {
    let hash = 0x811c9dc5;
    for (const byte of Buffer.from(text, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    return hash;
}

/**
 * The slot of a host key, a function of the key alone: `host-<n>` (n < 256) has slot n, any
 * other key a slot from 256 to 3071 derived from FNV-1a of the key. Two hosts whose slots collide
 * are refused before anything is created; give one of them `slot`.
 */
export function defaultSlot(key: string): number {
    const numbered = /^host-(0|[1-9][0-9]{0,2})$/.exec(key);
    if (numbered !== null && Number(numbered[1]) < NUMBERED_SLOTS) return Number(numbered[1]);
    return NUMBERED_SLOTS + (fnv1a(key) % (SLOTS - NUMBERED_SLOTS));
}

const hostKeySchema = z
    .string()
    .regex(HOST_KEY, "must be a host key: 1-32 lower-case letters, digits or '-', starting and ending with a letter or digit");

/**
 * @internal
 * `hosts`: host keys (`["kvm-a", "kvm-b"]`), or host keys mapped to what that host overrides
 * (`{ "kvm-a": { publicIps: 2 }, "kvm-b": {} }`). `entry` is the cloud's per-host schema.
 */
export function hostsSchema<Entry extends z.ZodType>(entry: Entry) {
    return z
        .union([z.array(hostKeySchema).min(1).max(MAX_HOSTS), z.record(z.string(), entry)], {
            error: "must list host keys, or map host keys to their settings",
        })
        .superRefine((hosts, ctx) => {
            if (Array.isArray(hosts)) {
                hosts.forEach((key, i) => {
                    if (hosts.indexOf(key) !== i)
                        ctx.addIssue({
                            code: "custom",
                            path: [i],
                            message: `lists ${JSON.stringify(key)} twice; host keys must be unique`,
                        });
                });
                return;
            }
            const keys = Object.keys(hosts);
            if (keys.length === 0 || keys.length > MAX_HOSTS)
                ctx.addIssue({ code: "custom", message: `must name 1 to ${MAX_HOSTS} hosts (got ${keys.length})` });
            for (const key of keys) {
                if (!HOST_KEY.test(key))
                    ctx.addIssue({
                        code: "custom",
                        path: [key],
                        message: `${JSON.stringify(key)} is not a host key: 1-32 lower-case letters, digits or '-', starting and ending with a letter or digit`,
                    });
            }
        });
}

/** @internal Public IPs a host owns: 0 to `max`. */
export const publicIpsSchema = (max: number) => integerSchema(0, max);

/** @internal A per-host slot (clouds that pick addresses: AWS, Scaleway). */
export const slotSchema = integerSchema(0, SLOTS - 1);

/**
 * @internal The settings of a cloud whose hosts own public IPs (at most `maxPublicIps` each): the
 * cluster's `publicIps`, and `hosts` whose entries override it (and hold `extra`, e.g. `slot`).
 */
export function publicIpSettings<Extra extends z.ZodRawShape>(maxPublicIps: number, extra: Extra) {
    const publicIps = publicIpsSchema(maxPublicIps).optional();
    return { hosts: hostsSchema(z.strictObject({ publicIps, ...extra })).optional(), publicIps };
}

/** Tags: keys and values of letters, digits, `_` and `-` (the set every cloud accepts, also as `key:value` text). */
const TAG_TEXT = /^[A-Za-z0-9_-]{0,63}$/;

/** @internal User tags on every cloud resource that takes tags. */
export const tagsSchema = z.record(z.string(), z.string()).superRefine((tags, ctx) => {
    for (const [key, value] of Object.entries(tags)) {
        if (key === "" || !TAG_TEXT.test(key) || !TAG_TEXT.test(value)) {
            ctx.addIssue({
                code: "custom",
                path: [key],
                message: `must be a tag key and value of at most 63 letters, digits, '_' or '-' each (got ${describe(`${key}=${value}`)})`,
            });
        }
    }
});

/** Tags as text for clouds whose tags are plain strings: `key:value`, or `key` for an empty value. */
export function tagTexts(tags: Record<string, string> | undefined): string[] {
    return Object.entries(tags ?? {}).map(([key, value]) => (value === "" ? key : `${key}:${value}`));
}

/** A port range and protocol, as the host firewall and the cloud firewalls take them. */
const portRangeShape = {
    /** Port, or first port of a range. Required. */
    port: portSchema,
    /** Last port of a range. Default: `port`. */
    toPort: portSchema.optional(),
    /** Default `tcp`. */
    protocol: z.enum(["tcp", "udp"]).optional(),
};

/** A port range that ends below its start is refused, naming `toPort`. */
function checkPortRange(range: FirewallPort, ctx: z.RefinementCtx): void {
    if (range.toPort !== undefined && range.toPort < range.port) {
        ctx.addIssue({ code: "custom", path: ["toPort"], message: `must not be below port ${range.port} (got ${range.toPort})` });
    }
}

/** @internal The host firewall (`firewall.sh`): see {@link EdgeFirewallArgs}. */
export const hostFirewallSchema = schemaOf<EdgeFirewallArgs>()(
    z.strictObject({
        mode: z.enum(FIREWALL_MODES).optional(),
        extraPorts: z.array(z.strictObject(portRangeShape).superRefine(checkPortRange)).optional(),
        trustedSources: z.array(checkedBy(z.string(), (value) => addressOrCidr("", value))).optional(),
    }),
);

/** An extra inbound rule of a restricted cloud firewall. */
export interface ExtraFirewallRule extends FirewallPort {
    /** Where the traffic may come from: IPv4 CIDRs, at least one. Default `["0.0.0.0/0"]`. */
    sources?: string[];
}

/** @internal An extra inbound rule of a restricted cloud firewall. */
export const extraFirewallRuleSchema = schemaOf<ExtraFirewallRule>()(
    z
        .strictObject({
            ...portRangeShape,
            sources: z.array(cidrSchema()).min(1).optional(),
        })
        .superRefine(checkPortRange),
);

/**
 * The cloud's firewall in front of the hosts (DigitalOcean cloud firewall, AWS security group,
 * Vultr firewall group). `open`: all traffic, as oneprovision had it (the host firewall still
 * applies). `restricted`: derived from the host firewall's allow-list (`cloudFirewallRules`):
 * SSH (from `sshSources`), WireGuard on the overlay's port, ICMP and the host firewall's
 * `extraPorts` from anywhere; libvirt 16509 and 16514/tcp, live migration 49152–49215/tcp and VNC
 * 5900–65535/tcp from the allow-list only (the private network, the front-end, the overlay subnet,
 * `firewall.trustedSources`); no BGP or VXLAN (they travel inside WireGuard); plus the cloud's own
 * public services and `extraRules`. Default `open`.
 */
export interface CloudFirewallArgs {
    /** `open` or `restricted`. Default `open`. */
    mode?: "open" | "restricted";
    /** Restricted mode: where SSH may come from (Pulumi and the front-end), IPv4 CIDRs. Default `["0.0.0.0/0"]`. */
    sshSources?: string[];
    /** Restricted mode: more inbound rules, e.g. the VMs' services on the public IPs. Default none. */
    extraRules?: ExtraFirewallRule[];
}

/** @internal The cloud firewall: see {@link CloudFirewallArgs}. */
export const cloudFirewallSchema = schemaOf<CloudFirewallArgs>()(
    z
        .strictObject({
            mode: z.enum(["open", "restricted"]).optional(),
            sshSources: z.array(cidrSchema()).min(1).optional(),
            extraRules: z.array(extraFirewallRuleSchema).optional(),
        })
        .superRefine((firewall, ctx) => {
            if ((firewall.mode ?? "open") === "open" && (firewall.sshSources !== undefined || firewall.extraRules !== undefined)) {
                ctx.addIssue({
                    code: "custom",
                    message: "sshSources and extraRules apply to mode restricted only (mode open allows everything)",
                });
            }
        }),
);

/** A resolved cloud firewall: its mode, the SSH sources (undefined: anywhere) and the extra rules. */
export interface CloudFirewallPlan {
    mode: "open" | "restricted";
    sshSources?: string[];
    extraRules: ExtraFirewallRule[];
}

/** The cloud firewall with its defaults applied. */
export function cloudFirewallPlan(firewall: CloudFirewallArgs | undefined): CloudFirewallPlan {
    return { mode: firewall?.mode ?? "open", sshSources: firewall?.sshSources, extraRules: firewall?.extraRules ?? [] };
}

/** The settings every cloud's edge cluster shares (each cloud adds its own, and its hosts). */
export interface CloudSettings {
    /** Shorthand for `hosts: ["host-0", …, "host-(n-1)"]`, 1–50. Default 1 (when `hosts` is not given either). */
    hostCount?: number;
    /** DNS server given to VMs on the public network (IPv4). Default `1.1.1.1`. */
    dns?: string;
    /**
     * The user SSH and the front-end log in as, with passwordless sudo. The cloud's default user
     * needs nothing more; any other name is created by cloud-init with `ssh.publicKey`. Default: the
     * cloud's image user (see each cloud).
     */
    sshUser?: string;
    /**
     * An SSH key already in the cloud account holding `ssh.publicKey`, used instead of creating one
     * (DigitalOcean: its fingerprint or id; AWS: the key pair's name; Vultr: the SSH key's id;
     * Scaleway: the IAM SSH key's id). Clouds that refuse one public key twice per account need it
     * for a second cluster with the same key. Default: a new key from `ssh.publicKey`.
     */
    sshKeyId?: pulumi.Input<string>;
    /**
     * Tags added to every cloud resource that takes tags (as `key:value` text on clouds with text
     * tags): keys of 1–63 and values of 0–63 letters, digits, `_` or `-`. Default none.
     */
    tags?: Record<string, string>;
    /** The host firewall on every host. Default `{ mode: "strict" }`. */
    firewall?: EdgeFirewallArgs;
}

/** @internal The settings every cloud shares, spread into each cloud's schema: see {@link CloudSettings}. */
export const commonSettings = {
    hostCount: integerSchema(1, MAX_HOSTS).optional(),
    dns: ipv4Schema.optional(),
    sshUser: linuxUserSchema.optional(),
    sshKeyId: inputSchema(textSchema("the cloud's id of an SSH key")).optional(),
    tags: tagsSchema.optional(),
    firewall: hostFirewallSchema.optional(),
};

/** A host's own settings where a cloud has them: the public IPs it owns, and (AWS, Scaleway) its slot. */
export interface HostSettings {
    /** Public IPs this host owns, overriding the cluster's `publicIps`. Default: the cluster's. */
    publicIps?: number;
    /** The slot that places the addresses the package picks (0–3071), overriding the one derived from the key. Default: derived from the key. */
    slot?: number;
}

/** What every cloud's settings hold of the hosts, whatever their per-host entries. */
export interface HostsSettings {
    hostCount?: number;
    hosts?: string[] | Record<string, { publicIps?: number; slot?: number }>;
    publicIps?: number;
}

/** One host of a cloud edge cluster, as planned from the settings. */
export interface PlannedHost {
    /** Its key: the name of its children and its node in the overlay. */
    key: string;
    /** How many public IPs it owns. */
    publicIps: number;
    /** Its slot: given, or derived from its key. */
    slot: number;
}

/** The hosts the settings describe, in order: `hosts` (keys or a record), else `hostCount` (default 1). */
export function planHosts(settings: HostsSettings): PlannedHost[] {
    const hosts = settings.hosts ?? hostKeys(settings.hostCount ?? 1);
    const entries: [string, { publicIps?: number; slot?: number }][] = Array.isArray(hosts)
        ? hosts.map((key) => [key, {}])
        : Object.entries(hosts);
    return entries.map(([key, entry]) => ({
        key,
        publicIps: entry.publicIps ?? settings.publicIps ?? 0,
        slot: entry.slot ?? defaultSlot(key),
    }));
}

/**
 * @internal
 * The rules of the hosts that span several settings: `hosts` or `hostCount`, not both; at most
 * `maxPublicIps` public IPs in all; and, for clouds that place addresses by slot, distinct slots.
 */
export function checkHosts(
    settings: HostsSettings,
    ctx: z.RefinementCtx,
    limits: { maxPublicIps: number; quota: string; slots?: boolean },
): void {
    if (settings.hosts !== undefined && settings.hostCount !== undefined) {
        ctx.addIssue({ code: "custom", path: ["hostCount"], message: "give either hosts (named hosts) or hostCount (host-0 …), not both" });
        return;
    }
    const hosts = planHosts(settings);
    const total = hosts.reduce((sum, host) => sum + host.publicIps, 0);
    if (total > limits.maxPublicIps) {
        ctx.addIssue({
            code: "custom",
            path: [settings.publicIps !== undefined ? "publicIps" : "hosts"],
            message: `asks for ${total} public IPs in all (${hosts.map((h) => `${h.key}: ${h.publicIps}`).join(", ")}); at most ${limits.maxPublicIps}: ${limits.quota}`,
        });
    }
    if (!limits.slots) return;
    const owners = new Map<number, string>();
    for (const host of hosts) {
        const owner = owners.get(host.slot);
        if (owner !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["hosts", host.key],
                message: `has slot ${host.slot}, as ${owner} has (slots place the addresses the package picks); give one of them another slot from 0 to ${SLOTS - 1}`,
            });
        }
        owners.set(host.slot, host.key);
    }
}

/** Anywhere, IPv4 and IPv6 (clouds whose hosts have no IPv6 keep the IPv4 part). */
export const ANYWHERE = ["0.0.0.0/0", "::/0"];

/**
 * The inbound rules of a restricted cloud firewall (see {@link cloudFirewallSchema}), in order:
 * the host firewall's own rules (`cloudFirewallRules(hostFirewall)`, SSH limited to `sshSources`),
 * the cloud's public services (`publicServices`), then the extra rules.
 */
export function restrictedRules(
    firewall: CloudFirewallPlan,
    hostFirewall: FirewallScriptArgs,
    publicServices: CloudFirewallRule[] = [],
): CloudFirewallRule[] {
    const hostRules = cloudFirewallRules(hostFirewall).map((rule) =>
        rule.key === "ssh" && firewall.sshSources !== undefined
            ? { ...rule, sources: firewall.sshSources, description: "SSH (Pulumi, the front-end)" }
            : rule,
    );
    return [
        ...hostRules,
        ...publicServices,
        ...firewall.extraRules.map((rule, i): CloudFirewallRule => ({
            key: `extra-${i}`,
            protocol: rule.protocol ?? "tcp",
            fromPort: rule.port,
            toPort: rule.toPort ?? rule.port,
            sources: rule.sources ?? ANYWHERE,
            description: "extra rule",
        })),
    ];
}

/** The IPv4 sources of a rule (for clouds whose hosts have no IPv6). */
export function ipv4Sources(rule: CloudFirewallRule): string[] {
    return rule.sources.filter((source) => !source.includes(":"));
}

/** `port` or `first-last` (`separator` between), for clouds that take ports as text; undefined for ICMP. */
export function portText(rule: CloudFirewallRule, separator: string): string | undefined {
    if (rule.fromPort === undefined) return undefined;
    return rule.fromPort === rule.toPort ? String(rule.fromPort) : `${rule.fromPort}${separator}${rule.toPort}`;
}
