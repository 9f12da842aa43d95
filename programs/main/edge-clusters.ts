/**
 * One edge cluster from its configuration: the cloud's component with the cloud's explicit
 * provider, and what the rest of the program needs from it in one shape whatever the cloud — its
 * KVM hosts as overlay nodes, its OpenNebula ids and its public IPs.
 */
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { AwsEdgeCluster, planAwsEdgeCluster } from "../../components/clouds/aws";
import type { CloudEdgeClusterArgs } from "../../components/clouds/common";
import { DIGITALOCEAN_DEFAULTS, DigitalOceanEdgeCluster, validateDigitalOceanArgs } from "../../components/clouds/digitalocean";
import { SCALEWAY_DEFAULTS, ScalewayEdgeCluster, natLease, validateScalewayEdgeClusterArgs } from "../../components/clouds/scaleway";
import { VultrEdgeCluster, validateVultrEdgeClusterArgs } from "../../components/clouds/vultr";
import type { EdgeCluster } from "../../components/edge/edge-cluster";
import { EdgeConfigError } from "../../components/edge/validation";
import type { OverlayNode } from "../../components/overlay/remote";
import { overlayHostKeys } from "./config";
import type { CloudProviders } from "./providers";
import { Cloud, EdgeClusterSettings, EdgeClusterSettingsOf, StackConfigError } from "./schema";

/** What every edge cluster shares: SSH access, the front-end, the providers, and the cluster to join. */
export interface EdgeClusterContext {
    /** SSH key pair (and jump host) of every machine. */
    ssh: CloudEdgeClusterArgs["ssh"];
    /** The OpenNebula front-end. */
    opennebula: CloudEdgeClusterArgs["opennebula"];
    /** The OpenNebula cluster to join (the multi-edge layout). Default: each edge cluster creates its own. */
    cluster?: { existingClusterId: pulumi.Input<number> };
    /** The (cloud, region) providers. */
    providers: CloudProviders;
    /** Account-wide SSH keys shared by the clusters of one cloud. */
    sshKeys: SharedSshKeys;
}

/** The component of any cloud: the outputs every one of them has. */
export type CloudEdgeCluster = AwsEdgeCluster | DigitalOceanEdgeCluster | VultrEdgeCluster | ScalewayEdgeCluster;

/** An edge cluster as the program uses it. */
export interface BuiltEdgeCluster {
    /** Its configuration. */
    settings: EdgeClusterSettings;
    /** The cloud's component. */
    component: CloudEdgeCluster;
    /** Its KVM hosts as overlay nodes (`<name>-host-<i>`), each waiting for its host configuration. */
    overlayNodes: OverlayNode[];
    /** The addresses VMs are reached at: the cloud's public IPs (the hosts' own, port-forwarded, on DigitalOcean). */
    publicIps: pulumi.Output<unknown>;
}

/**
 * Account-wide SSH keys, created once for all the clusters of a cloud: DigitalOcean refuses the
 * same public key twice in an account, and Scaleway twice in a project. Created from the first
 * cluster that needs one, so adding clusters later never replaces an existing key.
 */
export class SharedSshKeys {
    private digitalOceanKey?: digitalocean.SshKey;
    private readonly scalewayKeys = new Map<string, scaleway.iam.SshKey>();

    constructor(private readonly publicKey: pulumi.Input<string>, private readonly label: string) {}

    /** The fingerprint of the account's key. */
    digitalOcean(provider: digitalocean.Provider): pulumi.Output<string> {
        this.digitalOceanKey ??= new digitalocean.SshKey("digitalocean-ssh-key", { name: this.label, publicKey: this.publicKey }, { provider });
        return this.digitalOceanKey.fingerprint;
    }

    /** The id of the project's key (`projectId` undefined: the provider's project). */
    scaleway(provider: scaleway.Provider, projectId: string | undefined): pulumi.Output<string> {
        const name = projectId === undefined ? "scaleway-ssh-key" : `scaleway-ssh-key-${projectId}`;
        if (!this.scalewayKeys.has(name)) {
            this.scalewayKeys.set(name, new scaleway.iam.SshKey(name, { name: this.label, publicKey: this.publicKey, projectId }, { provider }));
        }
        return this.scalewayKeys.get(name)!.id;
    }
}

/**
 * Checks edge cluster `index` with its cloud component's own (pure) validation, before anything
 * but the providers exists — the rules the stack schema does not repeat (VPC sizes, plan
 * families, interface names …). Providers have no effect of their own until a resource uses them.
 *
 * @throws StackConfigError naming the configuration key.
 */
export function checkEdgeCluster(settings: EdgeClusterSettings, index: number, context: EdgeClusterContext): void {
    const common = { ssh: context.ssh, opennebula: context.opennebula };
    asConfigError(index, () => {
        switch (settings.cloud) {
            case "aws": return planAwsEdgeCluster({ ...ownArgs(settings), ...common, provider: context.providers.get("aws", settings.region) });
            case "digitalocean": return validateDigitalOceanArgs(settings.name, { ...ownArgs(settings), ...common, provider: context.providers.get("digitalocean", settings.region) });
            case "vultr": return validateVultrEdgeClusterArgs({ ...ownArgs(settings), ...common, provider: context.providers.get("vultr", settings.region) });
            case "scaleway": return validateScalewayEdgeClusterArgs({ ...ownArgs(settings), ...common, provider: context.providers.get("scaleway", settings.region) });
        }
    });
}

/**
 * Builds edge cluster `index` of the configuration.
 *
 * @throws StackConfigError when the cloud's component rejects a value, naming the configuration key.
 */
