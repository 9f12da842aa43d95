/**
 * The pure half of `EdgeVirtualRouter`: argument checks and the plan (which public address the
 * router takes, which ones SDNAT may map, which private VM each mapping reaches, and the
 * appliance's context). Runs before anything is created; every error names the argument.
 */
import type * as pulumi from "@pulumi/pulumi";
import { nameProblem } from "../opennebula/resources/provider-kit";
import type { Ipv4Cidr } from "../validation";
import { ConfigError, booleanOr, cidrContains, describe, integerIn, ipv4, ipv4Cidr, isKnown, unique } from "../validation";

/** The marketplace app of OpenNebula's virtual router appliance. */
export const DEFAULT_APPLIANCE_APP = "Service Virtual Router";

/** NIC 0 (`eth0`) is on the public network, NIC 1 (`eth1`) on the private one. */
export const SDNAT_INTERFACES = "eth0 eth1";

/** The public network the router's NIC 0 and the SDNAT addresses come from. */
export interface RouterPublicNetworkArgs {
    /** OpenNebula ID of the network (e.g. an edge cluster's `publicNetworkId`). Required. */
    id: pulumi.Input<number>;
    /**
     * The network's addresses (its leases' IPs), in order: on AWS the secondary private IPs the
     * Elastic IPs map to, on Vultr the reserved IPs. The router takes one, SDNAT maps the others.
     * The list's length must be known when the program runs; its entries may be Outputs (checked
     * when they are plain). Required, at least one.
     */
    addresses: pulumi.Input<string>[];
}

/** The private (EVPN) network behind the router. */
export interface RouterPrivateNetworkArgs {
    /** OpenNebula ID of the network (e.g. `EvpnPrivateNetwork.networkIds`' value for the front-end). Required. */
    id: pulumi.Input<number>;
    /** The network's first lease: the router's NIC 1 address and the VMs' GATEWAY (`EvpnPrivateNetwork.gateway`). Required. */
    gateway: string;
    /** The network's subnet, e.g. `172.17.2.0/24`, to check the gateway and the mappings against. Default: not checked. */
    subnet?: string;
}

/** One private VM reached through a public address (1:1 SDNAT). */
export interface RouterMappingArgs {
    /** The VM's address on the private network (its NIC 0). Required. */
    privateIp: string;
    /** The public address it answers on, one of the plain SDNAT addresses. Default: the next SDNAT address not given to another mapping. */
    publicIp?: string;
}

/** A decided mapping: the public address (possibly an Output) and the private VM's address. */
export interface PlannedMapping {
    publicIp: pulumi.Input<string>;
    privateIp: string;
}

/** Where the appliance's VM template comes from: exported from the marketplace, or an existing one. */
export interface RouterApplianceArgs {
    /** Image datastore to export the appliance into. Required unless `templateId` is given. */
    datastoreId?: pulumi.Input<number>;
    /** Marketplace app to export. Default `"Service Virtual Router"`. */
    appName?: string;
    /** Marketplace of the app. Default: the one that has it. */
    marketplaceId?: pulumi.Input<number>;
    /** Name of the exported image and VM template. Default: `<component name>-appliance`. */
    imageName?: string;
    /** Escape hatch: an existing virtual router VM template (`VROUTER = "YES"`) instead of an export. */
    templateId?: pulumi.Input<number>;
}

