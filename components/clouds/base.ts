/**
 * The cloud base: what every cloud's edge cluster is, whatever the cloud. A cloud component
 * creates its machines, network and public IPs, then hands them to {@link CloudEdgeCluster.connect},
 * which builds the cloud-independent {@link EdgeCluster} and exposes one contract on every cloud:
 * the EdgeCluster's outputs, `hosts`, `vmPublicIps`, `publicIpHosts`, `publicIpLeases` and
 * `overlayNodes()`. A program never needs to know which cloud it holds.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as tls from "@pulumi/tls";
import { EdgeCluster, edgeClusterOutputs, perKey } from "../edge/edge-cluster";
import type { FirewallScriptArgs, Hypervisor, PortForwardForwardingArgs, PublicForwardingArgs } from "../edge/host-scripts";
import type {
    EdgeClusterTarget,
    EdgeClusterTransforms,
    EdgeFirewallArgs,
    EdgeHost,
    EdgeOpenNebulaArgs,
    EdgeOverlayArgs,
} from "../edge/types";
import { edgeFirewall, frontendAddressesOf, overlayFirewall } from "../edge/firewall-plan";
import type { AddressRangeInput } from "../opennebula/resources/virtual-network";
import type { TemplateArgs } from "../opennebula/resources/resource-options";
import type { RemoteNode, SshArgs } from "../remote/ssh";
import { checkSshArgs } from "../remote/ssh";
import type { SshKeyPair, SshKeyPairArgs } from "../remote/ssh-key";
import { checkSshKeyPairArgs, sshKeyPair } from "../remote/ssh-key";
import type { ResourceClass, Transform } from "../transform";
import { createChild } from "../transform";
import type { z } from "zod";
import { checkEdgeArgs } from "../edge/validation";
import { ConfigError, describe, isKnown, peerOf31, sshPublicKeyLine } from "../validation";
import { parseWith } from "../validation/schema";

/** Arguments every cloud's edge cluster takes besides its settings. */
export interface CloudEdgeClusterArgs<Provider extends pulumi.ProviderResource> {
    /**
     * The cloud's provider; every cloud resource is created with it. Required: the default provider
     * is never used, so several accounts or regions can live in one program.
     */
    provider: Provider;
    /**
     * SSH access: the key pair the machines are created with (public key) and reached with
     * (private key) — both, or neither: then an ED25519 pair is generated (`${name}-ssh-private-key`, a
     * `tls.PrivateKey`), its private key kept secret in state (see `sshPrivateKey`). `port` and
     * `bastion` as {@link SshArgs}. Default: a generated key pair, port 22, no bastion.
     */
    ssh?: Omit<SshArgs, "privateKey"> & SshKeyPairArgs;
    /** The OpenNebula front-end. Required. */
    opennebula: EdgeOpenNebulaArgs;
    /** The OpenNebula cluster: a new one named after the component, or an existing one to join. Default: a new one. */
    cluster?: EdgeClusterTarget;
    /**
     * The overlay the hosts join (a `WireGuardMesh` over `overlayNodes()`): its port, interface and
     * subnet, for the host firewall and the restricted cloud firewall. Default: not on an overlay
     * (WireGuard 51820/udp and `wg0` as a default mesh uses them, no overlay subnet trusted).
     */
    overlay?: EdgeOverlayArgs;
}

/** Escape hatches of a cloud's edge cluster: per kind of child (`Children` maps kinds to their arguments), and `edge` for the {@link EdgeCluster}'s children. */
export type CloudTransforms<Children> = { [Kind in keyof Children]?: Transform<Children[Kind]> } & {
    /** The children of the {@link EdgeCluster} `${name}-one`. */
    edge?: EdgeClusterTransforms;
};

