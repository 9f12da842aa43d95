/**
 * Reading the stack configuration: the raw values of the `opennebula-edge` namespace, checked by
 * the schema and then by the overlay components' own planners (pure functions), so that every
 * mistake is reported — naming its key — before the program registers a single resource.
 */
import * as pulumi from "@pulumi/pulumi";
import type { WireGuardMesh } from "../../components/overlay";
import { planFabric } from "../../components/overlay/evpn-fabric";
import { planPrivateNetwork } from "../../components/overlay/evpn-private-network";
import { overlayMtu } from "../../components/overlay/mtu";
import { networkCidrOf } from "../../components/overlay/evpn-network";
import type { WireGuardMeshLayout } from "../../components/overlay/wireguard-mesh";
import { planMesh } from "../../components/overlay/wireguard-mesh";
import type { RouterApplianceArgs } from "../../components/router/plan";
import { planEdgeVirtualRouter } from "../../components/router/plan";
import { ConfigError } from "../../components/validation";
import type { EdgeClusterSettings, StackSettings } from "./schema";
import {
    CONFIG_NAMESPACE,
    SECRET_KEYS,
    StackConfigError,
    cloudDefinition,
    parseStackSettings,
    publicIpCount,
    routerClouds,
} from "./schema";

/** Keys whose values are plain text, never JSON (a password such as `123` stays a string). */
const TEXT_KEYS: readonly string[] = [...SECRET_KEYS, "sharedClusterName"];

/**
 * Turns configuration text into a value: structured values arrive as JSON text (as the engine
 * passes them, and as `pulumi config set --path` stores them); anything else stays text.
 */