/** The arguments of `EdgeVirtualRouter` that shape the plan, which {@link planEdgeVirtualRouter} checks. */
export interface RouterPlanArgs {
    /** The public network: its ID and its addresses. NIC 0 takes `routerPublicIp`; SDNAT maps the others. Required. */
    publicNetwork: RouterPublicNetworkArgs;
    /** The EVPN private network: its ID and first lease (the gateway), which NIC 1 takes. Required. */
    privateNetwork: RouterPrivateNetworkArgs;
    /**
     * The appliance: `{ datastoreId }` exports the marketplace app (default "Service Virtual Router")
     * into that image datastore; `{ templateId }` uses an existing virtual router template instead.
     * Required.
     */
    appliance: RouterApplianceArgs;
    /** The router's public address, one of `publicNetwork.addresses`. Default: the first of them. */
    routerPublicIp?: string;
    /**
     * How many public addresses SDNAT may map to private VMs: at most the public network's size minus
     * one (the router's own). Default: all of them (the seed: a pool of 5, one for the router → 4).
     */
    publicIps?: number;
    /** Private VMs to reach through public addresses, at most `publicIps`. Default none. */
    mappings?: RouterMappingArgs[];
    /** OpenNebula name of the virtual router. Default: the component name. */
    routerName?: pulumi.Input<string>;
    /** Masquerade the private network's traffic out of `eth0` (NAT4), for VMs without a mapping. Default false. */
    outboundNat?: boolean;
    /** More appliance context, e.g. `{ ONEAPP_VNF_DNS_ENABLED: "YES" }`; the SDNAT, routing, NAT4, TOKEN and NETWORK keys are the component's. Default none. */
    context?: { [key: string]: pulumi.Input<string> };
}

/** What {@link planEdgeVirtualRouter} decides. */
export interface RouterPlan {
    /** The router's address on the public network (NIC 0). */
    routerPublicIp: pulumi.Input<string>;
    /** The router's address on the private network (NIC 1): the private network's gateway. */
    routerPrivateIp: string;
    /** The public addresses SDNAT may map, in order. */
    sdnatPublicIps: pulumi.Input<string>[];
    /** Every mapping, in the order given. */
    mappings: PlannedMapping[];
    /** The context the component sets on the appliance (merged into the template's CONTEXT). */
    context: Record<string, pulumi.Input<string>>;
    /** Whether the appliance is exported from the marketplace (false: an existing template is used). */
    exportAppliance: boolean;
}

/** The context keys the component owns; a `context` argument must not set them. */
const MANAGED_CONTEXT = [
    "NETWORK",
    "TOKEN",
    "ONEAPP_VNF_ROUTER4_ENABLED",
    "ONEAPP_VNF_SDNAT4_ENABLED",
    "ONEAPP_VNF_SDNAT4_INTERFACES",
    "ONEAPP_VNF_NAT4_ENABLED",
    "ONEAPP_VNF_NAT4_INTERFACES_OUT",
];

/**
 * Checks the arguments and decides the addresses and the context.
 *
 * @throws ConfigError naming the argument, e.g. `publicNetwork.addresses[2]`, `publicIps`,
 *   `routerPublicIp`, `privateNetwork.gateway`, `mappings[1].privateIp`, `appliance`, `context.TOKEN`.
 */
export function planEdgeVirtualRouter(args: RouterPlanArgs): RouterPlan {
    if (!args || typeof args !== "object") throw new ConfigError("args", "are required: { publicNetwork, privateNetwork, appliance, … }");
    const pool = checkPublicNetwork(args.publicNetwork);
    const routerPrivateIp = checkPrivateNetwork(args.privateNetwork);
    const routerIndex = args.routerPublicIp === undefined ? 0 : pool.indexOf(ipv4("routerPublicIp", args.routerPublicIp));
    if (routerIndex < 0) {
        throw new ConfigError(
            "routerPublicIp",
            `${args.routerPublicIp} is not one of publicNetwork.addresses (${pool.filter(isKnown).join(", ")})`,
        );
    }
    const available = pool.filter((_, i) => i !== routerIndex);
    const publicIps = checkPublicIps(args.publicIps, pool.length);
    const sdnatPublicIps = available.slice(0, publicIps);
    const mappings = checkMappings(args.mappings, sdnatPublicIps, args.privateNetwork);
    const exportAppliance = checkAppliance(args.appliance);
    checkRouterName(args.routerName);
    return {
        routerPublicIp: pool[routerIndex],
        routerPrivateIp,
        sdnatPublicIps,
        mappings,
        context: applianceContext(args),
        exportAppliance,
    };
}