/** The arguments of a cloud's edge cluster: its settings (`Settings`, checked by the cloud's schema), its provider, SSH, the front-end, and the escape hatches. */
export type CloudArgs<Settings, Provider extends pulumi.ProviderResource, Children> = Settings &
    CloudEdgeClusterArgs<Provider> & {
        /** Escape hatches per kind of child (the cloud's `…Children`, and `edge`). Default none. */
        transform?: CloudTransforms<Children>;
    };

/** A host as every cloud reports it. */
export interface CloudHost {
    /** Address SSH, the front-end and the overlay reach it at. */
    publicIp: string;
    /** Address in the cloud's private network (its public address where there is none). */
    privateIp: string;
    /** The user SSH logs in as. */
    sshUser: string;
    /** The cloud's id of the machine (droplet, instance, server …). */
    machineId: string;
}

/** A machine a cloud created for a host, before {@link CloudEdgeCluster.connect}. */
export interface CloudMachine {
    /** Address SSH, the front-end and the overlay reach it at. */
    publicIp: pulumi.Input<string>;
    /** Address in the cloud's private network. */
    privateIp: pulumi.Input<string>;
    /** The cloud's id of the machine. */
    machineId: pulumi.Input<string>;
    /** What the host's configuration waits for (the machine, its private network …). */
    dependsOn: pulumi.Resource[];
}

/**
 * A public IP of the cluster: which host carries it, the address a VM's NIC takes for it and the
 * address the Internet reaches it at. The public network has one address range per lease, in
 * this order; a VM using it must run on `host` (`EDGE_HOST` of its range).
 */
export interface PublicIpLease {
    /** Key of the host that carries the public IP. */
    host: string;
    /** The address the VM takes: the secondary private IP (AWS), the reserved IP itself (Vultr), the NAT lease (Scaleway). Its /31 peer is the VM's gateway. */
    address: pulumi.Input<string>;
    /** The address the Internet reaches the VM at. */
    publicIp: pulumi.Output<string>;
    /** Whether `publicIp` is translated to `address` (the range then carries `EXTERNAL_IP`). */
    translated: boolean;
    /** The resources that attach the public IP to its host: the host's configuration waits for them. */
    dependsOn: pulumi.Resource[];
}

/** How the hosts forward public traffic to VMs (see `public-forwarding.sh`). */
export type HostForwarding =
    /** Every host forwards the same port ranges to the same private leases (DigitalOcean). */
    | PortForwardForwardingArgs
    /** Each host translates its own leases (AWS: `cloud`, Scaleway: `host`). */
    | { model: "nat"; natBy: "host" | "cloud"; uplinkOf: (host: string) => pulumi.Input<string> }
    /** Each host routes its own public IPs to the VMs using them (Vultr). */
    | { model: "routed"; uplinkOf: (host: string) => pulumi.Input<string> };

/** What a cloud hands to {@link CloudEdgeCluster.connect}. */
export interface CloudConnection {
    /** The component's arguments: SSH, the front-end, the cluster, the host firewall (default strict) and the public network's DNS (default `1.1.1.1`). */
    args: CloudEdgeClusterArgs<pulumi.ProviderResource> & { firewall?: EdgeFirewallArgs; dns?: string };
    /** The user SSH logs in as. */
    sshUser: string;
    /** The hypervisor of the hosts. */
    hypervisor: Hypervisor;
    /** The machine of every host, by host key, in host order. */
    machines: Record<string, CloudMachine>;
    /** The public IPs, in the order of the public network's address ranges. */
    leases: PublicIpLease[];
    /** How the hosts forward public traffic. */
    forwarding: HostForwarding;
    /** The cloud-private range the hosts share (the VPC), trusted by their firewall. Default none (no private network). */
    privateRange?: pulumi.Input<string>;
    /** More attributes of the public network, and its address ranges when they are not the leases' (port forwarding). */
    publicNetwork?: { template?: TemplateArgs; addressRanges?: AddressRangeInput[] };
    /** DESCRIPTION of the OpenNebula cluster. */
    description: string;
    /** The cloud's own outputs, registered with the common ones. */
    outputs: pulumi.Inputs;
}

