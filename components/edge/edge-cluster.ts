import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../opennebula/resources/cluster";
import { ClusterMembership } from "../opennebula/resources/cluster-membership";
import { Datastore } from "../opennebula/resources/datastore";
import { Host } from "../opennebula/resources/host";
import { VirtualNetwork } from "../opennebula/resources/virtual-network";
import {
    HostScript, Hypervisor, PublicForwardingArgs, firewallScript, oneadminKeyScript, opennebulaNodeScript,
    opennebulaRepoScript, publicForwardingScript, sysctlScript, toStdin,
} from "./host-scripts";
import { scriptRunner, sshConnection } from "./ssh";
import { EdgeClusterArgs, EdgeHost } from "./types";
import { validateEdgeClusterArgs } from "./validation";

/** Type token of {@link EdgeCluster}. */
export const EDGE_CLUSTER_TYPE = "opennebula-edge:edge:EdgeCluster";

/**
 * The cloud-independent core of an edge cluster. From the machines a cloud component created it
 * configures every host over SSH (OpenNebula repository, KVM/LXC node package, the front-end's
 * oneadmin key, sysctls, firewall, public forwarding) and then registers in OpenNebula the cluster,
 * one host per machine, SSH image and system datastores (the first host as replica), the public
 * network, and the shared default datastores.
 *
 * Hosts are configured and registered in parallel: each host's registration waits only for its own
 * configuration, so adding hosts does not lengthen the chain of resources that wait on one another.
 */
export class EdgeCluster extends pulumi.ComponentResource {
    /** The OpenNebula cluster ID (new, or the one joined). */
    readonly clusterId: pulumi.Output<number>;
    /** OpenNebula host ID per host key. */
    readonly hostIds: pulumi.Output<Record<string, number>>;
    /** The address each host is registered with, per host key. */
    readonly hostAddresses: pulumi.Output<Record<string, string>>;
    /** IDs of the image and system datastores (absent when disabled). */
    readonly datastoreIds: pulumi.Output<{ image?: number; system?: number }>;
    /** ID of the public network, when there is one. */
    readonly publicNetworkId: pulumi.Output<number | undefined>;
    /** The OpenNebula host resources, per host key (an escape hatch for dependencies). */
    readonly hosts: Record<string, Host>;
    /** The last configuration command of each host, per host key: whatever must run on a configured host can depend on it. */
    readonly configured: Record<string, command.remote.Command>;

    constructor(name: string, args: EdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        validateEdgeClusterArgs(args);
        super(EDGE_CLUSTER_TYPE, name, {}, opts);
        const connection = args.opennebula.connection;
        const clusterName = args.cluster?.name ?? name;

        const cluster = args.cluster?.existingClusterId === undefined
            ? new Cluster(`${name}-cluster`, {
                name: clusterName,
                template: { DESCRIPTION: args.description ?? "OpenNebula edge cluster (pulumi-opennebula-edge)", RESERVED_CPU: "0", RESERVED_MEM: "0" },
                connection,
            }, { parent: this })
            : undefined;
        this.clusterId = cluster ? cluster.oneId : pulumi.output(args.cluster!.existingClusterId!);

        const hypervisor: Hypervisor = args.hypervisor ?? "kvm";
        this.configured = {};
        this.hosts = {};
        for (const host of args.hosts) {
            const last = this.configureHost(name, host, args);
            this.configured[host.key] = last;
            this.hosts[host.key] = new Host(`${name}-${host.key}`, {
                name: host.name ?? host.publicIp,
                imMad: hypervisor,
                clusterId: this.clusterId,
                template: { EDGE: { CLOUD_ID: host.cloudId, PRIVATE_IP: host.privateIp, PUBLIC_IP: host.publicIp } },
                connection,
            }, { parent: this, dependsOn: [last] });
        }

        const datastoreIds = this.createDatastores(name, clusterName, args);
        const publicNetwork = args.publicNetwork && new VirtualNetwork(`${name}-public`, {
            name: `${clusterName}-public`,
            vnMad: args.publicNetwork.vnMad ?? "bridge",
            template: pulumi.output(args.publicNetwork.template ?? {}).apply((t) => ({ BRIDGE: "br0", NETROLE: "public", ...t })),
            addressRanges: args.publicNetwork.addressRanges,
            clusterIds: [this.clusterId],
            connection,
        }, { parent: this });
        const sharedIds = args.sharedDatastoreIds ?? (cluster ? [1, 2] : []);
        for (const datastoreId of sharedIds) {
            new ClusterMembership(`${name}-shared-ds-${datastoreId}`, { clusterId: this.clusterId, kind: "datastore", memberId: datastoreId, connection }, { parent: this });
        }

        const entries = Object.entries(this.hosts);
        this.hostIds = pulumi.all(entries.map(([, h]) => h.oneId)).apply((ids) => Object.fromEntries(entries.map(([key], i) => [key, ids[i]])));
        this.hostAddresses = pulumi.all(entries.map(([, h]) => h.name)).apply((names) => Object.fromEntries(entries.map(([key], i) => [key, names[i]])));
        this.datastoreIds = datastoreIds;
        this.publicNetworkId = publicNetwork ? publicNetwork.oneId : pulumi.output(undefined);
        this.registerOutputs({
            clusterId: this.clusterId, hostIds: this.hostIds, hostAddresses: this.hostAddresses,
            datastoreIds: this.datastoreIds, publicNetworkId: this.publicNetworkId,
        });
    }