function checkPublicNetwork(network: RouterPublicNetworkArgs | undefined): pulumi.Input<string>[] {
    if (!network || typeof network !== "object") throw new ConfigError("publicNetwork", "is required: { id, addresses }");
    checkId("publicNetwork.id", network.id);
    if (!Array.isArray(network.addresses) || network.addresses.length === 0) {
        throw new ConfigError(
            "publicNetwork.addresses",
            `must list the public network's addresses, at least one (got ${describe(network.addresses)})`,
        );
    }
    const addresses = network.addresses.map((ip, i) => (isKnown(ip) ? ipv4(`publicNetwork.addresses[${i}]`, ip) : ip));
    unique(
        addresses.map((ip) => (isKnown(ip) ? ip : undefined)),
        (i) => `publicNetwork.addresses[${i}]`,
        "address",
    );
    return addresses;
}

function checkPrivateNetwork(network: RouterPrivateNetworkArgs | undefined): string {
    if (!network || typeof network !== "object") throw new ConfigError("privateNetwork", "is required: { id, gateway, subnet? }");
    checkId("privateNetwork.id", network.id);
    const gateway = ipv4("privateNetwork.gateway", network.gateway);
    if (network.subnet !== undefined) {
        const subnet = ipv4Cidr("privateNetwork.subnet", network.subnet);
        if (!cidrContains(subnet, gateway)) {
            throw new ConfigError("privateNetwork.gateway", `${gateway} is not in privateNetwork.subnet ${network.subnet}`);
        }
    }
    return gateway;
}

function checkPublicIps(value: number | undefined, poolSize: number): number {
    const max = poolSize - 1;
    if (value === undefined) return max;
    if (!Number.isInteger(value) || value < 0 || value > max) {
        throw new ConfigError(
            "publicIps",
            `must be an integer from 0 to ${max}: the public network has ${poolSize} address${poolSize === 1 ? "" : "es"} and the router takes one (got ${describe(value)})`,
        );
    }
    return value;
}

function checkMappings(
    mappings: RouterMappingArgs[] | undefined,
    sdnatPublicIps: pulumi.Input<string>[],
    privateNetwork: RouterPrivateNetworkArgs,
): PlannedMapping[] {
    if (mappings === undefined) return [];
    if (!Array.isArray(mappings))
        throw new ConfigError("mappings", `must be a list of { privateIp, publicIp? } (got ${describe(mappings)})`);
    if (mappings.length > sdnatPublicIps.length) {
        throw new ConfigError(
            "mappings",
            `has ${mappings.length} entries but SDNAT may map only ${sdnatPublicIps.length} public address${sdnatPublicIps.length === 1 ? "" : "es"} (publicIps)`,
        );
    }
    const subnet: Ipv4Cidr | undefined =
        privateNetwork.subnet === undefined ? undefined : ipv4Cidr("privateNetwork.subnet", privateNetwork.subnet);
    const privateIps = mappings.map((m, i) => {
        if (!m || typeof m !== "object") throw new ConfigError(`mappings[${i}]`, `must be { privateIp, publicIp? } (got ${describe(m)})`);
        const ip = ipv4(`mappings[${i}].privateIp`, m.privateIp);
        if (ip === privateNetwork.gateway)
            throw new ConfigError(`mappings[${i}].privateIp`, `${ip} is the router's own private address (the gateway)`);
        if (subnet && !cidrContains(subnet, ip)) {
            throw new ConfigError(
                `mappings[${i}].privateIp`,
                `${ip} is not in privateNetwork.subnet ${privateNetwork.subnet}: SDNAT maps only addresses of the router's private interface`,
            );
        }
        return ip;
    });
    unique(privateIps, (i) => `mappings[${i}].privateIp`, "private address");
    const explicit = mappings.map((m, i) => {
        if (m.publicIp === undefined) return undefined;
        const ip = ipv4(`mappings[${i}].publicIp`, m.publicIp);
        if (!sdnatPublicIps.includes(ip)) {
            throw new ConfigError(
                `mappings[${i}].publicIp`,
                `${ip} is not one of the SDNAT addresses (${sdnatPublicIps.filter(isKnown).join(", ") || "none given in plain text"})`,
            );
        }
        return ip;
    });
    unique(explicit, (i) => `mappings[${i}].publicIp`, "public address");
    const free = sdnatPublicIps.filter((ip) => !explicit.includes(ip as string));
    return mappings.map((_, i) => ({ publicIp: explicit[i] ?? free.shift()!, privateIp: privateIps[i] }));
}

