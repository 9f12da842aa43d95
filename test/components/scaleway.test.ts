import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import type { ScalewayEdgeClusterArgs } from "../../components/clouds/scaleway";
import {
    ScalewayEdgeCluster,
    flexibleIpAddress,
    natLease,
    privateNetworkVlan,
    privateVlanScript,
    scalewayRegionOf,
    uplinkFromOutput,
    validateScalewayEdgeClusterArgs,
} from "../../components/clouds/scaleway";
import type { RecordedProgram, RunOptions } from "../support/pulumi-mocks";
import { runProgram } from "../support/pulumi-mocks";
import { Lab, netnsSkipReason, nsName, run, runScript } from "../host/netns";
import { toStdin } from "../../components/remote/host-script";
import { environmentOf, unsecret, valueOf } from "../support/stdin";
import { ipv4ToNumber, peerOf31 } from "../../components/validation";
import { ONEADMIN_KEY } from "../support/fixtures";

const SCWA = nsName("scwa");
const SCWB = nsName("scwb");
const SCWC = nsName("scwc");

const SSH_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2NhbGV3YXktc2VjcmV0LWtleQ==\n-----END OPENSSH PRIVATE KEY-----";
const SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIScalewayTestKey admin@example";
const ONE_PASSWORD = "one-password-do-not-leak";

const T = {
    vpc: "scaleway:network/vpc:Vpc",
    privateNetwork: "scaleway:network/privateNetwork:PrivateNetwork",
    ipam: "scaleway:ipam/ip:Ip",
    gateway: "scaleway:network/publicGateway:PublicGateway",
    gatewayNetwork: "scaleway:network/gatewayNetwork:GatewayNetwork",
    sshKey: "scaleway:iam/sshKey:SshKey",
    server: "scaleway:elasticmetal/server:Server",
    flexibleIp: "scaleway:elasticmetal/ip:Ip",
    command: "command:remote:Command",
    host: "pulumi-nodejs:dynamic/opennebula-edge:Host",
    network: "pulumi-nodejs:dynamic/opennebula-edge:VirtualNetwork",
};

/** Deterministic cloud answers: server i has 51.158.<zone>.<10+i>, flexible IP j of host i 62.210.<zone>.<1+4i+j>/32. */
const ZONE_OCTET: Record<string, number> = { "fr-par-1": 1, "nl-ams-1": 2 };
const UPLINK = "enp5s0";

/** Host n of a server or flexible IP name (`c-host-1`, `c-host-1-ip-0`), and the IP's index j. */
function indices(name: string): { host: number; ip: number } {
    const match = /-host-(\d+)(?:-ip-(\d+))?$/.exec(name)!;
    return { host: Number(match[1]), ip: Number(match[2] ?? 0) };
}

const cloudOutputs: RunOptions["outputs"] = (args) => {
    const zone = ZONE_OCTET[args.inputs.zone as string] ?? 9;
    if (args.type === T.server) {
        return {
            ipv4s: [{ address: `51.158.${zone}.${10 + indices(args.name).host}`, version: "IPv4" }],
            privateNetworks: (args.inputs.privateNetworks ?? []).map((pn: Record<string, unknown>) => ({
                ...pn,
                id: `${zone === 1 ? "fr-par" : "nl-ams"}/${pn.id}`,
                vlan: 100 + indices(args.name).host,
            })),
        };
    }
    if (args.type === T.flexibleIp) return { ipAddress: `62.210.${zone}.${1 + 4 * indices(args.name).host + indices(args.name).ip}/32` };
    if (args.type === T.command && args.name.endsWith("-private-vlan")) {
        return { stdout: `scaleway-private-vlan.sh: created scwpn0\nUPLINK=${UPLINK}\n` };
    }
    return {};
};

interface Call {
    token: string;
    inputs: Record<string, unknown>;
    provider?: string;
}

function mocks(calls: Call[] = [], extra: Partial<RunOptions> = {}): RunOptions {
    return {
        outputs: cloudOutputs,
        call: (args) => {
            calls.push({ token: args.token, inputs: args.inputs, provider: args.provider });
            if (args.token === "scaleway:elasticmetal/getOffer:getOffer")
                return { ...args.inputs, offerId: `offer-${args.inputs.name}-${args.inputs.zone}` };
            if (args.token === "scaleway:elasticmetal/getOs:getOs") return { ...args.inputs, osId: `os-${args.inputs.version}` };
            return args.inputs;
        },
        ...extra,
    };
}

/** Two hosts, three flexible IPs: two on host-0, one on host-1. */
const THREE_IPS = { "host-0": { publicIps: 2 }, "host-1": { publicIps: 1 } };

function clusterArgs(
    provider: scaleway.Provider,
    zone: ScalewayEdgeClusterArgs["zone"],
    extra: Partial<ScalewayEdgeClusterArgs> = {},
): ScalewayEdgeClusterArgs {
    return {
        provider,
        zone,
        hosts: THREE_IPS,
        ssh: { publicKey: SSH_PUBLIC_KEY, privateKey: pulumi.secret(SSH_PRIVATE_KEY) },
        opennebula: {
            frontendSshPublicKey: ONEADMIN_KEY,
            connection: { endpoint: "http://fe:2633/RPC2", username: "oneadmin", password: pulumi.secret(ONE_PASSWORD) },
        },
        ...extra,
    };
}