/** DNS server of the public network unless one is given. */
export const DEFAULT_DNS = "1.1.1.1";

/**
 * The base of every cloud's edge cluster: its children are the cloud's resources and the
 * {@link EdgeCluster} `${name}-one`; its outputs are the same on every cloud. `Children` maps each
 * kind of cloud child that takes a transform to its arguments.
 */
export abstract class CloudEdgeCluster<
    Children extends { [Kind in keyof Children]: object } = object,
    SshKey extends pulumi.Resource = pulumi.Resource,
>
    extends pulumi.ComponentResource
{
    /** The caller's escape hatches. */
    protected readonly transform: CloudTransforms<Children>;
    private readonly componentName: string;
    private readonly provider: pulumi.ProviderResource;
    private connection?: {
        edge: EdgeCluster;
        hosts: pulumi.Output<Record<string, CloudHost>>;
        vmPublicIps: pulumi.Output<string[]>;
        publicIpHosts: pulumi.Output<Record<string, string>>;
        leases: PublicIpLease[];
        nodes: RemoteNode[];
    };

    /** The SSH key pair in use: the caller's, or the generated one. */
    private readonly sshKeys: SshKeyPair;
    /** The cloud's SSH key, when this component made one. */
    private cloudSshKey?: SshKey;

    /** Call it once the arguments are checked: it registers the component, and generates an SSH key pair when the caller gave none. */
    protected constructor(
        type: string,
        name: string,
        args: { provider: pulumi.ProviderResource; ssh?: SshKeyPairArgs; transform?: CloudTransforms<Children> },
        opts?: pulumi.ComponentResourceOptions,
    ) {
        super(type, name, {}, opts);
        this.componentName = name;
        this.provider = args.provider;
        this.transform = args.transform ?? ({} as CloudTransforms<Children>);
        this.sshKeys = sshKeyPair(`${name}-ssh-private-key`, args.ssh, { parent: this });
    }

    /** The OpenSSH public key the machines are created with (the caller's, or the generated one's). */
    get sshPublicKey(): pulumi.Output<string> {
        return this.sshKeys.publicKey;
    }

    /**
     * The private key that reaches the machines, secret: the caller's, or the generated one's
     * (fetch it with `pulumi stack output --show-secrets` when a program exports it). Give it to
     * the overlay (`WireGuardMesh`'s `ssh.privateKey`), which reaches the same machines.
     */
    get sshPrivateKey(): pulumi.Output<string> {
        return this.sshKeys.privateKey;
    }

    /** The cloud's SSH key made from {@link sshPublicKey}; absent when the caller gave `sshKeyId`. */
    get sshKey(): SshKey | undefined {
        return this.cloudSshKey;
    }

    /** The generated key (`${name}-ssh-private-key`), when the caller gave no key pair. */
    get generatedSshKey(): tls.PrivateKey | undefined {
        return this.sshKeys.generated;
    }

    /** The cloud-independent core: host configuration and OpenNebula registration (`${name}-one`). */
    get edge(): EdgeCluster {
        return this.connected().edge;
    }

    /** The OpenNebula cluster ID (new, or the one joined). */
    get clusterId(): pulumi.Output<number> {
        return this.edge.clusterId;
    }

    /** OpenNebula host ID per host key. */
    get hostIds(): pulumi.Output<Record<string, number>> {
        return this.edge.hostIds;
    }

    /** The address each host is registered with in OpenNebula (its public IP), per host key. */
    get hostAddresses(): pulumi.Output<Record<string, string>> {
        return this.edge.hostAddresses;
    }

    /** IDs of the image and system datastores. */
    get datastoreIds(): pulumi.Output<{ image?: number; system?: number }> {
        return this.edge.datastoreIds;
    }

    /** ID of the OpenNebula public network (undefined when the cluster has no public IPs). */
    get publicNetworkId(): pulumi.Output<number | undefined> {
        return this.edge.publicNetworkId;
    }

    /** Every host by key: its public and private address, SSH user and the cloud's id of its machine. */
    get hosts(): pulumi.Output<Record<string, CloudHost>> {
        return this.connected().hosts;
    }

    /** The addresses VMs are reached at, in address-range order (on DigitalOcean, which forwards ports, the hosts' own). */
    get vmPublicIps(): pulumi.Output<string[]> {
        return this.connected().vmPublicIps;
    }

    /** Which host each of `vmPublicIps` is on: address → host key. VMs using it must run there. */
    get publicIpHosts(): pulumi.Output<Record<string, string>> {
        return this.connected().publicIpHosts;
    }

    /** The public IPs as the public network's leases, in address-range order (none on DigitalOcean). */
    get publicIpLeases(): PublicIpLease[] {
        return this.connected().leases;
    }

    /**
     * The hosts as overlay nodes for `WireGuardMesh` and `EvpnFabric`: keys `<cluster>-<host>`, each
     * waiting for its host's configuration (firewall included).
     */
    overlayNodes(): RemoteNode[] {
        return this.connected().nodes;
    }

    /** Options of a child created with the cloud's provider. */
    protected cloudOptions(extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
        return { ...extra, parent: this, provider: this.provider };
    }

    /** Creates a cloud child of `kind`, with the cloud's provider, after the caller's transform for that kind. */
    protected create<Kind extends keyof Children, R>(
        kind: Kind,
        type: ResourceClass<R, Children[Kind]>,
        name: string,
        args: Children[Kind],
        extra?: pulumi.CustomResourceOptions,
    ): R {
        return createChild(type, name, args, this.cloudOptions(extra), this.transform[kind] as Transform<Children[Kind]> | undefined);
    }

    /**
     * The id of the SSH key the machines are created with: the caller's `sshKeyId`, else that of the
     * cloud's key, which `create` makes from {@link sshPublicKey} (then {@link sshKey}).
     */
    protected useSshKey(
        sshKeyId: pulumi.Input<string> | undefined,
        create: (publicKey: pulumi.Output<string>) => SshKey,
        idOf: (key: SshKey) => pulumi.Input<string>,
    ): pulumi.Input<string> {
        if (sshKeyId !== undefined) return sshKeyId;
        this.cloudSshKey = create(this.sshPublicKey);
        return idOf(this.cloudSshKey);
    }

    /** Creates the {@link EdgeCluster} from the cloud's machines and public IPs, and registers the outputs. Call it last. */
    protected connect(cloud: CloudConnection): void {
        const name = this.componentName;
        const keys = Object.keys(cloud.machines);
        const leasesOf = (host: string) => cloud.leases.filter((lease) => lease.host === host);
        const hosts: EdgeHost[] = keys.map((key) => ({
            key,
            publicIp: cloud.machines[key].publicIp,
            privateIp: cloud.machines[key].privateIp,
            sshUser: cloud.sshUser,
            machineId: cloud.machines[key].machineId,
            dependsOn: [...cloud.machines[key].dependsOn, ...leasesOf(key).flatMap((lease) => lease.dependsOn)],
            publicForwarding: forwardingOf(cloud.forwarding, key, leasesOf(key)),
        }));
        const ssh: SshArgs = { port: cloud.args.ssh?.port, bastion: cloud.args.ssh?.bastion, privateKey: this.sshPrivateKey };
        const portForwarding = cloud.forwarding.model === "portforward";
        const edge = new EdgeCluster(
            `${name}-one`,
            {
                hosts,
                ssh,
                opennebula: cloud.args.opennebula,
                hypervisor: cloud.hypervisor,
                firewall: cloud.args.firewall,
                privateRange: cloud.privateRange,
                overlay: cloud.args.overlay,
                cluster: cloud.args.cluster ?? { name },
                publicNetwork:
                    cloud.leases.length === 0 && !portForwarding
                        ? undefined
                        : {
                              template: { DNS: cloud.args.dns ?? DEFAULT_DNS, ...cloud.publicNetwork?.template },
                              addressRanges:
                                  cloud.publicNetwork?.addressRanges ??
                                  cloud.leases.map((lease) => leaseRange(lease, cloud.machines[lease.host].publicIp)),
                          },
                description: cloud.description,
                transform: this.transform.edge,
            },
            { parent: this },
        );

        const machines = perKey(cloud.machines, (machine) => pulumi.all([machine.publicIp, machine.privateIp, machine.machineId]));
        const reached = portForwarding
            ? keys.map((key) => ({ host: key, publicIp: pulumi.output(cloud.machines[key].publicIp) }))
            : cloud.leases;
        const vmPublicIps = pulumi.all(reached.map((lease) => lease.publicIp));
        this.connection = {
            edge,
            hosts: machines.apply((all) =>
                Object.fromEntries(
                    Object.entries(all).map(([key, [publicIp, privateIp, machineId]]) => [
                        key,
                        { publicIp, privateIp, sshUser: cloud.sshUser, machineId },
                    ]),
                ),
            ),
            vmPublicIps,
            publicIpHosts: vmPublicIps.apply((ips) => Object.fromEntries(ips.map((ip, i) => [ip, reached[i].host]))),
            leases: cloud.leases,
            nodes: keys.map((key) => ({
                key: `${name}-${key}`,
                publicIp: cloud.machines[key].publicIp,
                sshUser: cloud.sshUser,
                dependsOn: [edge.configured[key]],
                firewall: overlayFirewall(cloud.args.overlay),
            })),
        };
        this.registerOutputs({
            ...edgeClusterOutputs(this),
            hosts: this.hosts,
            vmPublicIps: this.vmPublicIps,
            publicIpHosts: this.publicIpHosts,
            sshPublicKey: this.sshPublicKey,
            ...cloud.outputs,
        });
    }

    private connected(): NonNullable<CloudEdgeCluster<Children>["connection"]> {
        if (this.connection === undefined)
            throw new Error(`${this.componentName}: the edge cluster is not connected yet (call connect() last in the constructor)`);
        return this.connection;
    }
}

