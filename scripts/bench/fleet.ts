/**
 * The program the scale benchmarks evaluate: a fleet of KVM hosts on DigitalOcean edge clusters of
 * up to 50 hosts each, joined by the overlay (one WireGuardMesh and one EvpnFabric over every host
 * and an ingress, and one EvpnPrivateNetwork on every cluster), plus the mock outputs a real
 * deployment would return (droplet addresses, the hosts' WireGuard public keys).
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { DigitalOceanEdgeCluster } from "../../components/clouds/digitalocean";
import { Cluster } from "../../components/opennebula/resources/cluster";
import { ClusterMembership } from "../../components/opennebula/resources/cluster-membership";
import { Datastore } from "../../components/opennebula/resources/datastore";
import { Host } from "../../components/opennebula/resources/host";
import type { ConnectionArgs } from "../../components/opennebula/resources/provider-kit";
import { VirtualNetwork } from "../../components/opennebula/resources/virtual-network";
import { EvpnFabric } from "../../components/overlay/evpn-fabric";
import { EvpnPrivateNetwork } from "../../components/overlay/evpn-private-network";
import type { RemoteNode } from "../../components/remote/ssh";
import type { WireGuardTopology } from "../../components/overlay/wireguard-config";
import { WireGuardMesh } from "../../components/overlay/wireguard-mesh";

/** Most hosts DigitalOceanEdgeCluster takes (its `hostCount` limit). */
export const HOSTS_PER_CLUSTER = 50;

/** Type token of the stand-in machine that carries the ingress. */
export const STAND_IN_MACHINE = "bench:index:Machine";

/** A wg subnet large enough for 1000 hosts and the ingress (2046 usable addresses). */
const WG_SUBNET = "10.200.0.0/21";

const SSH_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nYmVuY2gtb25seS1rZXk=\n-----END OPENSSH PRIVATE KEY-----\n";
const SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchmarkHostsKey bench@localhost";
const ONEADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchmarkOneadminKey oneadmin@frontend";

/** Options of {@link fleetProgram}. */
export interface FleetOptions {
    /** Number of KVM hosts, 1–2000. */
    hosts: number;
    /** WireGuard peering of the overlay. Default `hub` (see the README's Performance section for why). */
    topology?: WireGuardTopology;
    /** The OpenNebula front-end. Default: a placeholder endpoint (never contacted under mocks). */
    connection?: pulumi.Input<ConnectionArgs>;
    /** Leave out the overlay (only the edge clusters). Default false. */
    withoutOverlay?: boolean;
}

/** A machine created outside the package (the ingress here): only its public IP matters. */
export class StandInMachine extends pulumi.CustomResource {
    /** The machine's public IPv4 address. */
    declare readonly publicIp: pulumi.Output<string>;

    constructor(name: string, opts?: pulumi.CustomResourceOptions) {
        super(STAND_IN_MACHINE, name, { publicIp: undefined }, opts);
    }
}

/** How many clusters hold `hosts` hosts, and how many hosts each holds (the last may hold fewer). */
export function clusterSizes(hosts: number): number[] {
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > 2000) {
        throw new Error(`hosts must be an integer from 1 to 2000, got ${hosts}`);
    }
    const sizes: number[] = [];
    for (let left = hosts; left > 0; left -= HOSTS_PER_CLUSTER) sizes.push(Math.min(left, HOSTS_PER_CLUSTER));
    return sizes;
}

/** Name of the i-th edge cluster. */
function clusterName(index: number): string {
    return `edge-${String(index).padStart(2, "0")}`;
}

/**
 * Declares the fleet: `clusterSizes(hosts)` DigitalOcean edge clusters (one provider, one SSH key
 * shared by fingerprint), an ingress on a stand-in machine, and unless `withoutOverlay` the
 * WireGuard mesh, the EVPN fabric and one EVPN private network over every cluster.
 */
