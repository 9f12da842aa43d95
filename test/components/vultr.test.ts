import * as assert from "assert";
import * as vultr from "@ediri/vultr";
import * as pulumi from "@pulumi/pulumi";
import type { VultrEdgeClusterArgs } from "../../components/clouds/vultr";
import { VultrEdgeCluster, validateVultrEdgeClusterArgs, vultrHostname } from "../../components/clouds/vultr";
import { peerOf31 } from "../../components/validation";
import type { RecordedProgram, RecordedResource } from "../support/pulumi-mocks";
import { runProgram } from "../support/pulumi-mocks";
import { environmentOf, valueOf } from "../support/stdin";
import { ONEADMIN_KEY, assertNoSecrets, privateKeyPem } from "../support/fixtures";

const PRIVATE_KEY = privateKeyPem("c2VjcmV0LWtleS1tYXRlcmlhbA==");
const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIVultrTestsHostKey admin@laptop";
const PASSWORD = "one-password-for-tests";

const INSTANCE = "vultr:index/instance:Instance";
const BARE_METAL = "vultr:index/bareMetalServer:BareMetalServer";
const RESERVED_IP = "vultr:index/reservedIp:ReservedIp";
const VPC = "vultr:index/vpc:Vpc";
const SSH_KEY = "vultr:index/sSHKey:SSHKey";
const FIREWALL_GROUP = "vultr:index/firewallGroup:FirewallGroup";
const FIREWALL_RULE = "vultr:index/firewallRule:FirewallRule";
const STARTUP_SCRIPT = "vultr:index/startupScript:StartupScript";
const COMMAND = "command:remote:Command";
const ONE_HOST = "pulumi-nodejs:dynamic/opennebula-edge:Host";
const ONE_NETWORK = "pulumi-nodejs:dynamic/opennebula-edge:VirtualNetwork";
const DYNAMIC = "pulumi-nodejs:dynamic/opennebula-edge:";

/** Third octet of the fake addresses per cluster, so two clusters get different addresses. */
const CLUSTER_OCTET: Record<string, number> = { vu: 100, fra: 101 };

/** Host n of a machine or reserved IP name (`vu-host-1`, `vu-host-1-ip-0`), and the IP's index j. */
function indicesOf(name: string): { host: number; ip: number } {
    const match = /-host-(\d+)(?:-ip-(\d+))?$/.exec(name);
    return { host: Number(match?.[1] ?? 0), ip: Number(match?.[2] ?? 0) };
}

function octetOf(name: string): number {
    return CLUSTER_OCTET[name.split("-")[0]] ?? 99;
}

/** Deterministic addresses for machines and reserved IPs (what Vultr would assign). */
function cloudOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    const { host, ip } = indicesOf(args.name);
    switch (args.type) {
        case INSTANCE:
            return { mainIp: `203.0.${octetOf(args.name)}.${10 + host}`, internalIp: `10.10.0.${3 + host}` };
        case BARE_METAL:
            return { mainIp: `203.0.${octetOf(args.name)}.${10 + host}` };
        case RESERVED_IP:
            // Even addresses, so no two reserved IPs are /31 peers.
            return { subnet: `198.51.${octetOf(args.name)}.${100 + 2 * (4 * host + ip)}`, subnetSize: 32 };
        default:
            return {};
    }
}

/** Two hosts, three reserved IPs: two on host-0, one on host-1. */
const THREE_IPS: Partial<VultrEdgeClusterArgs> = { hosts: { "host-0": { publicIps: 2 }, "host-1": { publicIps: 1 } } };

function args(provider: vultr.Provider, extra: Partial<VultrEdgeClusterArgs> = {}): VultrEdgeClusterArgs {
    return {
        provider,
        region: "ams",
        hostCount: 2,
        ssh: { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY },
        opennebula: {
            frontendSshPublicKey: ONEADMIN_KEY,
            connection: { endpoint: "http://fe:2633/RPC2", username: "oneadmin", password: pulumi.secret(PASSWORD) },
        },
        ...extra,
    };
}