export function buildEdgeCluster(settings: EdgeClusterSettings, index: number, context: EdgeClusterContext): BuiltEdgeCluster {
    return asConfigError(index, () => {
        switch (settings.cloud) {
            case "aws": return buildAws(settings, context);
            case "digitalocean": return buildDigitalOcean(settings, context);
            case "vultr": return buildVultr(settings, context);
            case "scaleway": return buildScaleway(settings, context);
        }
    });
}

/** Runs `action`, reporting a component's `EdgeConfigError` under the configuration key of cluster `index`. */
function asConfigError<T>(index: number, action: () => T): T {
    try {
        return action();
    } catch (error) {
        if (error instanceof EdgeConfigError) throw StackConfigError.of(configKeyOf(error.field, index), error.message.slice(error.field.length + 2));
        throw error;
    }
}

/** The configuration key of a component argument: shared SSH and front-end arguments are top-level keys. */
export function configKeyOf(field: string, index: number): string {
    if (field === "ssh.privateKey") return "sshPrivateKey";
    if (field.startsWith("ssh.") || field.startsWith("opennebula.")) return field;
    return `edgeClusters[${index}].${field}`;
}

/** The arguments of the cloud's component that come from the cluster's own keys (all but `name` and `cloud`). */
function ownArgs<C extends Cloud>(settings: EdgeClusterSettingsOf<C>): Omit<EdgeClusterSettingsOf<C>, "name" | "cloud"> {
    const { name: _name, cloud: _cloud, ...rest } = settings;
    return rest;
}

function commonArgs(context: EdgeClusterContext) {
    return { ssh: context.ssh, opennebula: context.opennebula, ...(context.cluster ? { cluster: context.cluster } : {}) };
}

function buildAws(settings: EdgeClusterSettingsOf<"aws">, context: EdgeClusterContext): BuiltEdgeCluster {
    const component = new AwsEdgeCluster(settings.name, {
        ...ownArgs(settings), ...commonArgs(context), provider: context.providers.get("aws", settings.region),
    });
    const nodes = hostNodes(settings, component.edge, (key) => component.instances[key].publicIp, component.plan.sshUser);
    return { settings, component, overlayNodes: nodes, publicIps: component.publicIps };
}

function buildDigitalOcean(settings: EdgeClusterSettingsOf<"digitalocean">, context: EdgeClusterContext): BuiltEdgeCluster {
    const provider = context.providers.get("digitalocean", settings.region);
    const component = new DigitalOceanEdgeCluster(settings.name, {
        ...ownArgs(settings), ...commonArgs(context), provider,
        sshKeyFingerprint: settings.sshKeyFingerprint ?? context.sshKeys.digitalOcean(provider),
    });
    const sshUser = settings.sshUser ?? DIGITALOCEAN_DEFAULTS.sshUser;
    const nodes = hostNodes(settings, component.edge, (key) => component.droplets[key].ipv4Address, sshUser);
    return { settings, component, overlayNodes: nodes, publicIps: component.publicIps };
}

function buildVultr(settings: EdgeClusterSettingsOf<"vultr">, context: EdgeClusterContext): BuiltEdgeCluster {
    const component = new VultrEdgeCluster(settings.name, {
        ...ownArgs(settings), ...commonArgs(context), provider: context.providers.get("vultr", settings.region),
    });
    // Vultr images log in as root.
    const nodes = hostNodes(settings, component.edge, (_key, i) => component.machines[i].mainIp, "root");
    return { settings, component, overlayNodes: nodes, publicIps: component.publicIps };
}

function buildScaleway(settings: EdgeClusterSettingsOf<"scaleway">, context: EdgeClusterContext): BuiltEdgeCluster {
    const provider = context.providers.get("scaleway", settings.region);
    const component = new ScalewayEdgeCluster(settings.name, {
        ...ownArgs(settings), ...commonArgs(context), provider,
        sshKeyId: settings.sshKeyId ?? context.sshKeys.scaleway(provider, settings.projectId),
    });
    const nodes = hostNodes(settings, component.edge, (key) => component.hostPublicIps.apply((ips) => ips[key]), SCALEWAY_DEFAULTS.sshUser);
    return { settings, component, overlayNodes: nodes, publicIps: component.publicIps };
}

/** The cluster's hosts as overlay nodes; each waits until its host configuration (firewall included) is done. */
function hostNodes(
    settings: EdgeClusterSettings,
    edge: EdgeCluster,
    publicIpOf: (hostKey: string, index: number) => pulumi.Output<string>,
    sshUser: string,
): OverlayNode[] {
    return overlayHostKeys(settings).map((key, i) => {
        const hostKey = `host-${i}`;
        return { key, publicIp: publicIpOf(hostKey, i), sshUser, dependsOn: [edge.configured[hostKey]] };
    });
}

/**
 * The addresses of an edge cluster's public network, in the order of its address ranges — what a
 * VM's NIC takes: on AWS the secondary private IPs the Elastic IPs map to, on Vultr the reserved
 * IPs themselves, on Scaleway the NAT leases behind the flexible IPs. `publicIps` holds the
 * matching Internet addresses in the same order.
 */
export function publicNetworkAddresses(cluster: BuiltEdgeCluster): pulumi.Input<string>[] {
    const { settings, component } = cluster;
    if (component instanceof AwsEdgeCluster) return component.plan.publicIps.map((ip) => ip.privateIp);
    if (component instanceof VultrEdgeCluster) return component.reservedIps.map((ip) => ip.subnet);
    if (component instanceof ScalewayEdgeCluster && settings.cloud === "scaleway") {
        return component.flexibleIps.map((_, k) => natLease(settings.natCidr ?? SCALEWAY_DEFAULTS.natCidr, k).vmIp);
    }
    throw new Error(`edge cluster ${settings.name} (${settings.cloud}) has no public network a router can use`);
}