export function fleetProgram(options: FleetOptions): { clusters: DigitalOceanEdgeCluster[]; mesh?: WireGuardMesh } {
    const connection = options.connection ?? {
        endpoint: "http://frontend.invalid:2633/RPC2",
        username: "oneadmin",
        password: pulumi.secret("bench-password"),
    };
    const provider = new digitalocean.Provider("do", { token: pulumi.secret("bench-token") });
    const ssh = { publicKey: SSH_PUBLIC_KEY, privateKey: pulumi.secret(SSH_PRIVATE_KEY) };
    const clusters: DigitalOceanEdgeCluster[] = [];
    for (const [index, hostCount] of clusterSizes(options.hosts).entries()) {
        clusters.push(
            new DigitalOceanEdgeCluster(clusterName(index), {
                provider,
                region: "ams3",
                hostCount,
                ssh,
                // DigitalOcean takes one public key once per account: later clusters reuse the first one's.
                sshKeyId: index === 0 ? undefined : clusters[0].sshKeyFingerprint,
                vpcIpRange: `10.${10 + Math.floor(index / 250)}.${index % 250}.0/24`,
                opennebula: { connection, frontendSshPublicKey: ONEADMIN_KEY },
            }),
        );
    }
    if (options.withoutOverlay) return { clusters };

    const machine = new StandInMachine("ingress");
    const ingress: RemoteNode = { key: "ingress", publicIp: machine.publicIp, sshUser: "root", dependsOn: [machine] };
    // A host joins the overlay once its edge configuration (firewall included) is done.
    const hosts = clusters.flatMap((cluster) => cluster.overlayNodes());
    const mesh = new WireGuardMesh("overlay", { ingress, hosts, ssh, subnet: WG_SUBNET, topology: options.topology ?? "hub" });
    new EvpnFabric("fabric", { mesh });
    new EvpnPrivateNetwork("private", {
        targets: [{ connection, clusterIds: clusters.map((cluster) => cluster.clusterId) }],
        vlanId: 100,
        mesh,
    });
    return { clusters, mesh };
}

/** Commands per KVM host: six host scripts of the edge cluster, three WireGuard and two FRR ones. */
const EDGE_COMMANDS = ["repo", "node", "oneadmin-key", "sysctl", "firewall", "forwarding"];
const OVERLAY_COMMANDS = ["overlay-install", "overlay-key", "overlay-config", "fabric-install", "fabric-config"];

/**
 * The fleet's custom resources declared by hand, one by one, with literal inputs: the same resource
 * classes and numbers as {@link fleetProgram}, but no components, no Outputs flowing from one
 * resource into another and nothing rendered. What the same deployment costs without this package's
 * components, to compare the components with.
 */