/** How a host forwards its leases, or undefined when it carries none (port forwarding: every host, always). */
function forwardingOf(forwarding: HostForwarding, host: string, leases: PublicIpLease[]): pulumi.Input<PublicForwardingArgs> | undefined {
    if (forwarding.model === "portforward") return forwarding;
    if (leases.length === 0) return undefined;
    const uplink = forwarding.uplinkOf(host);
    const publicIps = pulumi.all(leases.map((lease) => lease.publicIp));
    const addresses = pulumi.all(leases.map((lease) => lease.address));
    return pulumi.all([uplink, publicIps, addresses]).apply(([device, ips, vmIps]): PublicForwardingArgs =>
        forwarding.model === "routed"
            ? { model: "routed", uplink: device, publicIps: ips }
            : {
                  model: "nat",
                  natBy: forwarding.natBy,
                  uplink: device,
                  pairs: ips.map((publicIp, j) => ({ publicIp, privateIp: vmIps[j] })),
              },
    );
}

/** The address range of a lease: one address with a /31 mask, its peer as gateway, pinned to its host. */
function leaseRange(lease: PublicIpLease, hostPublicIp: pulumi.Input<string>): AddressRangeInput {
    return {
        TYPE: "IP4",
        IP: lease.address,
        SIZE: 1,
        NETWORK_MASK: "255.255.255.254",
        GATEWAY: pulumi.output(lease.address).apply(peerOf31),
        ...(lease.translated ? { EXTERNAL_IP: lease.publicIp } : {}),
        EDGE_HOST: hostPublicIp,
    };
}

