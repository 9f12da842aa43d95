/**
 * Stable host identity on every cloud: two runs of a program under mocks, before and after a
 * change, compared resource by resource (name, type, parent, provider, inputs). Adding a host,
 * removing a middle host, adding a public IP and removing one must touch that host's own resources
 * and the cluster's public network (its address ranges) — nothing else; every other host keeps
 * every input, its public IPs and their addresses included.
 */
import * as assert from "assert";
import * as aws from "@pulumi/aws";
import * as digitalocean from "@pulumi/digitalocean";
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { AwsEdgeCluster } from "../../components/clouds/aws";
import { DigitalOceanEdgeCluster } from "../../components/clouds/digitalocean";
import { ScalewayEdgeCluster } from "../../components/clouds/scaleway";
import { fnv1a } from "../../components/clouds/settings";
import { VultrEdgeCluster } from "../../components/clouds/vultr";
import type { RecordedProgram, RunOptions } from "../support/pulumi-mocks";
import { diffPrograms, runProgram } from "../support/pulumi-mocks";

const COMMON = {
    ssh: {
        publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostIdentityTestsKey admin@laptop",
        privateKey: pulumi.secret("-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----"),
    },
    opennebula: { frontendSshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests oneadmin@frontend" },
};

/** An address derived from a resource's name alone, so that an unchanged resource gets the same answer in both runs. Even, so no two are /31 peers. */
function addressOf(name: string, prefix: string): string {
    const hash = fnv1a(name);
    return `${prefix}.${(hash >>> 8) & 255}.${hash & 254}`;
}

/** What the clouds answer, by resource name only. */
const MOCKS: RunOptions = {
    outputs: (args) => {
        switch (args.type) {
            case "digitalocean:index/droplet:Droplet":
                return { ipv4Address: addressOf(args.name, "203.0"), ipv4AddressPrivate: addressOf(args.name, "10.1") };
            case "digitalocean:index/sshKey:SshKey":
                return { fingerprint: `fp-${args.name}` };
            case "aws:ec2/instance:Instance":
                return { publicIp: addressOf(args.name, "203.1"), primaryNetworkInterfaceId: `eni-${args.name}` };
            case "aws:ec2/eip:Eip":
                return { publicIp: addressOf(args.name, "198.51"), allocationId: `eipalloc-${args.name}` };
            case "aws:ec2/vpc:Vpc":
                return { mainRouteTableId: `rtb-${args.name}` };
            case "aws:ec2/keyPair:KeyPair":
                return { keyName: args.name };
            case "vultr:index/instance:Instance":
                return { mainIp: addressOf(args.name, "203.2"), internalIp: addressOf(args.name, "10.2") };
            case "vultr:index/reservedIp:ReservedIp":
                return { subnet: addressOf(args.name, "198.52"), subnetSize: 32 };
            case "scaleway:elasticmetal/server:Server":
                return {
                    ipv4s: [{ address: addressOf(args.name, "51.158"), version: "IPv4" }],
                    privateNetworks: (args.inputs.privateNetworks ?? []).map((pn: Record<string, unknown>) => ({ ...pn, vlan: 100 })),
                };
            case "scaleway:elasticmetal/ip:Ip":
                return { ipAddress: `${addressOf(args.name, "62.210")}/32` };
            case "command:remote:Command":
                return args.name.endsWith("-private-vlan") ? { stdout: "UPLINK=enp5s0\n" } : {};
            default:
                return {};
        }
    },
    call: (args) => {
        if (args.token === "aws:ec2/getAmi:getAmi") return { id: "ami-0a1b2c3d4e5f60789" };
        if (args.token.startsWith("scaleway:elasticmetal/getO")) return { ...args.inputs, offerId: "offer", osId: "os" };
        return args.inputs;
    },
};

type Hosts = Record<string, { publicIps?: number }>;

/** One edge cluster "edge" per cloud, with the hosts given; each program makes its own provider. */
const CLOUDS: Record<string, { publicIps: boolean; build: (hosts: Hosts) => unknown }> = {
    digitalocean: {
        publicIps: false,
        build: (hosts) =>
            new DigitalOceanEdgeCluster("edge", {
                ...COMMON,
                provider: new digitalocean.Provider("do", {}),
                region: "ams3",
                hosts: Object.keys(hosts),
            }),
    },
    aws: {
        publicIps: true,
        build: (hosts) =>
            new AwsEdgeCluster("edge", {
                ...COMMON,
                provider: new aws.Provider("aws", { region: "eu-west-2" }),
                region: "eu-west-2",
                hosts,
            }),
    },
    vultr: {
        publicIps: true,
        build: (hosts) => new VultrEdgeCluster("edge", { ...COMMON, provider: new vultr.Provider("vultr", {}), region: "ams", hosts }),
    },
    scaleway: {
        publicIps: true,
        build: (hosts) =>
            new ScalewayEdgeCluster("edge", { ...COMMON, provider: new scaleway.Provider("scw", {}), zone: "fr-par-1", hosts }),
    },
};

/** Whether a resource belongs to host `key`: the host's own children in the cloud and in OpenNebula. */
function belongsTo(name: string, key: string): boolean {
    return new RegExp(`^edge-(one-)?${key}(-|$)`).test(name);
}

/** The public network's address ranges that do not carry `hostIp` (another host's ranges); all of them without `hostIp`. */
function othersRanges(program: RecordedProgram, hostIp: string | undefined): unknown[] {
    const network = program.resources.find((r) => r.name === "edge-one-public");
    return (network?.inputs.addressRanges ?? []).filter(
        (range: { EDGE_HOST?: string }) => hostIp === undefined || range.EDGE_HOST !== hostIp,
    );
}

/** A host's public IP in a run (what its address ranges name in EDGE_HOST). */
function hostIpIn(program: RecordedProgram, key: string): string | undefined {
    return program.resources.find((r) => r.name === `edge-one-${key}`)?.inputs.name;
}

const THREE: Hosts = { "kvm-a": { publicIps: 1 }, "kvm-b": { publicIps: 1 }, "kvm-c": { publicIps: 1 } };

describe("stable host identity (mocks): a change touches only the host it is about", function () {
    this.timeout(120_000);

    for (const [cloud, { publicIps, build }] of Object.entries(CLOUDS)) {
        describe(cloud, function () {
            const run = (hosts: Hosts) => runProgram(() => build(hosts), MOCKS);
            const network = publicIps ? ["edge-one-public"] : [];

            it("adding a host adds only its resources (and its address range)", async function () {
                const before = await run(THREE);
                const after = await run({ ...THREE, "kvm-d": { publicIps: 1 } });
                const diff = diffPrograms(before, after);
                assert.ok(
                    diff.added.length >= 8,
                    `the new host's machine, configuration and OpenNebula host (got ${diff.added.join(", ")})`,
                );
                assert.deepStrictEqual(
                    diff.added.filter((name) => !belongsTo(name, "kvm-d")),
                    [],
                    "everything added is kvm-d's",
                );
                assert.deepStrictEqual(diff.removed, []);
                assert.deepStrictEqual(diff.changed, network, "nothing else changes");
                assert.deepStrictEqual(
                    othersRanges(after, hostIpIn(after, "kvm-d")),
                    othersRanges(before, undefined),
                    "the other hosts' ranges stay, in order",
                );
                assert.ok(diff.unchanged.length > 30);
            });

            it("removing a middle host removes only its resources (and its address range)", async function () {
                const before = await run(THREE);
                const { "kvm-b": _removed, ...rest } = THREE;
                const after = await run(rest);
                const diff = diffPrograms(before, after);
                assert.ok(diff.removed.length >= 8);
                assert.deepStrictEqual(
                    diff.removed.filter((name) => !belongsTo(name, "kvm-b")),
                    [],
                    "everything removed is kvm-b's",
                );
                assert.deepStrictEqual(diff.added, []);
                assert.deepStrictEqual(diff.changed, network, "kvm-c keeps every input: nothing shifts into kvm-b's place");
                assert.deepStrictEqual(othersRanges(after, undefined), othersRanges(before, hostIpIn(before, "kvm-b")));
            });

            if (!publicIps) return;

            const hostChanges: Record<string, string[]> = {
                aws: ["edge-kvm-b", "edge-one-kvm-b-forwarding", "edge-one-public"],
                vultr: ["edge-one-kvm-b-forwarding", "edge-one-public"],
                scaleway: ["edge-one-kvm-b-forwarding", "edge-one-public"],
            };

            it("adding a public IP to a host adds it there, and changes only that host's forwarding (and the ranges)", async function () {
                const before = await run(THREE);
                const after = await run({ ...THREE, "kvm-b": { publicIps: 2 } });
                const diff = diffPrograms(before, after);
                assert.ok(
                    diff.added.length >= 1 && diff.added.every((name) => name.startsWith("edge-kvm-b-ip-1")),
                    `only kvm-b's second IP (got ${diff.added.join(", ")})`,
                );
                assert.deepStrictEqual(diff.removed, []);
                assert.deepStrictEqual(diff.changed, hostChanges[cloud], "kvm-b's first IP, and the other hosts, stay as they are");
                assert.strictEqual(othersRanges(after, "none").length, othersRanges(before, "none").length + 1, "one more range");
                assert.deepStrictEqual(othersRanges(after, hostIpIn(after, "kvm-b")), othersRanges(before, hostIpIn(before, "kvm-b")));
            });

            it("removing a host's last public IP removes only that IP, and changes only that host's forwarding (and the ranges)", async function () {
                const before = await run({ ...THREE, "kvm-b": { publicIps: 2 } });
                const after = await run(THREE);
                const diff = diffPrograms(before, after);
                assert.ok(
                    diff.removed.length >= 1 && diff.removed.every((name) => name.startsWith("edge-kvm-b-ip-1")),
                    `only kvm-b's second IP (got ${diff.removed.join(", ")})`,
                );
                assert.deepStrictEqual(diff.added, []);
                assert.deepStrictEqual(diff.changed, hostChanges[cloud]);
                assert.deepStrictEqual(othersRanges(after, hostIpIn(after, "kvm-b")), othersRanges(before, hostIpIn(before, "kvm-b")));
            });
        });
    }

    it("hostCount is shorthand for host-0 …: naming the hosts and dropping host-1 removes only host-1 (AWS)", async function () {
        const before = await runProgram(
            () =>
                new AwsEdgeCluster("edge", {
                    ...COMMON,
                    provider: new aws.Provider("aws", { region: "eu-west-2" }),
                    region: "eu-west-2",
                    hostCount: 3,
                    publicIps: 1,
                }),
            MOCKS,
        );
        const after = await runProgram(
            () =>
                new AwsEdgeCluster("edge", {
                    ...COMMON,
                    provider: new aws.Provider("aws", { region: "eu-west-2" }),
                    region: "eu-west-2",
                    hosts: ["host-0", "host-2"],
                    publicIps: 1,
                }),
            MOCKS,
        );
        const diff = diffPrograms(before, after);
        assert.deepStrictEqual(
            diff.removed.filter((name) => !belongsTo(name, "host-1")),
            [],
        );
        assert.ok(diff.removed.includes("edge-host-1") && diff.removed.includes("edge-host-1-ip-0"));
        assert.deepStrictEqual(diff.added, []);
        assert.deepStrictEqual(
            diff.changed,
            ["edge-one-public"],
            "host-2 keeps its private address 10.0.0.6 and its Elastic IP's 10.0.128.20",
        );
        assert.deepStrictEqual(after.named("edge-host-2").inputs.secondaryPrivateIps, ["10.0.128.20"]);
        assert.strictEqual(after.named("edge-host-2").inputs.privateIp, "10.0.0.6");
    });
});