export function flatFleetProgram(hosts: number): void {
    const connection = { endpoint: "http://frontend.invalid:2633/RPC2", username: "oneadmin", password: "bench-password" };
    const provider = new digitalocean.Provider("do", { token: "bench-token" });
    const cloud = { provider };
    // Host scripts are a few KiB each (see toStdin); one literal of that size stands in for all of them.
    const stdin = "#!/usr/bin/env bash\n".padEnd(7 * 1024, "#");
    const commandOn = (name: string, host: string) =>
        new command.remote.Command(name, {
            connection: { host, user: "root", port: 22, privateKey: SSH_PRIVATE_KEY, dialErrorLimit: 30 },
            create: "bash -s",
            stdin,
            addPreviousOutputInEnv: false,
            logging: "stdoutAndStderr",
        });
    new digitalocean.SshKey("edge-00-ssh-key", { name: "edge-00", publicKey: SSH_PUBLIC_KEY }, cloud);
    clusterSizes(hosts).forEach((hostCount, index) => {
        const name = clusterName(index);
        new digitalocean.Vpc(
            `${name}-vpc`,
            { name: `${name}-vpc`, region: "ams3", ipRange: `10.${10 + Math.floor(index / 250)}.${index % 250}.0/24` },
            cloud,
        );
        new digitalocean.Tag(`${name}-tag`, { name: `one-edge-${name}` }, cloud);
        new digitalocean.Firewall(
            `${name}-firewall`,
            {
                name: `${name}-edge`,
                tags: [`one-edge-${name}`],
                inboundRules: [{ protocol: "tcp", portRange: "1-65535", sourceAddresses: ["0.0.0.0/0"] }],
            },
            cloud,
        );
        new Cluster(`${name}-one-cluster`, { name, template: { RESERVED_CPU: "0", RESERVED_MEM: "0" }, connection });
        for (const type of ["IMAGE_DS", "SYSTEM_DS"]) {
            new Datastore(`${name}-one-${type}`, {
                name: `${name}-${type}`,
                type,
                tmMad: "ssh",
                clusterIds: [100 + index],
                template: { SAFE_DIRS: "/var/tmp /tmp" },
                connection,
            });
        }
        new VirtualNetwork(`${name}-one-public`, {
            name: `${name}-public`,
            vnMad: "bridge",
            template: { BRIDGE: "br0" },
            addressRanges: [{ TYPE: "IP4", IP: "192.168.23.2", SIZE: 250 }],
            clusterIds: [100 + index],
            connection,
        });
        for (const datastoreId of [1, 2])
            new ClusterMembership(`${name}-one-shared-ds-${datastoreId}`, {
                clusterId: 100 + index,
                kind: "datastore",
                memberId: datastoreId,
                connection,
            });
        for (let i = 0; i < hostCount; i++) {
            const ip = `198.18.${index}.${10 + i}`;
            new digitalocean.Droplet(
                `${name}-host-${i}`,
                {
                    name: `${name}-host-${i}`,
                    region: "ams3",
                    size: "s-2vcpu-4gb",
                    image: "ubuntu-22-04-x64",
                    vpcUuid: `vpc-${index}`,
                    sshKeys: ["fp"],
                    tags: [`one-edge-${name}`],
                },
                cloud,
            );
            for (const step of EDGE_COMMANDS) commandOn(`${name}-host-${i}-${step}`, ip);
            new Host(`${name}-one-host-${i}`, {
                name: ip,
                imMad: "qemu",
                clusterId: 100 + index,
                template: { EDGE: { CLOUD_ID: `droplet-${i}`, PRIVATE_IP: `10.10.${index}.${10 + i}`, PUBLIC_IP: ip } },
                connection,
            });
            for (const step of OVERLAY_COMMANDS) commandOn(`${name}-host-${i}-${step}`, ip);
        }
    });
    new StandInMachine("ingress");
    for (const step of OVERLAY_COMMANDS) commandOn(`ingress-${step}`, "198.19.0.1");
    new VirtualNetwork("private-vnet-0", {
        name: "private",
        vnMad: "vxlan",
        template: { PHYDEV: "wg0", VLAN_ID: "100" },
        addressRanges: [{ TYPE: "IP4", IP: "172.17.2.1", SIZE: 20 }],
        clusterIds: [100],
        connection,
    });
}

/** A deterministic, well-formed WireGuard public key for a node (base64 of 32 bytes). */
export function benchPublicKey(nodeKey: string): string {
    return createHash("sha256").update(`bench-wg:${nodeKey}`).digest("base64");
}

/**
 * Mock outputs of the fleet's cloud and command resources: droplet `edge-<c>-host-<i>` gets public
 * IP 198.18.<c>.<10+i> and VPC IP 10.x.<c>.<10+i>; the ingress 198.19.0.1; every `…-key-<node>`
 * command prints the node's public key, as `wireguard-up.sh` with `WG_KEY_ONLY=1` does.
 */
export function fleetOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    if (args.type === "digitalocean:index/droplet:Droplet") {
        const [, cluster, host] = /^edge-(\d+)-host-(\d+)$/.exec(args.name) ?? [];
        return {
            ipv4Address: `198.18.${Number(cluster)}.${10 + Number(host)}`,
            ipv4AddressPrivate: `10.${10 + Math.floor(Number(cluster) / 250)}.${Number(cluster) % 250}.${10 + Number(host)}`,
        };
    }
    if (args.type === "digitalocean:index/sshKey:SshKey") return { fingerprint: `fp-${args.name}` };
    if (args.type === STAND_IN_MACHINE) return { publicIp: "198.19.0.1" };
    const key = /-key-(.+)$/.exec(args.name);
    if (args.type === "command:remote:Command" && key) return { stdout: `${benchPublicKey(key[1])}\n`, stderr: "" };
    return {};
}