/** One cluster "c" in fr-par-1 with the provider "scw-par". */
async function single(extra: Partial<ScalewayEdgeClusterArgs> = {}, calls: Call[] = []): Promise<RecordedProgram> {
    return runProgram(() => {
        const provider = new scaleway.Provider("scw-par", { zone: "fr-par-1", region: "fr-par" });
        return new ScalewayEdgeCluster("c", clusterArgs(provider, "fr-par-1", extra));
    }, mocks(calls));
}

describe("ScalewayEdgeCluster (mocks)", function () {
    this.timeout(60_000);

    it("creates the VPC, private network, reservations, gateway, SSH key, servers and flexible IPs of its zone", async function () {
        const calls: Call[] = [];
        const program = await single({}, calls);
        const count = (type: string) => program.ofType(type).length;
        assert.deepStrictEqual(
            [T.vpc, T.privateNetwork, T.ipam, T.gateway, T.gatewayNetwork, T.sshKey, T.server, T.flexibleIp].map(count),
            [1, 1, 3, 1, 1, 1, 2, 3],
        );

        const vpc = program.named("c-vpc").inputs;
        assert.strictEqual(vpc.region, "fr-par");
        assert.strictEqual(vpc.enableRouting, true);
        const pn = program.named("c-private").inputs;
        assert.deepStrictEqual([pn.region, pn.vpcId, pn.ipv4Subnet], ["fr-par", "c-vpc-id", { subnet: "172.18.0.0/20" }]);

        const reservations = Object.fromEntries(program.ofType(T.ipam).map((r) => [r.name, r.inputs]));
        assert.deepStrictEqual(Object.keys(reservations).sort(), ["c-gateway-ip", "c-host-0-private-ip", "c-host-1-private-ip"]);
        assert.deepStrictEqual(
            ["c-host-0-private-ip", "c-host-1-private-ip", "c-gateway-ip"].map((n) => reservations[n].address),
            ["172.18.0.10", "172.18.0.11", "172.18.0.2"],
        );
        for (const r of Object.values(reservations))
            assert.deepStrictEqual([r.region, r.sources], ["fr-par", [{ privateNetworkId: "c-private-id" }]]);

        const gateway = program.named("c-gateway").inputs;
        assert.deepStrictEqual([gateway.type, gateway.zone, gateway.bastionEnabled], ["VPC-GW-S", "fr-par-1", false]);
        const gatewayNetwork = program.named("c-gateway-network");
        assert.deepStrictEqual(gatewayNetwork.inputs.ipamConfigs, [{ pushDefaultRoute: true, ipamIpId: "c-gateway-ip-id" }]);
        assert.deepStrictEqual(
            [gatewayNetwork.inputs.gatewayId, gatewayNetwork.inputs.privateNetworkId, gatewayNetwork.inputs.zone],
            ["c-gateway-id", "c-private-id", "fr-par-1"],
        );
        for (const reservation of ["c-host-0-private-ip", "c-host-1-private-ip"]) {
            assert.ok(gatewayNetwork.dependsOn.includes(reservation), `the gateway network waits for ${reservation}`);
        }

        assert.strictEqual(program.named("c-ssh-key").inputs.publicKey, SSH_PUBLIC_KEY);
        for (const [i, server] of program.ofType(T.server).entries()) {
            assert.strictEqual(server.name, `c-host-${i}`);
            assert.strictEqual(server.inputs.zone, "fr-par-1");
            assert.strictEqual(server.inputs.offer, "offer-EM-A115X-SSD-fr-par-1");
            assert.strictEqual(server.inputs.os, "os-22.04 LTS (Jammy Jellyfish)");
            assert.deepStrictEqual(server.inputs.sshKeyIds, ["c-ssh-key-id"]);
            assert.deepStrictEqual(server.inputs.privateNetworks, [{ id: "c-private-id", ipamIpIds: [`c-host-${i}-private-ip-id`] }]);
            assert.strictEqual(server.inputs.cloudInit, undefined, "no user data: the image's ubuntu user gets the IAM key");
        }
        const offerCall = calls.find((c) => c.token === "scaleway:elasticmetal/getOffer:getOffer")!;
        assert.deepStrictEqual(offerCall.inputs, { name: "EM-A115X-SSD", zone: "fr-par-1", subscriptionPeriod: "hourly" });
        const osCall = calls.find((c) => c.token === "scaleway:elasticmetal/getOs:getOs")!;
        assert.deepStrictEqual(osCall.inputs, { name: "Ubuntu", version: "22.04 LTS (Jammy Jellyfish)", zone: "fr-par-1" });

        assert.deepStrictEqual(
            program.ofType(T.flexibleIp).map((ip) => [ip.name, ip.inputs.serverId, ip.inputs.zone]),
            [
                ["c-host-0-ip-0", "c-host-0-id", "fr-par-1"],
                ["c-host-0-ip-1", "c-host-0-id", "fr-par-1"],
                ["c-host-1-ip-0", "c-host-1-id", "fr-par-1"],
            ],
        );
    });

    it("gives every Scaleway resource and lookup the explicit provider, and parents everything under the component", async function () {
        const calls: Call[] = [];
        const program = await single({}, calls);
        const cloud = program.resources.filter((r) => r.type.startsWith("scaleway:"));
        assert.ok(cloud.length >= 13);
        for (const r of cloud) {
            assert.strictEqual(r.provider, "scw-par", `${r.name} uses the explicit provider`);
            assert.strictEqual(r.parent, "c", `${r.name} is a child of the component`);
        }
        const lookups = calls.filter((c) => c.token.startsWith("scaleway:"));
        assert.strictEqual(lookups.length, 2);
        for (const call of lookups) assert.match(call.provider ?? "", /::scw-par::/, `${call.token} goes through the explicit provider`);
        assert.strictEqual(program.named("c-one").parent, "c");
        assert.strictEqual(program.named("c-one").type, "opennebula-edge:edge:EdgeCluster");
        assert.strictEqual(program.named("c").type, "opennebula-edge:clouds:ScalewayEdgeCluster");
    });

    it("puts each host on the private network's VLAN with its reserved address before configuring it", async function () {
        const program = await single();
        for (const i of [0, 1]) {
            const vlan = program.named(`c-host-${i}-private-vlan`);
            assert.strictEqual(vlan.type, T.command);
            assert.strictEqual(vlan.inputs.create, "sudo bash -s");
            const connection = unsecret(vlan.inputs.connection);
            assert.deepStrictEqual([connection.user, connection.host, connection.port], ["ubuntu", `51.158.1.${10 + i}`, 22]);
            assert.deepStrictEqual(environmentOf(vlan.inputs.stdin), {
                PRIVATE_VLAN: String(100 + i),
                PRIVATE_ADDRESS: `172.18.0.${10 + i}/20`,
                PRIVATE_VLAN_DEVICE: "scwpn0",
            });
            assert.ok(program.dependsOn(vlan.name, `c-host-${i}`), "the VLAN command waits for its server");
            assert.ok(program.dependsOn(`c-one-host-${i}-repo`, vlan.name), "host configuration waits for the private network");
            assert.ok(program.dependsOn(`c-one-host-${i}-repo`, `c-host-${i}`), "host configuration waits for the server");

            const host = program.named(`c-one-host-${i}`);
            assert.strictEqual(host.type, T.host);
            assert.strictEqual(host.inputs.name, `51.158.1.${10 + i}`);
            assert.strictEqual(host.inputs.imMad, "kvm");
            assert.deepStrictEqual(host.inputs.template.EDGE, {
                CLOUD_ID: `c-host-${i}-id`,
                PRIVATE_IP: `172.18.0.${10 + i}`,
                PUBLIC_IP: `51.158.1.${10 + i}`,
            });
        }
        assert.ok(
            program.dependsOn("c-one-host-0-repo", "c-host-0-ip-0") && program.dependsOn("c-one-host-0-repo", "c-host-0-ip-1"),
            "host-0 waits for its flexible IPs",
        );
        assert.ok(!program.dependsOn("c-one-host-1-repo", "c-host-0-ip-0"), "host-1 does not wait for host-0's IPs");
        assert.ok(!program.dependsOn("c-one-host-1-repo", "c-host-0"), "hosts do not wait for each other");
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))) {
            assert.ok(r.name === "c-one-cluster" || program.dependsOn(r.name, "c-one-cluster"), `${r.name} belongs to the cluster`);
        }
        for (const i of [0, 1])
            assert.ok(program.dependsOn(`c-one-host-${i}`, `c-one-host-${i}-firewall`), "the OpenNebula host waits for its configuration");
    });

    it("publishes one address range per flexible IP and forwards each IP on the host that carries it", async function () {
        const program = await single();
        const network = program.named("c-one-public");
        assert.strictEqual(network.type, T.network);
        assert.deepStrictEqual(network.inputs.template, { BRIDGE: "br0", NETROLE: "public", DNS: "1.1.1.1" });
        // Flexible IP j of host-<n> (slot n): VM at 172.16.0.0 + 2·(8n + j) + 1, its gateway one below.
        const ar = (pair: number, external: number, host: string) => ({
            TYPE: "IP4",
            IP: `172.16.0.${2 * pair + 1}`,
            SIZE: 1,
            GATEWAY: `172.16.0.${2 * pair}`,
            NETWORK_MASK: "255.255.255.254",
            EXTERNAL_IP: `62.210.1.${external}`,
            EDGE_HOST: host,
        });
        assert.deepStrictEqual(network.inputs.addressRanges, [ar(0, 1, "51.158.1.10"), ar(1, 2, "51.158.1.10"), ar(8, 5, "51.158.1.11")]);

        const forwarding = (i: number) => environmentOf(program.named(`c-one-host-${i}-forwarding`).inputs.stdin);
        assert.deepStrictEqual(forwarding(0), {
            PUBLIC_MODEL: "nat",
            NAT_BY: "host",
            UPLINK,
            BRIDGE: "br0",
            BOOT_UNITS: "yes",
            NAT_PAIRS: "62.210.1.1=172.16.0.1 62.210.1.2=172.16.0.3",
            GATEWAY: "172.16.0.0 172.16.0.2",
        });
        assert.deepStrictEqual(forwarding(1), {
            PUBLIC_MODEL: "nat",
            NAT_BY: "host",
            UPLINK,
            BRIDGE: "br0",
            BOOT_UNITS: "yes",
            NAT_PAIRS: "62.210.1.5=172.16.0.17",
            GATEWAY: "172.16.0.16",
        });
        // The forwarding covers exactly the published ranges: each AR's lease and gateway on the host named in EDGE_HOST.
        for (const range of network.inputs.addressRanges as unknown as Record<string, string>[]) {
            const i = range.EDGE_HOST === "51.158.1.10" ? 0 : 1;
            assert.ok(forwarding(i).NAT_PAIRS.split(" ").includes(`${range.EXTERNAL_IP}=${range.IP}`));
            assert.ok(forwarding(i).GATEWAY.split(" ").includes(range.GATEWAY));
        }
        assert.ok(program.dependsOn("c-one-host-0-forwarding", "c-host-0-private-vlan"), "the uplink comes from the VLAN command");

        const component = program.named("c").resource as ScalewayEdgeCluster;
        assert.deepStrictEqual(await valueOf(component.vmPublicIps), ["62.210.1.1", "62.210.1.2", "62.210.1.5"]);
        assert.deepStrictEqual(await valueOf(component.publicIpHosts), {
            "62.210.1.1": "host-0",
            "62.210.1.2": "host-0",
            "62.210.1.5": "host-1",
        });
        assert.deepStrictEqual(await valueOf(component.hosts), {
            "host-0": { publicIp: "51.158.1.10", privateIp: "172.18.0.10", sshUser: "ubuntu", machineId: "c-host-0-id" },
            "host-1": { publicIp: "51.158.1.11", privateIp: "172.18.0.11", sshUser: "ubuntu", machineId: "c-host-1-id" },
        });
        assert.deepStrictEqual(
            component.publicIpLeases.map((lease) => [lease.host, lease.address, lease.translated]),
            [
                ["host-0", "172.16.0.1", true],
                ["host-0", "172.16.0.3", true],
                ["host-1", "172.16.0.17", true],
            ],
        );
        assert.strictEqual(await valueOf(component.vpcId), "c-vpc-id");
        assert.deepStrictEqual([component.zone, component.region], ["fr-par-1", "fr-par"]);
    });

    it("uses the os, offer, hypervisor, ranges, bastion, uplink and existing SSH key it is given", async function () {
        const calls: Call[] = [];
        const program = await single(
            {
                os: "ubuntu_2404",
                offer: "EM-I220E-NVME",
                hypervisor: "lxc",
                hosts: undefined,
                hostCount: 1,
                publicIps: 1,
                privateNetworkCidr: "192.168.40.0/26",
                natCidr: "172.20.0.0/30",
                dns: "9.9.9.9",
                gatewayType: "VPC-GW-M",
                bastion: { allowedIpRanges: ["198.51.100.0/24"] },
                uplinkInterface: "eno1",
                sshKeyId: "fr-par/existing-key",
            },
            calls,
        );
        assert.deepStrictEqual(calls.find((c) => c.token.endsWith("getOs"))!.inputs, {
            name: "Ubuntu",
            version: "24.04 LTS (Noble Numbat)",
            zone: "fr-par-1",
        });
        assert.strictEqual(program.named("c-host-0").inputs.os, "os-24.04 LTS (Noble Numbat)");
        assert.strictEqual(program.named("c-host-0").inputs.offer, "offer-EM-I220E-NVME-fr-par-1");
        assert.deepStrictEqual(program.named("c-host-0").inputs.sshKeyIds, ["fr-par/existing-key"]);
        assert.strictEqual(program.ofType(T.sshKey).length, 0, "no new SSH key");
        assert.strictEqual(program.named("c-one-host-0").inputs.imMad, "lxc");
        assert.match(environmentOf(program.named("c-one-host-0-node").inputs.stdin).HYPERVISOR, /^lxc$/);
        assert.deepStrictEqual(program.named("c-private").inputs.ipv4Subnet, { subnet: "192.168.40.0/26" });
        assert.strictEqual(program.named("c-host-0-private-ip").inputs.address, "192.168.40.10");
        const gateway = program.named("c-gateway").inputs;
        assert.deepStrictEqual(
            [gateway.type, gateway.bastionEnabled, gateway.bastionPort, gateway.allowedIpRanges],
            ["VPC-GW-M", true, 61000, ["198.51.100.0/24"]],
        );
        assert.deepStrictEqual(environmentOf(program.named("c-host-0-private-vlan").inputs.stdin), {
            PRIVATE_VLAN: "100",
            PRIVATE_ADDRESS: "192.168.40.10/26",
            UPLINK: "eno1",
            PRIVATE_VLAN_DEVICE: "scwpn0",
        });
        const forwarding = environmentOf(program.named("c-one-host-0-forwarding").inputs.stdin);
        assert.deepStrictEqual(
            [forwarding.UPLINK, forwarding.NAT_PAIRS, forwarding.GATEWAY],
            ["eno1", "62.210.1.1=172.20.0.1", "172.20.0.0"],
        );
        assert.strictEqual(program.named("c-one-public").inputs.template.DNS, "9.9.9.9");
    });

    it("with no public IPs creates no flexible IP, no public network and no forwarding", async function () {
        const program = await single({ hosts: undefined, hostCount: 2 });
        assert.strictEqual(program.ofType(T.flexibleIp).length, 0);
        assert.strictEqual(program.ofType(T.network).length, 0);
        assert.ok(!program.resources.some((r) => r.name.endsWith("-forwarding")));
        assert.strictEqual(program.ofType(T.server).length, 2);
    });

    it("keeps the SSH private key and the OpenNebula password secret and out of every command text and cloud input", async function () {
        const program = await single();
        const commands = program.ofType(T.command);
        assert.ok(commands.length >= 2 * 7);
        for (const cmd of commands) {
            assert.ok(cmd.secretInputs.includes("connection"), `${cmd.name}: connection is secret`);
            for (const text of [cmd.inputs.create, cmd.inputs.stdin]) {
                assert.ok(
                    !text.includes("c2NhbGV3YXktc2VjcmV0LWtleQ") && !text.includes("PRIVATE KEY") && !text.includes(ONE_PASSWORD),
                    `${cmd.name}: no secret in create/stdin`,
                );
            }
        }
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))) {
            assert.ok(r.secretInputs.includes("connection"), `${r.name}: the OpenNebula connection is secret`);
        }
        for (const r of program.resources.filter((r) => r.type.startsWith("scaleway:"))) {
            const text = JSON.stringify(r.inputs);
            assert.ok(!text.includes("c2NhbGV3YXktc2VjcmV0LWtleQ") && !text.includes(ONE_PASSWORD), `${r.name}: no secret in its inputs`);
        }
    });

    it("builds two edge clusters in two regions in one program: own providers, own zones, no shared names", async function () {
        const calls: Call[] = [];
        const program = await runProgram(() => {
            const par = new scaleway.Provider("scw-par", { zone: "fr-par-1", region: "fr-par" });
            const ams = new scaleway.Provider("scw-ams", { zone: "nl-ams-1", region: "nl-ams" });
            new ScalewayEdgeCluster("par", clusterArgs(par, "fr-par-1"));
            new ScalewayEdgeCluster("ams", clusterArgs(ams, "nl-ams-1", { hosts: undefined, hostCount: 1, publicIps: 2 }));
        }, mocks(calls));
        const names = program.resources.map((r) => r.name);
        assert.strictEqual(new Set(names).size, names.length, "no two resources share a name");
        const expected = {
            par: { provider: "scw-par", zone: "fr-par-1", region: "fr-par" },
            ams: { provider: "scw-ams", zone: "nl-ams-1", region: "nl-ams" },
        };
        for (const r of program.resources.filter((r) => r.type.startsWith("scaleway:"))) {
            const want = expected[r.name.split("-")[0] as "par" | "ams"];
            assert.strictEqual(r.provider, want.provider, `${r.name} uses its region's provider`);
            if (r.inputs.zone !== undefined) assert.strictEqual(r.inputs.zone, want.zone, `${r.name} zone`);
            if (r.inputs.region !== undefined) assert.strictEqual(r.inputs.region, want.region, `${r.name} region`);
            assert.ok(
                r.inputs.zone !== undefined || r.inputs.region !== undefined || r.type === T.sshKey,
                `${r.name} states its zone or region`,
            );
        }
        assert.strictEqual(program.ofType(T.server).filter((s) => s.inputs.zone === "nl-ams-1").length, 1);
        assert.strictEqual(program.ofType(T.flexibleIp).filter((s) => s.inputs.zone === "nl-ams-1").length, 2);
        for (const call of calls.filter((c) => c.token.startsWith("scaleway:"))) {
            const provider = call.inputs.zone === "fr-par-1" ? "scw-par" : "scw-ams";
            assert.match(call.provider ?? "", new RegExp(`::${provider}::`), `${call.token} in ${call.inputs.zone}`);
        }
        assert.deepStrictEqual(
            program.named("ams-one-public").inputs.addressRanges.map((ar: Record<string, string>) => ar.EXTERNAL_IP),
            ["62.210.2.1", "62.210.2.2"],
        );
        assert.deepStrictEqual(program.named("par-one-cluster").inputs.name, "par");
        assert.deepStrictEqual(program.named("ams-one-cluster").inputs.name, "ams");
    });

    const bad: [string, Partial<ScalewayEdgeClusterArgs> | ((a: ScalewayEdgeClusterArgs) => void), RegExp][] = [
        [
            "an unknown zone",
            { zone: "fr-par-3" as never },
            /^zone: must be one of fr-par-1, fr-par-2, nl-ams-1, nl-ams-2, pl-waw-2, pl-waw-3/,
        ],
        ["a region instead of a zone", { zone: "fr-par" as never }, /^zone: must be one of fr-par-1/],
        ["0 hosts", { hosts: undefined, hostCount: 0 }, /^hostCount: must be an integer from 1 to 50/],
        ["51 hosts", { hosts: undefined, hostCount: 51 }, /^hostCount: must be an integer from 1 to 50/],
        [
            "more public IPs in all than allowed",
            { hosts: { "kvm-a": { publicIps: 5 }, "kvm-b": { publicIps: 4 } } },
            /^hosts: asks for 9 public IPs in all \(kvm-a: 5, kvm-b: 4\); at most 8/,
        ],
        ["two hosts on one slot", { hosts: { "kvm-a": { slot: 2 }, "kvm-b": { slot: 2 } } }, /^hosts\.kvm-b: has slot 2, as kvm-a has/],
        ["more public IPs than allowed", { publicIps: 9 }, /^publicIps: must be an integer from 0 to 8/],
        ["a negative number of public IPs", { publicIps: -1 }, /^publicIps: must be an integer from 0 to 8/],
        ["a malformed private CIDR", { privateNetworkCidr: "172.18.0.0/33" }, /^privateNetworkCidr: must be an IPv4 CIDR/],
        ["a private CIDR with host bits", { privateNetworkCidr: "172.18.0.1/24" }, /^privateNetworkCidr: must be a network address/],
        [
            "a private CIDR outside the advised ranges",
            { privateNetworkCidr: "10.1.0.0/24" },
            /^privateNetworkCidr: must lie inside 172\.16\.0\.0\/12 or 192\.168\.0\.0\/16/,
        ],
        [
            "a private CIDR too large",
            { privateNetworkCidr: "172.16.0.0/16" },
            /^privateNetworkCidr: must have a prefix length from \/20 to \/28/,
        ],
        [
            "a private CIDR too small for the hosts",
            { privateNetworkCidr: "172.18.0.0/28", hosts: undefined, hostCount: 5 },
            /^privateNetworkCidr: 172\.18\.0\.0\/28 is too small for host host-4 \(slot 4\): hosts take network \+ 10 \+ slot/,
        ],
        [
            "a private CIDR too small for a named host",
            { privateNetworkCidr: "172.18.0.0/24", hosts: ["kvm-a"] },
            /^privateNetworkCidr: 172\.18\.0\.0\/24 is too small for host kvm-a \(slot \d+\)/,
        ],
        [
            "a NAT range overlapping the private network",
            { natCidr: "172.18.0.0/25" },
            /^natCidr: 172\.18\.0\.0\/25 overlaps privateNetworkCidr/,
        ],
        [
            "a NAT range too small",
            { natCidr: "172.16.100.0/30" },
            /^natCidr: 172\.16\.100\.0\/30 is too small for the public IPs of host host-1 \(slot 1\)/,
        ],
        ["a malformed NAT range", { natCidr: "nat" }, /^natCidr: must be an IPv4 CIDR/],
        ["a missing front-end key", (a) => (a.opennebula = { frontendSshPublicKey: "" }), /^opennebula\.frontendSshPublicKey: is required/],
        ["a missing SSH public key", (a) => (a.ssh = { ...a.ssh, publicKey: "" }), /^ssh\.publicKey: is required/],
        ["a missing SSH private key", (a) => (a.ssh = { ...a.ssh, privateKey: "" }), /^ssh\.privateKey: is required/],
        ["an unknown hypervisor", { hypervisor: "xen" as never }, /^hypervisor: must be one of kvm, lxc/],
        ["qemu on bare metal", { hypervisor: "qemu" as never }, /^hypervisor: must be one of kvm, lxc/],
        ["an unknown offer", { offer: "GP1-XS" }, /^offer: must be an Elastic Metal offer name such as EM-A115X-SSD/],
        ["an unknown OS", { os: "debian_12" as never }, /^os: must be one of ubuntu_2204, ubuntu_2404/],
        [
            "an unknown gateway type",
            { gatewayType: "VPC-GW-XXL" as never },
            /^gatewayType: must be one of VPC-GW-S, VPC-GW-M, VPC-GW-L, VPC-GW-XL/,
        ],
        ["a bad bastion port", { bastion: { port: 0 } }, /^bastion\.port: must be an integer from 1 to 65535/],
        ["a bad bastion range", { bastion: { allowedIpRanges: ["anywhere"] } }, /^bastion\.allowedIpRanges\[0\]: must be an IPv4 CIDR/],
        ["a bad uplink name", { uplinkInterface: "eth0; reboot" }, /^uplinkInterface: must be an interface name/],
        ["a bad DNS server", { dns: "dns.example" }, /^dns: must be an IPv4 address/],
        [
            "no provider",
            (a) => (a.provider = undefined as never),
            /^provider: is required: the scaleway provider; the default provider is never used \(got nothing\)/,
        ],
        [
            "another cloud's provider",
            (a) => (a.provider = {} as never),
            /^provider: is required: the scaleway provider; the default provider is never used \(got an object\)/,
        ],
    ];
    for (const [label, change, message] of bad) {
        it(`rejects ${label} before registering anything`, async function () {
            let error: Error | undefined;
            const program = await runProgram(() => {
                const provider = new scaleway.Provider("scw", { zone: "fr-par-1" });
                const a = clusterArgs(provider, "fr-par-1");
                if (typeof change === "function") change(a);
                else Object.assign(a, change);
                try {
                    new ScalewayEdgeCluster("c", a);
                } catch (err) {
                    error = err as Error;
                }
            }, mocks());
            assert.match(error?.message ?? "no error", message);
            assert.strictEqual(error?.name, "ConfigError");
            assert.deepStrictEqual(
                program.resources.filter((r) => r.name !== "scw").map((r) => r.name),
                [],
                "nothing but the test's own provider is registered",
            );
        });
    }
});