    /** Runs the host scripts on one host, one command each, in order; returns the last command. */
    private configureHost(name: string, host: EdgeHost, args: EdgeClusterArgs): command.remote.Command {
        const steps: { role: string; stdin: pulumi.Input<string> }[] = [
            { role: "repo", stdin: toStdin(opennebulaRepoScript({ version: args.opennebula.version })) },
            { role: "node", stdin: toStdin(opennebulaNodeScript({ hypervisor: args.hypervisor ?? "kvm" })) },
            { role: "oneadmin-key", stdin: stdinOf(args.opennebula.frontendSshPublicKey, (publicKey) => oneadminKeyScript({ publicKey })) },
            { role: "sysctl", stdin: toStdin(sysctlScript()) },
            { role: "firewall", stdin: toStdin(firewallScript({ mode: args.firewall?.mode, extraPorts: args.firewall?.extraPorts })) },
        ];
        if (host.publicForwarding !== undefined) {
            steps.push({ role: "forwarding", stdin: stdinOf(host.publicForwarding, (forwarding: PublicForwardingArgs) => publicForwardingScript(forwarding)) });
        }
        const connection = sshConnection(args.ssh, host);
        const create = scriptRunner(host.sshUser);
        let previous: pulumi.Resource[] = host.dependsOn ?? [];
        let last: command.remote.Command | undefined;
        for (const step of steps) {
            last = new command.remote.Command(`${name}-${host.key}-${step.role}`, {
                connection, create, stdin: step.stdin,
            }, { parent: this, dependsOn: previous, additionalSecretOutputs: ["connection"] });
            previous = [last];
        }
        return last!;
    }

    private createDatastores(name: string, clusterName: pulumi.Input<string>, args: EdgeClusterArgs): pulumi.Output<{ image?: number; system?: number }> {
        const connection = args.opennebula.connection;
        const common = { tmMad: "ssh", clusterIds: [this.clusterId], connection };
        const image = new Datastore(`${name}-image`, {
            ...common, name: pulumi.interpolate`${clusterName}-image`, type: "IMAGE_DS", dsMad: "fs",
            template: { SAFE_DIRS: "/var/tmp /tmp" },
        }, { parent: this });
        const firstHost = args.hosts[0];
        const replica = args.datastores?.replica ?? true;
        const system = new Datastore(`${name}-system`, {
            ...common, name: pulumi.interpolate`${clusterName}-system`, type: "SYSTEM_DS",
            template: replica
                ? { SAFE_DIRS: "/var/tmp /tmp", REPLICA_HOST: firstHost.name ?? firstHost.publicIp }
                : { SAFE_DIRS: "/var/tmp /tmp" },
        }, { parent: this });
        return pulumi.all([image.oneId, system.oneId]).apply(([imageId, systemId]) => ({ image: imageId, system: systemId }));
    }
}

/**
 * The standard input of a host script built from a value that may be (or contain) Outputs: a plain
 * string is checked right away, anything else when it resolves.
 */
function stdinOf<T>(value: pulumi.Input<T>, build: (value: T) => HostScript): pulumi.Input<string> {
    if (typeof value === "string") return toStdin(build(value as T));
    return pulumi.output(value).apply((resolved) => toStdin(build(resolved as T)));
}