function checkAppliance(appliance: RouterApplianceArgs | undefined): boolean {
    if (!appliance || typeof appliance !== "object") {
        throw new ConfigError(
            "appliance",
            "is required: { datastoreId } to export the virtual router appliance, or { templateId } to use an existing template",
        );
    }
    const { templateId, datastoreId } = appliance;
    if (templateId !== undefined) {
        const exportOnly = (["datastoreId", "appName", "marketplaceId", "imageName"] as const).filter(
            (key) => appliance[key] !== undefined,
        );
        if (exportOnly.length > 0)
            throw new ConfigError(
                "appliance",
                `give either templateId (an existing template) or the export's ${exportOnly.join(", ")}, not both`,
            );
        checkId("appliance.templateId", templateId);
        return false;
    }
    if (datastoreId === undefined)
        throw new ConfigError("appliance.datastoreId", "is required to export the appliance (or give appliance.templateId)");
    checkId("appliance.datastoreId", datastoreId);
    if (appliance.marketplaceId !== undefined) checkId("appliance.marketplaceId", appliance.marketplaceId);
    if (appliance.appName !== undefined && (typeof appliance.appName !== "string" || appliance.appName.trim() === "")) {
        throw new ConfigError("appliance.appName", `must be a marketplace app name (got ${describe(appliance.appName)})`);
    }
    if (appliance.imageName !== undefined) {
        const problem = nameProblem(appliance.imageName);
        if (problem) throw new ConfigError("appliance.imageName", problem.replace(/^name /, ""));
    }
    return true;
}

function checkRouterName(name: pulumi.Input<string> | undefined): void {
    if (name === undefined || !isKnown(name)) return;
    const problem = nameProblem(name);
    if (problem) throw new ConfigError("routerName", problem.replace(/^name /, ""));
}

/** The appliance's switches: routing between eth0 and eth1, SDNAT4 on both, OneGate token, and optionally NAT4 out of eth0. */
function applianceContext(args: RouterPlanArgs): Record<string, pulumi.Input<string>> {
    const extra = args.context ?? {};
    if (typeof extra !== "object" || Array.isArray(extra))
        throw new ConfigError("context", `must map context variable names to values (got ${describe(extra)})`);
    for (const key of Object.keys(extra)) {
        if (!/^[A-Za-z0-9_]+$/.test(key))
            throw new ConfigError(`context.${key}`, "is not a context variable name (letters, digits and _ only)");
        if (MANAGED_CONTEXT.includes(key.toUpperCase())) {
            throw new ConfigError(
                `context.${key}`,
                `is set by the component (SDNAT on ${SDNAT_INTERFACES}${key.toUpperCase().includes("NAT4_") ? "; use outboundNat for NAT4" : ""})`,
            );
        }
    }
    booleanOr("outboundNat", args.outboundNat, false);
    return {
        NETWORK: "YES",
        TOKEN: "YES",
        ONEAPP_VNF_ROUTER4_ENABLED: "YES",
        ONEAPP_VNF_SDNAT4_ENABLED: "YES",
        ONEAPP_VNF_SDNAT4_INTERFACES: SDNAT_INTERFACES,
        ...(args.outboundNat ? { ONEAPP_VNF_NAT4_ENABLED: "YES", ONEAPP_VNF_NAT4_INTERFACES_OUT: "eth0" } : {}),
        ...extra,
    };
}

/** Fails unless `value` is an OpenNebula ID (when it is known). */
function checkId(field: string, value: unknown): void {
    if (value === undefined || value === null) throw new ConfigError(field, "is required: an OpenNebula ID");
    if (isKnown(value)) integerIn(field, value, 0, 2147483647);
}