/**
 * The allow-list of a cloud cluster's hosts (see `edgeFirewall`): their host firewall, and the
 * restricted cloud firewall derived from it with `cloudFirewallRules`.
 */
export function hostFirewallOf(
    args: Pick<CloudConnection["args"], "firewall" | "opennebula" | "overlay">,
    privateRange?: string,
): FirewallScriptArgs {
    return edgeFirewall({
        firewall: args.firewall,
        privateRange,
        frontendAddresses: frontendAddressesOf(args.opennebula),
        overlay: args.overlay,
    });
}

/**
 * Checks the arguments every cloud shares: its own provider (`pulumi:providers:<providerPackage>`),
 * the SSH key pair and the front-end's key. Values that are Outputs are checked for presence only.
 */
export function checkCloudArgs(args: CloudEdgeClusterArgs<pulumi.ProviderResource>, providerPackage: string): void {
    if (!args || typeof args !== "object") throw new ConfigError("args", "are required");
    const type = (args.provider as { __pulumiType?: unknown } | undefined)?.__pulumiType;
    if (type !== `pulumi:providers:${providerPackage}`) {
        const got = typeof type === "string" ? `a provider of ${type.replace("pulumi:providers:", "")}` : describe(args.provider);
        throw new ConfigError("provider", `is required: the ${providerPackage} provider; the default provider is never used (got ${got})`);
    }
    if (args.ssh !== undefined && (args.ssh === null || typeof args.ssh !== "object"))
        throw new ConfigError("ssh", `must be { publicKey?, privateKey?, port?, bastion? } (got ${describe(args.ssh)})`);
    checkSshKeyPairArgs("ssh", args.ssh);
    if (isKnown(args.ssh?.publicKey)) sshPublicKeyLine("ssh.publicKey", args.ssh.publicKey);
    // A generated private key is an Output: checkSshArgs checks the rest.
    checkSshArgs({ ...args.ssh, privateKey: args.ssh?.privateKey ?? pulumi.output("") });
    checkEdgeArgs(args);
}