export function decodeConfigValue(key: string, text: string): unknown {
    if (TEXT_KEYS.includes(key)) return text;
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** The raw values of the namespace from configuration text (`{ "opennebula-edge:ssh": "{…}" }`), keys without the namespace. */
export function rawSettings(config: Record<string, string>): Record<string, unknown> {
    const prefix = `${CONFIG_NAMESPACE}:`;
    const raw: Record<string, unknown> = {};
    for (const [fullKey, text] of Object.entries(config)) {
        if (fullKey.startsWith(prefix)) raw[fullKey.slice(prefix.length)] = decodeConfigValue(fullKey.slice(prefix.length), text);
    }
    return raw;
}

/**
 * Checks raw values fully: the schema, then the overlay, fabric and private network as their
 * components would plan them.
 *
 * @throws StackConfigError naming every bad key the schema finds, or the first one the planners find.
 */
export function checkStackSettings(raw: Record<string, unknown>): StackSettings {
    const settings = parseStackSettings(raw);
    checkPlans(settings);
    return settings;
}

/** Reads and checks the stack's configuration (the program's only input). */
export function readStackSettings(): StackSettings {
    return checkStackSettings(rawSettings(pulumi.runtime.allConfig()));
}

/** Whether the edge clusters join one OpenNebula cluster: `sharedCluster`, by default true with several edge clusters. */
export function usesSharedCluster(settings: StackSettings): boolean {
    return settings.sharedCluster ?? settings.edgeClusters.length > 1;
}

/** The overlay key of each KVM host, in order: `<edge cluster>-<host key>` (what the cloud component's `overlayNodes()` gives). */
export function overlayHostKeys(cluster: EdgeClusterSettings): string[] {
    return cloudDefinition(cluster.cloud)
        .hosts(cluster)
        .map((host) => `${cluster.name}-${host.key}`);
}

/** The WireGuard MTU for the configured underlay (1420 for 1500). */
export function wireguardMtu(settings: StackSettings): number {
    return overlayMtu({ underlayMtu: settings.overlay?.underlayMtu }).wireguardMtu;
}

/** The edge cluster whose public network holds the router: the configured one, else the first on a cloud with routable public IPs. */
export function routerEdgeCluster(settings: StackSettings): EdgeClusterSettings {
    const name = settings.router?.edgeCluster;
    return settings.edgeClusters.find((cluster) => (name === undefined ? routerClouds().includes(cluster.cloud) : cluster.name === name))!;
}

/** The router's appliance: an existing template, or an export into `datastoreId` (the configured one wins). */
export function routerAppliance(settings: StackSettings, datastoreId: RouterApplianceArgs["datastoreId"]): RouterApplianceArgs {
    const appliance = settings.router?.appliance ?? {};
    // With a template, the export's keys are not defaulted: the router's planner rejects mixing them.
    if (appliance.templateId !== undefined) return { ...appliance };
    return { ...appliance, datastoreId: appliance.datastoreId ?? datastoreId };
}

// Addresses and ids known only once the clouds and OpenNebula made them: a pending promise stands
// in, which the planners treat as "not known yet" and check no further.
const pending = new Promise<never>(() => undefined);

/** The overlay, fabric, private network and router, checked by their components' planners. */
function checkPlans(settings: StackSettings): void {
    const overlay = settings.overlay;
    if (overlay === undefined) return;
    const layout = asConfigError("overlay.", () =>
        planMesh({
            ingress: { key: overlay.ingress.key, publicIp: overlay.ingress.publicIp, sshUser: overlay.ingress.sshUser },
            hosts: settings.edgeClusters.flatMap((cluster) =>
                overlayHostKeys(cluster).map((key) => ({ key, publicIp: pending, sshUser: "root" })),
            ),
            ssh: { privateKey: settings.sshPrivateKey ?? pending },
            subnet: overlay.subnet,
            topology: overlay.topology,
            listenPort: overlay.listenPort,
            mtu: asConfigError("overlay.", () => wireguardMtu(settings)),
        }),
    );
    asConfigError("overlay.", () => planFabric({ mesh: meshShape(layout), asn: overlay.asn }));
    const network = settings.privateNetwork;
    if (network === undefined) return;
    const { targets } = asConfigError("privateNetwork.", () =>
        planPrivateNetwork({
            targets: [{ clusterIds: [0] }],
            vlanId: network.vlanId,
            network: network.network,
            addressRange: network.addressRange,
            gateway: network.gateway,
            dns: network.dns,
            mtu: { underlayMtu: overlay.underlayMtu },
            mesh: { plan: layout.settings },
        }),
    );
    const router = settings.router;
    if (router === undefined) return;
    const template = targets[0].template;
    asConfigError("router.", () =>
        planEdgeVirtualRouter({
            publicNetwork: { id: pending, addresses: Array.from({ length: publicIpCount(routerEdgeCluster(settings)) }, () => pending) },
            privateNetwork: { id: pending, gateway: template.GATEWAY, subnet: networkCidrOf(template) },
            appliance: routerAppliance(settings, pending),
            publicIps: router.publicIps,
            mappings: router.mappings,
            routerName: router.name,
            outboundNat: router.outboundNat,
            context: router.context,
        }),
    );
}

/** What the fabric's planner reads of a mesh (it checks meshes structurally). */
function meshShape(layout: WireGuardMeshLayout): WireGuardMesh {
    return { wireguardPlan: layout.wireguard, nodes: {} } as unknown as WireGuardMesh;
}

/** Runs a planner and reports its error under the configuration key `prefix` + its field. */
function asConfigError<T>(prefix: string, plan: () => T): T {
    try {
        return plan();
    } catch (error) {
        if (error instanceof ConfigError) throw StackConfigError.of(configKey(prefix, error.field), error.problem);
        throw error;
    }
}

/**
 * The configuration key of a planner's field: MTU fields are `overlay.underlayMtu` (one knob for
 * the whole chain); a clash of a host's key with the ingress is the ingress's key (host keys are
 * derived, not configured).
 */
function configKey(prefix: string, field: string): string {
    if (field === "underlayMtu" || field === "mtu" || field.startsWith("mtu.")) return "overlay.underlayMtu";
    if (prefix === "overlay." && /^hosts\[\d+\]\./.test(field)) return `overlay.ingress.${field.replace(/^hosts\[\d+\]\./, "")}`;
    if (field.startsWith("targets[0].")) return `${prefix}${field.slice("targets[0].".length)}`;
    if (prefix === "router.") return routerKey(field);
    return `${prefix}${field}`;
}

/** The configuration key of a router argument: the networks come from other keys. */
function routerKey(field: string): string {
    if (field === "routerName") return "router.name";
    if (field.startsWith("privateNetwork.")) return field;
    if (field.startsWith("publicNetwork.")) return "router.edgeCluster";
    return `router.${field}`;
}