/** One cluster "vu" in ams with its own provider "vultr-ams". */
function cluster(extra: Partial<VultrEdgeClusterArgs> = {}): Promise<RecordedProgram> {
    return runProgram(
        () => {
            const provider = new vultr.Provider("vultr-ams", { apiKey: pulumi.secret("api-key") });
            new VultrEdgeCluster("vu", args(provider, extra));
        },
        { outputs: cloudOutputs },
    );
}

function vultrResources(program: RecordedProgram): RecordedResource[] {
    return program.resources.filter((r) => r.type.startsWith("vultr:"));
}

function countsByType(program: RecordedProgram): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of vultrResources(program)) counts[r.type] = (counts[r.type] ?? 0) + 1;
    return counts;
}

describe("VultrEdgeCluster (mocks)", function () {
    describe("virtual mode", function () {
        let program: RecordedProgram;
        before(async function () {
            program = await cluster({ ...THREE_IPS, hostCount: undefined });
        });

        it("creates an SSH key, a VPC, an open firewall group, the instances and the reserved IPs, nothing else", function () {
            assert.deepStrictEqual(countsByType(program), {
                [SSH_KEY]: 1,
                [VPC]: 1,
                [FIREWALL_GROUP]: 1,
                [FIREWALL_RULE]: 3,
                [INSTANCE]: 2,
                [RESERVED_IP]: 3,
            });
            assert.strictEqual(program.ofType(STARTUP_SCRIPT).length, 0);
            assert.strictEqual(program.named("vu-ssh-key").inputs.sshKey, PUBLIC_KEY);
            assert.deepStrictEqual(
                [
                    program.named("vu-vpc").inputs.region,
                    program.named("vu-vpc").inputs.v4Subnet,
                    program.named("vu-vpc").inputs.v4SubnetMask,
                ],
                ["ams", "10.10.0.0", 20],
            );
        });

        it("gives each instance the region, plan, Ubuntu 22.04 image, VPC, firewall group and root's SSH key, and no user data", function () {
            const instances = program.ofType(INSTANCE);
            assert.deepStrictEqual(
                instances.map((r) => r.name),
                ["vu-host-0", "vu-host-1"],
            );
            instances.forEach((instance, i) => {
                const { region, plan, osId, vpcIds, firewallGroupId, sshKeyIds, hostname, activationEmail, userData, scriptId } =
                    instance.inputs;
                assert.deepStrictEqual(
                    { region, plan, osId, vpcIds, firewallGroupId, sshKeyIds, hostname, activationEmail, userData, scriptId },
                    {
                        region: "ams",
                        plan: "vc2-2c-4gb",
                        osId: 1743,
                        vpcIds: ["vu-vpc-id"],
                        firewallGroupId: "vu-firewall-id",
                        sshKeyIds: ["vu-ssh-key-id"],
                        hostname: `vu-host-${i}`,
                        activationEmail: false,
                        userData: undefined,
                        scriptId: undefined,
                    },
                );
            });
        });

        it("opens the firewall group to all TCP, UDP and ICMP by default", function () {
            const rules = program
                .ofType(FIREWALL_RULE)
                .map((r) => [
                    r.name,
                    r.inputs.firewallGroupId,
                    r.inputs.ipType,
                    r.inputs.protocol,
                    r.inputs.port,
                    `${r.inputs.subnet}/${r.inputs.subnetSize}`,
                ]);
            assert.deepStrictEqual(rules, [
                ["vu-fw-all-tcp", "vu-firewall-id", "v4", "tcp", "1:65535", "0.0.0.0/0"],
                ["vu-fw-all-udp", "vu-firewall-id", "v4", "udp", "1:65535", "0.0.0.0/0"],
                ["vu-fw-icmp", "vu-firewall-id", "v4", "icmp", undefined, "0.0.0.0/0"],
            ]);
        });

        it("reserves v4 IPs in the region and attaches each to the host that owns it", function () {
            const ips = program
                .ofType(RESERVED_IP)
                .map((r) => [r.name, r.inputs.region, r.inputs.ipType, r.inputs.instanceId, r.inputs.label]);
            assert.deepStrictEqual(ips, [
                ["vu-host-0-ip-0", "ams", "v4", "vu-host-0-id", "vu-host-0-ip-0"],
                ["vu-host-0-ip-1", "ams", "v4", "vu-host-0-id", "vu-host-0-ip-1"],
                ["vu-host-1-ip-0", "ams", "v4", "vu-host-1-id", "vu-host-1-ip-0"],
            ]);
        });

        it("uses the explicit provider on every cloud child, all parented to the component", function () {
            const resources = vultrResources(program);
            assert.ok(resources.length > 0);
            for (const r of resources) {
                assert.strictEqual(r.provider, "vultr-ams", `${r.name} uses the given provider`);
                assert.strictEqual(r.parent, "vu", `${r.name} is a child of the component`);
            }
            assert.strictEqual(program.named("vu-one").parent, "vu");
        });

        it("registers the hosts by main IP with the VPC address, as qemu hosts, SSH'd as root", function () {
            const hosts = program.ofType(ONE_HOST);
            assert.deepStrictEqual(
                hosts.map((h) => [h.inputs.name, h.inputs.imMad, h.inputs.template.EDGE.PRIVATE_IP, h.inputs.template.EDGE.CLOUD_ID]),
                [
                    ["203.0.100.10", "qemu", "10.10.0.3", "vu-host-0-id"],
                    ["203.0.100.11", "qemu", "10.10.0.4", "vu-host-1-id"],
                ],
            );
            for (const cmd of program.ofType(COMMAND))
                assert.strictEqual(cmd.inputs.create, "bash -s", `${cmd.name} runs as root without sudo`);
            assert.match(program.named("vu-one-cluster").inputs.template.DESCRIPTION, /^Vultr virtual edge cluster/);
            assert.strictEqual(program.named("vu-one-cluster").inputs.name, "vu");
        });

        it("builds the public network from the reserved IPs: one /31 AR per address, pinned to its host", function () {
            const network = program.ofType(ONE_NETWORK);
            assert.strictEqual(network.length, 1);
            assert.strictEqual(network[0].inputs.vnMad, "bridge");
            assert.deepStrictEqual(network[0].inputs.template, { BRIDGE: "br0", NETROLE: "public", DNS: "1.1.1.1" });
            assert.deepStrictEqual(network[0].inputs.addressRanges, [
                {
                    TYPE: "IP4",
                    IP: "198.51.100.100",
                    SIZE: 1,
                    NETWORK_MASK: "255.255.255.254",
                    GATEWAY: "198.51.100.101",
                    EDGE_HOST: "203.0.100.10",
                },
                {
                    TYPE: "IP4",
                    IP: "198.51.100.102",
                    SIZE: 1,
                    NETWORK_MASK: "255.255.255.254",
                    GATEWAY: "198.51.100.103",
                    EDGE_HOST: "203.0.100.10",
                },
                {
                    TYPE: "IP4",
                    IP: "198.51.100.108",
                    SIZE: 1,
                    NETWORK_MASK: "255.255.255.254",
                    GATEWAY: "198.51.100.109",
                    EDGE_HOST: "203.0.100.11",
                },
            ]);
        });

        it("routes on each host exactly the reserved IPs attached to it, with the ARs' gateways", function () {
            const forwarding = (key: string) => environmentOf(program.named(`vu-one-${key}-forwarding`).inputs.stdin);
            assert.deepStrictEqual(
                [
                    forwarding("host-0").PUBLIC_MODEL,
                    forwarding("host-0").UPLINK,
                    forwarding("host-0").PUBLIC_IPS,
                    forwarding("host-0").GATEWAY,
                ],
                ["routed", "enp1s0", "198.51.100.100 198.51.100.102", "198.51.100.101 198.51.100.103"],
            );
            assert.deepStrictEqual(
                [forwarding("host-1").PUBLIC_MODEL, forwarding("host-1").PUBLIC_IPS, forwarding("host-1").GATEWAY],
                ["routed", "198.51.100.108", "198.51.100.109"],
            );
        });

        it("exposes the machines, the public IPs and which host carries each", async function () {
            const component = program.named("vu").resource as VultrEdgeCluster;
            assert.deepStrictEqual(await valueOf(component.publicIpHosts), {
                "198.51.100.100": "host-0",
                "198.51.100.102": "host-0",
                "198.51.100.108": "host-1",
            });
            assert.deepStrictEqual(await valueOf(component.vmPublicIps), ["198.51.100.100", "198.51.100.102", "198.51.100.108"]);
            assert.deepStrictEqual(await valueOf(component.hosts), {
                "host-0": { publicIp: "203.0.100.10", privateIp: "10.10.0.3", sshUser: "root", machineId: "vu-host-0-id" },
                "host-1": { publicIp: "203.0.100.11", privateIp: "10.10.0.4", sshUser: "root", machineId: "vu-host-1-id" },
            });
            assert.deepStrictEqual(
                component.publicIpLeases.map((lease) => [lease.host, lease.translated]),
                [
                    ["host-0", false],
                    ["host-0", false],
                    ["host-1", false],
                ],
            );
            assert.strictEqual(await valueOf(component.vpcId), "vu-vpc-id");
            assert.strictEqual(await valueOf(component.firewallGroupId), "vu-firewall-id");
            assert.deepStrictEqual(await valueOf(component.hostAddresses), { "host-0": "203.0.100.10", "host-1": "203.0.100.11" });
            assert.deepStrictEqual(Object.keys(component.machines), ["host-0", "host-1"]);
            assert.deepStrictEqual(
                Object.values(component.reservedIps).map((ips) => ips.length),
                [2, 1],
            );
        });

        it("configures a host only after its machine and the IPs attached to it, and registers after configuring", function () {
            for (const [key, machine, ips] of [
                ["host-0", "vu-host-0", ["vu-host-0-ip-0", "vu-host-0-ip-1"]],
                ["host-1", "vu-host-1", ["vu-host-1-ip-0"]],
            ] as const) {
                const first = `vu-one-${key}-repo`;
                assert.ok(program.dependsOn(first, machine), `${first} waits for ${machine}`);
                for (const ip of ips) assert.ok(program.dependsOn(first, ip), `${first} waits for ${ip}`);
                assert.ok(program.dependsOn(`vu-one-${key}`, `vu-one-${key}-forwarding`), "the OpenNebula host waits for the forwarding");
            }
            assert.ok(!program.dependsOn("vu-one-host-1-repo", "vu-host-0"), "hosts do not wait for each other");
            assert.ok(!program.dependsOn("vu-one-host-1-repo", "vu-host-0-ip-0"), "nor for each other's reserved IPs");
            assert.ok(
                program.dependsOn("vu-host-0", "vu-vpc") &&
                    program.dependsOn("vu-host-0", "vu-firewall") &&
                    program.dependsOn("vu-host-0", "vu-ssh-key"),
            );
            for (const r of program.resources.filter((r) => r.type.startsWith(DYNAMIC))) {
                assert.ok(r.name === "vu-one-cluster" || program.dependsOn(r.name, "vu-one-cluster"), `${r.name} belongs to the cluster`);
            }
        });

        it("keeps the SSH private key and the OpenNebula password secret and out of commands and cloud inputs", function () {
            const commands = program.ofType(COMMAND);
            assert.ok(commands.length >= 12);
            for (const cmd of commands) {
                assert.ok(cmd.secretInputs.includes("connection"), `${cmd.name}: connection is secret`);
                for (const text of [cmd.inputs.create, cmd.inputs.stdin]) {
                    assertNoSecrets(text, [PRIVATE_KEY, PASSWORD], `${cmd.name} create/stdin`);
                }
            }
            for (const r of vultrResources(program)) {
                assertNoSecrets(r.inputs, [PRIVATE_KEY, PASSWORD], `${r.name} inputs`);
            }
            for (const r of program.resources.filter((r) => r.type.startsWith(DYNAMIC))) {
                assert.ok(r.secretInputs.includes("connection"), `${r.name}: the OpenNebula connection is secret`);
            }
        });
    });

    it("derives the restricted firewall group from the hosts' allow-list (one rule per source), and chosen public ports", async function () {
        const program = await cluster({
            vpcCidr: "172.20.16.0/24",
            overlay: { listenPort: 51821, subnet: "10.99.0.0/24" },
            cloudFirewall: {
                mode: "restricted",
                extraRules: [{ port: 80 }, { port: 443 }, { port: 60000, toPort: 60100, protocol: "udp" }],
            },
        });
        const rules = program
            .ofType(FIREWALL_RULE)
            .map((r) => `${r.name} ${r.inputs.protocol} ${r.inputs.port ?? "-"} ${r.inputs.subnet}/${r.inputs.subnetSize}`);
        assert.deepStrictEqual(rules, [
            "vu-fw-ssh tcp 22 0.0.0.0/0",
            "vu-fw-wireguard udp 51821 0.0.0.0/0",
            "vu-fw-icmp icmp - 0.0.0.0/0",
            "vu-fw-libvirt-0 tcp 16509 172.20.16.0/24",
            "vu-fw-libvirt-1 tcp 16509 10.99.0.0/24",
            "vu-fw-libvirt-tls-0 tcp 16514 172.20.16.0/24",
            "vu-fw-libvirt-tls-1 tcp 16514 10.99.0.0/24",
            "vu-fw-migration-0 tcp 49152:49215 172.20.16.0/24",
            "vu-fw-migration-1 tcp 49152:49215 10.99.0.0/24",
            "vu-fw-vnc-0 tcp 5900:65535 172.20.16.0/24",
            "vu-fw-vnc-1 tcp 5900:65535 10.99.0.0/24",
            "vu-fw-extra-0 tcp 80 0.0.0.0/0",
            "vu-fw-extra-1 tcp 443 0.0.0.0/0",
            "vu-fw-extra-2 udp 60000:60100 0.0.0.0/0",
        ]);
        const hostFirewall = environmentOf(program.named("vu-one-host-0-firewall").inputs.stdin);
        assert.strictEqual(hostFirewall.FIREWALL_WIREGUARD_PORT, "51821", "the host firewall opens the overlay's port too");
        assert.strictEqual(hostFirewall.FIREWALL_TRUSTED_SOURCES, "172.20.16.0/24 10.99.0.0/24", "the same allow-list");
        assert.deepStrictEqual([program.named("vu-vpc").inputs.v4Subnet, program.named("vu-vpc").inputs.v4SubnetMask], ["172.20.16.0", 24]);
    });

    it("metal mode: Bare Metal servers, no VPC and no firewall group, kvm, public addresses as private ones", async function () {
        const program = await cluster({ mode: "metal", uplinkInterface: "enp1s0f0", publicIps: 1 });
        assert.deepStrictEqual(countsByType(program), { [SSH_KEY]: 1, [BARE_METAL]: 2, [RESERVED_IP]: 2 });
        for (const [i, server] of program.ofType(BARE_METAL).entries()) {
            const { region, plan, osId, sshKeyIds, hostname, vpc2Ids, userData } = server.inputs;
            assert.deepStrictEqual(
                { region, plan, osId, sshKeyIds, hostname, vpc2Ids, userData },
                {
                    region: "ams",
                    plan: "vbm-4c-32gb",
                    osId: 1743,
                    sshKeyIds: ["vu-ssh-key-id"],
                    hostname: `vu-host-${i}`,
                    vpc2Ids: undefined,
                    userData: undefined,
                },
            );
            assert.strictEqual(server.provider, "vultr-ams");
        }
        assert.deepStrictEqual(
            program.ofType(RESERVED_IP).map((r) => r.inputs.instanceId),
            ["vu-host-0-id", "vu-host-1-id"],
        );
        assert.deepStrictEqual(
            program.ofType(ONE_HOST).map((h) => [h.inputs.name, h.inputs.imMad, h.inputs.template.EDGE.PRIVATE_IP]),
            [
                ["203.0.100.10", "kvm", "203.0.100.10"],
                ["203.0.100.11", "kvm", "203.0.100.11"],
            ],
        );
        const env = environmentOf(program.named("vu-one-host-1-forwarding").inputs.stdin);
        assert.deepStrictEqual([env.PUBLIC_MODEL, env.UPLINK, env.PUBLIC_IPS], ["routed", "enp1s0f0", "198.51.100.108"]);
        assert.match(program.named("vu-one-cluster").inputs.template.DESCRIPTION, /^Vultr metal edge cluster/);
        const component = program.named("vu").resource as VultrEdgeCluster;
        assert.strictEqual(await valueOf(component.vpcId), undefined);
        assert.strictEqual(component.firewallRules.length, 0);
    });

    it("metal mode without public IPs needs no uplink, creates no reserved IP, public network or forwarding", async function () {
        const program = await cluster({ mode: "metal", publicIps: 0, hypervisor: "lxc", hostCount: 1 });
        assert.deepStrictEqual(countsByType(program), { [SSH_KEY]: 1, [BARE_METAL]: 1 });
        assert.strictEqual(program.ofType(ONE_NETWORK).length, 0);
        assert.ok(!program.resources.some((r) => r.name.endsWith("-forwarding")));
        assert.deepStrictEqual(
            program.ofType(ONE_HOST).map((h) => h.inputs.imMad),
            ["lxc"],
        );
    });

    it("two clusters in two regions use their own providers and share no resource name", async function () {
        const program = await runProgram(
            () => {
                const ams = new vultr.Provider("vultr-ams", { apiKey: pulumi.secret("key-a") });
                const fra = new vultr.Provider("vultr-fra", { apiKey: pulumi.secret("key-b") });
                new VultrEdgeCluster("vu", args(ams, { region: "ams", publicIps: 1 }));
                new VultrEdgeCluster("fra", args(fra, { region: "fra", publicIps: 1 }));
            },
            { outputs: cloudOutputs },
        );
        const names = program.resources.map((r) => r.name);
        assert.strictEqual(new Set(names).size, names.length, "no two resources share a name");
        for (const [prefix, provider, region] of [
            ["vu-", "vultr-ams", "ams"],
            ["fra-", "vultr-fra", "fra"],
        ]) {
            const own = vultrResources(program).filter((r) => r.name.startsWith(prefix));
            assert.strictEqual(own.length, 1 + 1 + 1 + 3 + 2 + 2, `${prefix}: key, VPC, firewall group, 3 rules, 2 instances, 2 IPs`);
            for (const r of own) {
                assert.strictEqual(r.provider, provider, `${r.name} uses ${provider}`);
                if ("region" in r.inputs) assert.strictEqual(r.inputs.region, region, `${r.name} is in ${region}`);
            }
        }
        const networks = program.ofType(ONE_NETWORK).map((n) => n.inputs.addressRanges.map((ar: Record<string, unknown>) => ar.IP));
        assert.deepStrictEqual(networks, [
            ["198.51.100.100", "198.51.100.108"],
            ["198.51.101.100", "198.51.101.108"],
        ]);
    });

    describe("rejects bad input before registering anything", function () {
        class OtherProvider extends pulumi.ProviderResource {
            constructor(name: string) {
                super("aws", name, {});
            }
        }
        const bad: [string, (a: VultrEdgeClusterArgs) => void, RegExp][] = [
            [
                "a missing provider",
                (a) => (a.provider = undefined as never),
                /^provider: is required: the vultr provider; the default provider is never used \(got nothing\)/,
            ],
            [
                "another package's provider",
                (a) => (a.provider = new OtherProvider("aws-provider") as never),
                /^provider: is required: the vultr provider; the default provider is never used \(got a provider of aws\)/,
            ],
            ["an unknown mode", (a) => (a.mode = "cloud" as never), /^mode: must be one of virtual, metal/],
            ["an unknown region", (a) => (a.region = "us-east-1" as never), /^region: must be one of ams, atl, .* \(got "us-east-1"\)/],
            ["0 hosts", (a) => (a.hostCount = 0), /^hostCount: must be an integer from 1 to 50 \(got 0\)/],
            ["51 hosts", (a) => (a.hostCount = 51), /^hostCount: must be an integer from 1 to 50 \(got 51\)/],
            ["11 public IPs", (a) => (a.publicIps = 11), /^publicIps: must be an integer from 0 to 10 \(got 11\)/],
            ["a negative public IP count", (a) => (a.publicIps = -1), /^publicIps: must be an integer from 0 to 10/],
            ["a CIDR that is not one", (a) => (a.vpcCidr = "10.10.0.0/33"), /^vpcCidr: must be an IPv4 CIDR/],
            ["a CIDR with host bits", (a) => (a.vpcCidr = "10.10.0.5/20"), /^vpcCidr: must be a network address/],
            ["a public CIDR", (a) => (a.vpcCidr = "8.8.0.0/16"), /^vpcCidr: must be a private \(RFC 1918\) range/],
            ["a CIDR too large", (a) => (a.vpcCidr = "10.0.0.0/8"), /^vpcCidr: must have a prefix length from \/16 to \/28/],
            ["a missing front-end key", (a) => (a.opennebula.frontendSshPublicKey = ""), /^opennebula\.frontendSshPublicKey: is required/],
            ["a missing SSH public key", (a) => (a.ssh!.publicKey = ""), /^ssh\.publicKey: is required/],
            ["a missing SSH private key", (a) => (a.ssh!.privateKey = ""), /^ssh\.privateKey: is required/],
            ["an unknown hypervisor", (a) => (a.hypervisor = "xen" as never), /^hypervisor: must be one of kvm, qemu, lxc \(got "xen"\)/],
            ["kvm on Cloud Compute", (a) => (a.hypervisor = "kvm"), /^hypervisor: must be one of qemu, lxc in mode virtual \(got "kvm"\)/],
            [
                "qemu on Bare Metal",
                (a) => ((a.mode = "metal"), (a.uplinkInterface = "eno1"), (a.hypervisor = "qemu")),
                /^hypervisor: must be one of kvm, lxc in mode metal \(got "qemu"\)/,
            ],
            ["an unknown plan", (a) => (a.plan = "large"), /^plan: must be a Vultr Cloud Compute plan id such as vc2-2c-4gb/],
            ["a metal plan in virtual mode", (a) => (a.plan = "vbm-4c-32gb"), /^plan: must be a Vultr Cloud Compute plan id/],
            [
                "a virtual plan in metal mode",
                (a) => ((a.mode = "metal"), (a.uplinkInterface = "eno1"), (a.plan = "vc2-2c-4gb")),
                /^plan: must be a Vultr Bare Metal plan id such as vbm-4c-32gb/,
            ],
            ["a fractional OS id", (a) => (a.osId = 17.43), /^osId: must be an integer from 1 to/],
            ["an OS id as text", (a) => (a.osId = "1743" as never), /^osId: must be an integer from 1 to/],
            ["a bad DNS server", (a) => (a.dns = "dns.example"), /^dns: must be an IPv4 address/],
            [
                "metal without an uplink for its public IPs",
                (a) => ((a.mode = "metal"), (a.publicIps = 1)),
                /^uplinkInterface: is required in mode metal when there are public IPs/,
            ],
            [
                "more reserved IPs in all than allowed",
                (a) => ((a.hostCount = undefined), (a.hosts = { "kvm-a": { publicIps: 6 }, "kvm-b": { publicIps: 5 } })),
                /^hosts: asks for 11 public IPs in all \(kvm-a: 6, kvm-b: 5\); at most 10/,
            ],
            ["a bad uplink name", (a) => (a.uplinkInterface = "eth0; reboot"), /^uplinkInterface: must be an interface name/],
            [
                "a VPC CIDR in metal mode",
                (a) => ((a.mode = "metal"), (a.uplinkInterface = "eno1"), (a.vpcCidr = "10.0.0.0/20")),
                /^vpcCidr: applies to mode virtual only/,
            ],
            [
                "a cloud firewall in metal mode",
                (a) => ((a.mode = "metal"), (a.uplinkInterface = "eno1"), (a.cloudFirewall = { mode: "open" })),
                /^cloudFirewall: applies to mode virtual only/,
            ],
            [
                "an unknown cloud firewall mode",
                (a) => (a.cloudFirewall = { mode: "closed" as never }),
                /^cloudFirewall\.mode: must be one of open, restricted/,
            ],
            [
                "extra rules in open mode",
                (a) => (a.cloudFirewall = { extraRules: [{ port: 80 }] }),
                /^cloudFirewall: sshSources and extraRules apply to mode restricted only/,
            ],
            [
                "an extra port out of range",
                (a) => (a.cloudFirewall = { mode: "restricted", extraRules: [{ port: 70000 }] }),
                /^cloudFirewall\.extraRules\[0\]\.port: must be an integer from 1 to 65535/,
            ],
            [
                "an extra port range backwards",
                (a) => (a.cloudFirewall = { mode: "restricted", extraRules: [{ port: 90, toPort: 80 }] }),
                /^cloudFirewall\.extraRules\[0\]\.toPort: must not be below port 90 \(got 80\)/,
            ],
        ];
        for (const [label, mutate, message] of bad) {
            it(`rejects ${label}`, async function () {
                let error: Error | undefined;
                const program = await runProgram(() => {
                    const a = args(new vultr.Provider("vultr-ams", {}));
                    mutate(a);
                    try {
                        new VultrEdgeCluster("vu", a);
                    } catch (err) {
                        error = err as Error;
                    }
                });
                assert.match(error?.message ?? "no error", message);
                assert.strictEqual(error?.name, "ConfigError");
                const registered = program.resources.filter((r) => !r.type.startsWith("pulumi:providers:"));
                assert.deepStrictEqual(
                    registered.map((r) => r.name),
                    [],
                    "nothing but the test's providers registered",
                );
            });
        }
    });
});