/**
 * The arguments a cloud's edge cluster takes besides its settings: every member of
 * {@link CloudEdgeClusterArgs} and `transform` (a record, so the compiler refuses a member left out).
 */
const NOT_SETTINGS: Record<keyof CloudEdgeClusterArgs<pulumi.ProviderResource> | "transform", true> = {
    provider: true,
    ssh: true,
    opennebula: true,
    cluster: true,
    overlay: true,
    transform: true,
};

/**
 * The settings in a cloud component's arguments, checked by the cloud's schema: the arguments
 * besides {@link NOT_SETTINGS}, of which none may be unknown (so a setting of another cloud is
 * refused, as in stack configuration).
 *
 * @internal
 * @throws ConfigError naming the first bad setting.
 */
export function parseCloudSettings<Schema extends z.ZodObject>(schema: Schema, args: object): z.output<Schema> {
    const settings = Object.fromEntries(Object.entries(args).filter(([key]) => !Object.hasOwn(NOT_SETTINGS, key)));
    return parseWith(schema.strict(), settings) as z.output<Schema>;
}

/**
 * Cloud-config that creates `user` with passwordless sudo and the public key (JSON, which YAML
 * reads as is, so the key is quoted correctly whatever it contains), merged into `config`.
 * Undefined when `user` is the image's own user, who needs none.
 */
export function userCloudConfig(user: string, imageUser: string, publicKey: string): Record<string, unknown> | undefined {
    if (user === imageUser) return undefined;
    return {
        users: [
            "default",
            { name: user, groups: "sudo", shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: [publicKey.trim()] },
        ],
    };
}

/** User data that creates `user` (see {@link userCloudConfig}); undefined for the image's own user, who needs none. */
export function userData(user: string, imageUser: string, publicKey: pulumi.Input<string>): pulumi.Output<string> | undefined {
    if (user === imageUser) return undefined;
    return pulumi.output(publicKey).apply((key) => cloudConfigText(userCloudConfig(user, imageUser, key)!));
}

/** A cloud-config document (JSON is valid YAML). */
export function cloudConfigText(config: Record<string, unknown>): string {
    return `#cloud-config\n${JSON.stringify(config, null, 2)}\n`;
}