describe("Scaleway helpers", function () {
    it("derives the region from the zone", function () {
        assert.deepStrictEqual(["fr-par-1", "nl-ams-2", "pl-waw-3"].map(scalewayRegionOf), ["fr-par", "nl-ams", "pl-waw"]);
    });

    it("gives flexible IP j of slot s the odd address of /31 pair 8s + j, so that its gateway (XOR 1) is nobody's lease", function () {
        const leases = new Set<string>();
        for (const slot of [0, 1, 2, 255, 256, 3071]) {
            for (let j = 0; j < 8; j++) {
                const vmIp = natLease("172.16.0.0/16", slot, j);
                assert.strictEqual(ipv4ToNumber(vmIp) - ipv4ToNumber("172.16.0.0"), 2 * (8 * slot + j) + 1);
                assert.ok(!leases.has(peerOf31(vmIp)), `${vmIp}'s gateway is not a lease`);
                leases.add(vmIp);
            }
        }
        assert.strictEqual(leases.size, 48, "no two leases collide");
    });

    it("reads flexible IP addresses with or without /32 and refuses anything else", function () {
        assert.strictEqual(flexibleIpAddress("51.159.0.20/32"), "51.159.0.20");
        assert.strictEqual(flexibleIpAddress("51.159.0.20"), "51.159.0.20");
        assert.throws(() => flexibleIpAddress("2001:bc8::/64"), /^ConfigError: flexibleIp: must be an IPv4 address/);
    });

    it("finds the VLAN of the attachment to the private network, whatever the id's locality prefix", function () {
        const attachments = [
            { id: "fr-par/aaa", vlan: 7 },
            { id: "fr-par/bbb", vlan: 9 },
        ];
        assert.strictEqual(privateNetworkVlan(attachments, "bbb"), 9);
        assert.strictEqual(privateNetworkVlan(attachments, "fr-par/aaa"), 7);
        assert.throws(() => privateNetworkVlan(attachments, "ccc"), /no VLAN for private network ccc/);
        assert.throws(() => privateNetworkVlan([{ id: "aaa" }], "aaa"), /no VLAN/);
    });

    it("reads the uplink from the VLAN script's last UPLINK= line", function () {
        assert.strictEqual(uplinkFromOutput("created\nUPLINK=eno1\n"), "eno1");
        assert.strictEqual(uplinkFromOutput("UPLINK=a\nUPLINK=enp1s0f0"), "enp1s0f0");
        assert.throws(() => uplinkFromOutput("nothing"), /did not report the host's uplink/);
        assert.throws(() => uplinkFromOutput(undefined), /did not report/);
    });

    it("validates the VLAN script's inputs and fills the defaults", function () {
        assert.deepStrictEqual(privateVlanScript({ vlan: 12, address: "172.18.0.10/24" }).environment, {
            PRIVATE_VLAN: "12",
            PRIVATE_ADDRESS: "172.18.0.10/24",
            PRIVATE_VLAN_DEVICE: "scwpn0",
        });
        assert.throws(
            () => privateVlanScript({ vlan: 4095, address: "172.18.0.10/24" }),
            /^ConfigError: vlan: must be an integer from 1 to 4094/,
        );
        assert.throws(
            () => privateVlanScript({ vlan: 1, address: "172.18.0.10" }),
            /^ConfigError: address: must be an IPv4 address with a prefix length/,
        );
        assert.throws(
            () => privateVlanScript({ vlan: 1, address: "172.18.0.10/24", uplink: "a b" }),
            /^ConfigError: uplink: must be an interface name/,
        );
        const plan = validateScalewayEdgeClusterArgs(clusterArgs(new scaleway.Provider("p", {}), "pl-waw-2", { hosts: undefined }));
        assert.deepStrictEqual(
            [
                plan.zone,
                plan.region,
                plan.hosts,
                plan.offer,
                plan.os,
                plan.hypervisor,
                plan.privateNetworkCidr,
                plan.natCidr,
                plan.gatewayType,
                plan.bastion,
                plan.sshUser,
            ],
            [
                "pl-waw-2",
                "pl-waw",
                [{ key: "host-0", slot: 0, privateIp: "172.18.0.10", natLeases: [] }],
                "EM-A115X-SSD",
                "ubuntu_2204",
                "kvm",
                "172.18.0.0/20",
                "172.16.0.0/16",
                "VPC-GW-S",
                undefined,
                "ubuntu",
            ],
        );
    });
});

describe("scaleway-private-vlan.sh (the host side of the private network)", function () {
    this.timeout(60_000);
    const script = privateVlanScript({ vlan: 42, address: "172.18.0.10/24" });

    it("is strict bash and shellcheck clean", function () {
        assert.ok(script.script.startsWith("#!/usr/bin/env bash\n"));
        assert.match(toStdin(script), /^set -euo pipefail$/m, "strict mode comes with the prelude");
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "scw-vlan-")), "scaleway-private-vlan.sh");
        try {
            fs.writeFileSync(file, script.script);
            const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], { encoding: "utf8" });
            if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
                console.log("      skipped: shellcheck is not installed");
                return this.skip();
            }
            assert.strictEqual(result.status, 0, result.stdout + result.stderr);
        } finally {
            fs.rmSync(path.dirname(file), { recursive: true, force: true });
        }
    });

    describe("in network namespaces scwa / scwb", function () {
        let lab: Lab;
        let vlanSupport = false;
        before(function () {
            const reason = netnsSkipReason();
            if (reason) {
                console.log(`      skipped: ${reason}`);
                return this.skip();
            }
            lab = new Lab();
            // Two "servers" on one L2 segment, as Scaleway's switch joins them; each with a public default route.
            lab.namespace(SCWA);
            lab.namespace(SCWB);
            lab.link({ ns: SCWA, dev: "hstem0", address: "198.51.100.10/24" }, { ns: SCWB, dev: "hstem0", address: "198.51.100.11/24" });
            for (const ns of [SCWA, SCWB]) run("ip", ["-n", ns, "route", "add", "default", "via", "198.51.100.1"]);
            const probe = run("ip", ["-n", SCWA, "link", "add", "link", "hstem0", "name", "hstprobe", "type", "vlan", "id", "4000"]);
            vlanSupport = probe.status === 0;
            run("ip", ["-n", SCWA, "link", "del", "hstprobe"]);
        });
        after(function () {
            lab?.destroy();
        });

        const rejects: [string, Record<string, string>, RegExp][] = [
            ["a VLAN id out of range", { PRIVATE_VLAN: "4095" }, /PRIVATE_VLAN must be a VLAN id from 1 to 4094/],
            ["a VLAN id with a leading zero", { PRIVATE_VLAN: "042" }, /PRIVATE_VLAN must be a VLAN id/],
            [
                "an address without prefix",
                { PRIVATE_ADDRESS: "172.18.0.10" },
                /PRIVATE_ADDRESS must be an IPv4 address with a prefix length/,
            ],
            ["a missing uplink", { UPLINK: "hstnope0" }, /UPLINK interface 'hstnope0' does not exist/],
            ["a shell-looking uplink", { UPLINK: "$(reboot)" }, /UPLINK must be an interface name/],
        ];
        for (const [label, environment, message] of rejects) {
            it(`rejects ${label} and changes nothing`, function () {
                const root = lab.tempDir();
                const result = runScript(SCWA, script, { ...environment, HOST_ROOT: root });
                assert.notStrictEqual(result.status, 0);
                assert.match(result.stderr, message);
                assert.strictEqual(run("ip", ["-n", SCWA, "link", "show", "scwpn0"]).status, 1, "no VLAN interface");
                assert.ok(!fs.existsSync(path.join(root, "etc")), "no file written");
            });
        }

        it("refuses to guess the uplink without a default route", function () {
            lab.namespace(SCWC);
            const result = runScript(SCWC, script, { HOST_ROOT: lab.tempDir() });
            assert.match(result.stderr, /no IPv4 default route/);
        });

        it("joins both hosts to the VLAN, reachable from each other, and a second run changes nothing", function () {
            if (!vlanSupport) {
                console.log("      skipped: this kernel has no 802.1Q VLAN devices (8021q)");
                return this.skip();
            }
            const roots: Record<string, string> = { [SCWA]: lab.tempDir(), [SCWB]: lab.tempDir() };
            const address: Record<string, string> = { [SCWA]: "172.18.0.10/24", [SCWB]: "172.18.0.11/24" };
            const state = (ns: string) =>
                [
                    run("ip", ["-n", ns, "-d", "-o", "link", "show", "scwpn0"])
                        .stdout.replace(/\s+/g, " ")
                        .replace(/ (mtu|qlen) \d+/g, ""),
                    run("ip", ["-n", ns, "-4", "-o", "addr", "show", "dev", "scwpn0"]).stdout,
                    fs.readFileSync(path.join(roots[ns], "etc/systemd/system/opennebula-edge-private-vlan.service"), "utf8"),
                ].join("\n");
            for (const ns of [SCWA, SCWB]) {
                const out = runScript(ns, privateVlanScript({ vlan: 42, address: address[ns] }), { HOST_ROOT: roots[ns] });
                assert.strictEqual(out.status, 0, out.stderr);
                assert.strictEqual(uplinkFromOutput(out.stdout), "hstem0", "the uplink is the default route's interface");
            }
            const first = state(SCWA);
            assert.match(first, /scwpn0@hstem0/);
            assert.match(first, /vlan protocol 802\.1Q id 42 /);
            assert.match(first, /inet 172\.18\.0\.10\/24/);
            assert.match(first, /ExecStart=.* link add link hstem0 name scwpn0 type vlan id 42/);
            assert.strictEqual(
                run("ip", ["netns", "exec", SCWA, "ping", "-c1", "-W2", "172.18.0.11"]).status,
                0,
                "the other host answers on the VLAN",
            );

            const again = runScript(SCWA, privateVlanScript({ vlan: 42, address: address[SCWA] }), { HOST_ROOT: roots[SCWA] });
            assert.strictEqual(again.status, 0, again.stderr);
            assert.strictEqual(again.stdout, "UPLINK=hstem0\n", "nothing to do the second time");
            assert.strictEqual(state(SCWA), first);

            const moved = runScript(SCWA, privateVlanScript({ vlan: 43, address: "172.18.0.12/24" }), { HOST_ROOT: roots[SCWA] });
            assert.strictEqual(moved.status, 0, moved.stderr);
            const after = state(SCWA);
            assert.match(after, /id 43 /);
            assert.doesNotMatch(after, /172\.18\.0\.10/, "the old address is gone");
        });
    });
});