describe("Vultr helpers", function () {
    it("peerOf31 flips the last bit: the /31 gateway of a public lease", function () {
        assert.deepStrictEqual(["198.51.100.100", "198.51.100.101", "203.0.113.255", "10.0.0.0"].map(peerOf31), [
            "198.51.100.101",
            "198.51.100.100",
            "203.0.113.254",
            "10.0.0.1",
        ]);
    });

    it("vultrHostname makes a valid hostname of at most 63 characters from any component name and host key", function () {
        assert.strictEqual(vultrHostname("Edge_AMS.1", "host-2"), "edge-ams-1-host-2");
        assert.strictEqual(vultrHostname("___", "kvm-a"), "edge-kvm-a");
        const long = vultrHostname("x".repeat(100), "host-49");
        assert.strictEqual(long.length, 63);
        assert.match(long, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    });

    it("validation fills in the defaults of each mode", async function () {
        await runProgram(() => {
            const provider = new vultr.Provider("p", {});
            const base = args(provider);
            const hosts = [
                { key: "host-0", publicIps: 0 },
                { key: "host-1", publicIps: 0 },
            ];
            assert.deepStrictEqual(validateVultrEdgeClusterArgs(base), {
                region: "ams",
                mode: "virtual",
                hosts,
                plan: "vc2-2c-4gb",
                osId: 1743,
                hypervisor: "qemu",
                sshUser: "root",
                uplinkInterface: "enp1s0",
                vpcCidr: "10.10.0.0/20",
                cloudFirewall: { mode: "open", sshSources: undefined, extraRules: [] },
            });
            assert.deepStrictEqual(validateVultrEdgeClusterArgs({ ...base, mode: "metal" }), {
                region: "ams",
                mode: "metal",
                hosts,
                plan: "vbm-4c-32gb",
                osId: 1743,
                hypervisor: "kvm",
                sshUser: "root",
                uplinkInterface: undefined,
            });
        });
    });
});
