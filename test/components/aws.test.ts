/**
 * AwsEdgeCluster under Pulumi mocks: the exact AWS resources, the explicit provider on each of
 * them, the wiring into EdgeCluster (dependencies, forwarding, public network), secrets, two
 * regions in one program, and a table of bad inputs. The hosts' user data is also run for real
 * in network namespaces: it must free the Elastic IPs' private addresses that cloud-init put on
 * the host, or the VM behind an Elastic IP is unreachable.
 */
import * as assert from "assert";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsEdgeClusterArgs } from "../../components/clouds/aws";
import {
    AWS_REGIONS,
    AwsEdgeCluster,
    awsSecurityGroupRules,
    checkProviderRegion,
    awsUserData,
    planAwsEdgeCluster,
    releaseAddressesCommand,
} from "../../components/clouds/aws";
import { cloudFirewallPlan, defaultSlot } from "../../components/clouds/settings";
import { addToIpv4, cidrContains, ipv4Cidr, peerOf31 } from "../../components/validation";
import { publicForwardingScript, sysctlScript } from "../../components/edge/host-scripts";
import { edgeFirewall } from "../../components/edge/firewall-plan";
import { readHostScript } from "../../components/remote/host-script";
import { Lab, connect, must, mustRunScript, netnsSkipReason, nsName, run } from "../host/netns";
import type { RecordedProgram, RecordedResource } from "../support/pulumi-mocks";
import { runProgram } from "../support/pulumi-mocks";
import { environmentOf, unsecret, valueOf } from "../support/stdin";
import { ONEADMIN_KEY, assertNoSecrets, privateKeyPem } from "../support/fixtures";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyForTheAwsTests pulumi@laptop";
const PRIVATE_KEY_BODY = "c2VjcmV0LWF3cy1rZXktbWF0ZXJpYWw=";
const PRIVATE_KEY = privateKeyPem(PRIVATE_KEY_BODY);
const ONE_PASSWORD = "one-Secret-Passw0rd";
const JAMMY_AMI = "ami-0a1b2c3d4e5f60789";

const T = {
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    igw: "aws:ec2/internetGateway:InternetGateway",
    route: "aws:ec2/route:Route",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    key: "aws:ec2/keyPair:KeyPair",
    instance: "aws:ec2/instance:Instance",
    eip: "aws:ec2/eip:Eip",
    association: "aws:ec2/eipAssociation:EipAssociation",
    command: "command:remote:Command",
    oneHost: "pulumi-nodejs:dynamic/opennebula-edge:Host",
    oneNetwork: "pulumi-nodejs:dynamic/opennebula-edge:VirtualNetwork",
};

/** Deterministic addresses per cluster: host i at 203.0.113.(base + i), its Elastic IP j at 198.51.100.(base + 5i + j). */
const ADDRESS_BASE: Record<string, number> = { london: 10, california: 50, edge: 90 };

/** Named hosts count as hosts 30, 31 … of the numbering above. */
const NAMED_HOSTS = ["kvm-a", "kvm-b", "kvm-c"];

function mockOutputs(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    const match = /^([a-z]+)-(host-\d+|kvm-[a-z])(?:-ip-(\d+))?$/.exec(args.name);
    const base = match ? ADDRESS_BASE[match[1]] : 0;
    const host = match === null ? 0 : match[2].startsWith("host-") ? Number(match[2].slice(5)) : 30 + NAMED_HOSTS.indexOf(match[2]);
    switch (args.type) {
        case T.instance:
            return { publicIp: `203.0.113.${base + host}`, primaryNetworkInterfaceId: `eni-${args.name}` };
        case T.eip:
            return { publicIp: `198.51.100.${base + 5 * host + Number(match![3])}`, allocationId: `eipalloc-${args.name}` };
        case T.vpc:
            return { mainRouteTableId: `rtb-${args.name}` };
        case T.key:
            return { keyName: `${args.name}-generated` };
        default:
            return {};
    }
}

/** Provider function calls seen by the mocks (the AMI lookup). */
let calls: pulumi.runtime.MockCallArgs[] = [];

function mockCall(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    calls.push(args);
    if (args.token === "aws:ec2/getAmi:getAmi")
        return { id: JAMMY_AMI, name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20250101" };
    throw new Error(`unexpected call ${args.token}`);
}

function run_(program: () => unknown): Promise<RecordedProgram> {
    calls = [];
    return runProgram(program, { outputs: mockOutputs, call: mockCall });
}

function provider(name: string, region: string): aws.Provider {
    return new aws.Provider(name, { region });
}

function clusterArgs(
    awsProvider: aws.Provider,
    region: AwsEdgeClusterArgs["region"],
    extra: Partial<AwsEdgeClusterArgs> = {},
): AwsEdgeClusterArgs {
    return {
        provider: awsProvider,
        region,
        ssh: { publicKey: PUBLIC_KEY, privateKey: pulumi.secret(PRIVATE_KEY) },
        opennebula: {
            frontendSshPublicKey: ONEADMIN_KEY,
            connection: { endpoint: "http://fe.example:2633/RPC2", username: "oneadmin", password: pulumi.secret(ONE_PASSWORD) },
        },
        ...extra,
    };
}

function awsResources(program: RecordedProgram): RecordedResource[] {
    return program.resources.filter((r) => r.type.startsWith("aws:"));
}

/** Two hosts, three Elastic IPs: two on host-0, one on host-1. */
const TWO_HOSTS_THREE_IPS: Partial<AwsEdgeClusterArgs> = { hosts: { "host-0": { publicIps: 2 }, "host-1": { publicIps: 1 } } };

describe("AwsEdgeCluster (mocks)", function () {
    this.timeout(60_000);

    it("builds the VPC, subnet, gateway, route, security group, key pair, metal instances and Elastic IPs", async function () {
        const program = await run_(
            () => new AwsEdgeCluster("london", clusterArgs(provider("aws-london", "eu-west-2"), "eu-west-2", TWO_HOSTS_THREE_IPS)),
        );
        const count = (type: string) => program.ofType(type).length;
        assert.deepStrictEqual(
            [T.vpc, T.subnet, T.igw, T.route, T.sg, T.key, T.instance, T.eip, T.association].map(count),
            [1, 1, 1, 1, 1, 1, 2, 3, 3],
        );

        const vpc = program.named("london-vpc").inputs;
        assert.strictEqual(vpc.cidrBlock, "10.0.0.0/16");
        const subnet = program.named("london-subnet").inputs;
        assert.deepStrictEqual(
            [subnet.cidrBlock, subnet.availabilityZone, subnet.mapPublicIpOnLaunch, subnet.vpcId],
            ["10.0.0.0/16", "eu-west-2a", true, "london-vpc-id"],
        );
        assert.strictEqual(program.named("london-igw").inputs.vpcId, "london-vpc-id");
        const route = program.named("london-default-route").inputs;
        assert.deepStrictEqual(
            [route.routeTableId, route.destinationCidrBlock, route.gatewayId],
            ["rtb-london-vpc", "0.0.0.0/0", "london-igw-id"],
        );
        const sg = program.named("london-sg").inputs;
        assert.deepStrictEqual(
            sg.ingress.map((r: any) => [r.protocol, r.fromPort, r.toPort, r.cidrBlocks]),
            [["-1", 0, 0, ["0.0.0.0/0"]]],
            "open like oneprovision's allow_all",
        );
        assert.deepStrictEqual(
            sg.egress.map((r: any) => [r.protocol, r.cidrBlocks]),
            [["-1", ["0.0.0.0/0"]]],
        );
        assert.strictEqual(program.named("london-key").inputs.publicKey, PUBLIC_KEY);

        const hosts = ["london-host-0", "london-host-1"].map((n) => program.named(n).inputs);
        for (const host of hosts) {
            assert.strictEqual(host.ami, JAMMY_AMI);
            assert.strictEqual(host.instanceType, "c5.metal");
            assert.strictEqual(host.availabilityZone, "eu-west-2a");
            assert.strictEqual(host.subnetId, "london-subnet-id");
            assert.deepStrictEqual(host.vpcSecurityGroupIds, ["london-sg-id"]);
            assert.strictEqual(host.keyName, "london-key-generated");
            assert.strictEqual(host.associatePublicIpAddress, true);
            assert.deepStrictEqual(host.rootBlockDevice, {
                volumeSize: 512,
                volumeType: "gp3",
                encrypted: true,
                deleteOnTermination: true,
            });
            assert.deepStrictEqual(host.metadataOptions, { httpTokens: "required", httpPutResponseHopLimit: 1, httpEndpoint: "enabled" });
        }
        assert.deepStrictEqual(
            hosts.map((h) => h.privateIp),
            ["10.0.0.4", "10.0.0.5"],
            "oneprovision's fixed addresses: host-<n> at .0.(4 + n)",
        );
        assert.deepStrictEqual(
            hosts.map((h) => h.secondaryPrivateIps),
            [["10.0.128.0", "10.0.128.2"], ["10.0.128.10"]],
            "each host's own Elastic IPs, placed by its slot",
        );

        for (const [host, j, address] of [
            [0, 0, "10.0.128.0"],
            [0, 1, "10.0.128.2"],
            [1, 0, "10.0.128.10"],
        ] as const) {
            assert.deepStrictEqual(program.named(`london-host-${host}-ip-${j}`).inputs.domain, "vpc");
            const association = program.named(`london-host-${host}-ip-${j}-association`).inputs;
            assert.deepStrictEqual(association, {
                allocationId: `eipalloc-london-host-${host}-ip-${j}`,
                networkInterfaceId: `eni-london-host-${host}`,
                privateIpAddress: address,
            });
        }

        assert.strictEqual(calls.length, 1, "one image lookup");
        assert.deepStrictEqual(calls[0].inputs.owners, ["099720109477"]);
        assert.ok(calls[0].inputs.mostRecent);
        assert.deepStrictEqual(calls[0].inputs.filters.find((f: any) => f.name === "name").values, [
            "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*",
        ]);
        assert.deepStrictEqual(calls[0].inputs.filters.find((f: any) => f.name === "architecture").values, ["x86_64"]);
    });

    it("gives every AWS resource and the image lookup the explicit provider, and the component as parent", async function () {
        const program = await run_(
            () =>
                new AwsEdgeCluster("london", clusterArgs(provider("aws-london", "eu-west-2"), "eu-west-2", { hostCount: 2, publicIps: 1 })),
        );
        const resources = awsResources(program);
        assert.strictEqual(resources.length, 12, "6 for the network and key, 2 instances, 2 Elastic IPs and their associations");
        for (const r of resources) {
            assert.strictEqual(r.provider, "aws-london", `${r.name} uses the explicit provider`);
            assert.strictEqual(r.parent, "london", `${r.name} is a child of the component`);
            if (![T.route, T.association].includes(r.type)) {
                assert.strictEqual(
                    r.inputs.tags["opennebula-edge:region"],
                    "eu-west-2",
                    `${r.name} is tagged with the region the provider was checked for`,
                );
            }
            assert.ok(program.dependsOn(r.name, "aws-london"), `${r.name} waits for the check of the provider's region`);
        }
        assert.match(calls[0].provider ?? "", /::aws-london::/, "the image lookup uses the explicit provider");
        assert.strictEqual(program.named("london-one").parent, "london");
        assert.strictEqual(program.named("london").type, "opennebula-edge:clouds:AwsEdgeCluster");
    });

    it("carries exactly the Elastic IPs in the public network, each host forwarding the ones it owns", async function () {
        let cluster: AwsEdgeCluster | undefined;
        const program = await run_(() => {
            cluster = new AwsEdgeCluster(
                "london",
                clusterArgs(provider("aws-london", "eu-west-2"), "eu-west-2", {
                    hosts: { "host-0": { publicIps: 2 }, "host-1": {}, "host-2": {} },
                    publicIps: 1,
                    dns: "9.9.9.9",
                }),
            );
        });
        const network = program.ofType(T.oneNetwork);
        assert.strictEqual(network.length, 1);
        assert.strictEqual(network[0].inputs.vnMad, "bridge");
        assert.deepStrictEqual(network[0].inputs.template, { BRIDGE: "br0", NETROLE: "public", DNS: "9.9.9.9" });
        // host, Elastic IP, VM address: host-<n>'s IP j maps to 10.0.128.0 + 2·(5n + j).
        const leases = [
            [0, 10, 0],
            [0, 11, 2],
            [1, 15, 10],
            [2, 20, 20],
        ];
        assert.deepStrictEqual(
            network[0].inputs.addressRanges,
            leases.map(([host, eip, vm]) => ({
                TYPE: "IP4",
                IP: `10.0.128.${vm}`,
                SIZE: 1,
                NETWORK_MASK: "255.255.255.254",
                GATEWAY: `10.0.128.${vm + 1}`,
                EXTERNAL_IP: `198.51.100.${eip}`,
                EDGE_HOST: `203.0.113.${10 + host}`,
            })),
        );

        const expected: Record<string, { pairs: string; gateways: string }> = {
            "host-0": { pairs: "198.51.100.10=10.0.128.0 198.51.100.11=10.0.128.2", gateways: "10.0.128.1 10.0.128.3" },
            "host-1": { pairs: "198.51.100.15=10.0.128.10", gateways: "10.0.128.11" },
            "host-2": { pairs: "198.51.100.20=10.0.128.20", gateways: "10.0.128.21" },
        };
        for (const [key, want] of Object.entries(expected)) {
            const env = environmentOf(program.named(`london-one-${key}-forwarding`).inputs.stdin);
            assert.deepStrictEqual(
                [env.PUBLIC_MODEL, env.NAT_BY, env.UPLINK, env.BRIDGE, env.NAT_PAIRS, env.GATEWAY],
                ["nat", "cloud", "enp125s0", "br0", want.pairs, want.gateways],
                key,
            );
        }

        assert.deepStrictEqual(await valueOf(cluster!.vmPublicIps), ["198.51.100.10", "198.51.100.11", "198.51.100.15", "198.51.100.20"]);
        assert.deepStrictEqual(await valueOf(cluster!.publicIpHosts), {
            "198.51.100.10": "host-0",
            "198.51.100.11": "host-0",
            "198.51.100.15": "host-1",
            "198.51.100.20": "host-2",
        });
        assert.deepStrictEqual(
            cluster!.publicIpLeases.map((lease) => [lease.host, lease.address, lease.translated]),
            [
                ["host-0", "10.0.128.0", true],
                ["host-0", "10.0.128.2", true],
                ["host-1", "10.0.128.10", true],
                ["host-2", "10.0.128.20", true],
            ],
        );
        assert.deepStrictEqual(
            await valueOf(cluster!.hosts),
            Object.fromEntries(
                [0, 1, 2].map((i) => [
                    `host-${i}`,
                    {
                        publicIp: `203.0.113.${10 + i}`,
                        privateIp: `10.0.0.${4 + i}`,
                        sshUser: "ubuntu",
                        machineId: `london-host-${i}-id`,
                    },
                ]),
            ),
        );
        assert.strictEqual(await valueOf(cluster!.vpcId), "london-vpc-id");
        assert.deepStrictEqual(await valueOf(cluster!.hostAddresses), {
            "host-0": "203.0.113.10",
            "host-1": "203.0.113.11",
            "host-2": "203.0.113.12",
        });
    });

    it("configures each host after its instance and Elastic IP associations, runs the firewall everywhere, registers after configuration", async function () {
        const program = await run_(
            () => new AwsEdgeCluster("london", clusterArgs(provider("aws-london", "eu-west-2"), "eu-west-2", TWO_HOSTS_THREE_IPS)),
        );
        const firewallScriptText = readHostScript("firewall.sh");
        assert.match(firewallScriptText, /remove_oneprovision_rejects/, "firewall.sh removes the REJECT rule that blocks live migration");
        for (const [i, key] of ["host-0", "host-1"].entries()) {
            const first = `london-one-${key}-repo`;
            assert.ok(program.dependsOn(first, `london-${key}`), `${first} waits for its instance`);
            const firewall = program.named(`london-one-${key}-firewall`);
            assert.ok(firewall.inputs.stdin.endsWith(firewallScriptText), `${key} runs firewall.sh`);
            assert.strictEqual(environmentOf(firewall.inputs.stdin).FIREWALL_MODE, "strict");
            assert.strictEqual(unsecret(firewall.inputs.connection).host, `203.0.113.${10 + i}`);
            assert.strictEqual(unsecret(firewall.inputs.connection).user, "ubuntu");
            assert.ok(program.dependsOn(`london-one-${key}-forwarding`, `london-one-${key}-firewall`), "forwarding after the firewall");
            assert.ok(
                program.dependsOn(`london-one-${key}`, `london-one-${key}-forwarding`),
                "the OpenNebula host waits for the configuration",
            );
            assert.ok(!program.dependsOn(`london-one-${key}`, `london-one-host-${1 - i}-firewall`), "hosts do not wait for each other");
        }
        for (const ip of ["host-0-ip-0", "host-0-ip-1", "host-1-ip-0"]) {
            const host = ip.slice(0, 6);
            assert.ok(program.dependsOn(`london-one-${host}-repo`, `london-${ip}-association`), `${host} waits for its Elastic IP ${ip}`);
        }
        assert.ok(
            !program.dependsOn("london-one-host-1-repo", "london-host-0-ip-0-association"),
            "a host does not wait for another's Elastic IPs",
        );
        assert.ok(program.dependsOn("london-host-0", "london-default-route"), "instances boot with a route to the internet");
        assert.ok(program.dependsOn("london-host-0-ip-0-association", "london-igw"), "associations come after the internet gateway");
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/opennebula-edge:"))) {
            if (r.name === "london-one-cluster") continue;
            assert.ok(program.dependsOn(r.name, "london-one-cluster"), `${r.name} belongs to the cluster`);
        }
        assert.ok(program.dependsOn("london-one-public", "london-host-1-ip-0"), "the public network carries the allocated Elastic IPs");
        assert.deepStrictEqual(
            program.ofType(T.oneHost).map((h) => [h.inputs.name, h.inputs.imMad]),
            [
                ["203.0.113.10", "kvm"],
                ["203.0.113.11", "kvm"],
            ],
        );
        assert.strictEqual(program.named("london-one-cluster").inputs.name, "london");
        assert.strictEqual(program.named("london-one-system").inputs.template.REPLICA_HOST, "203.0.113.10");
    });

    it("keeps the SSH private key and the OpenNebula password secret and out of commands and user data", async function () {
        const program = await run_(
            () => new AwsEdgeCluster("london", clusterArgs(provider("aws-london", "eu-west-2"), "eu-west-2", { publicIps: 1 })),
        );
        const commands = program.ofType(T.command);
        assert.ok(commands.length >= 6);
        for (const cmd of commands) {
            assert.ok(cmd.secretInputs.includes("connection"), `${cmd.name}: connection is secret`);
            assert.strictEqual(cmd.inputs.create, "sudo bash -s");
        }
        for (const r of program.resources) {
            const { connection, ...rest } = r.inputs;
            assertNoSecrets(rest, [PRIVATE_KEY, ONE_PASSWORD], `${r.name}: outside the connection`);
            if (connection && JSON.stringify(connection).match(new RegExp(`${PRIVATE_KEY_BODY.slice(0, 12)}|${ONE_PASSWORD}`))) {
                assert.ok(r.secretInputs.includes("connection"), `${r.name}: its connection is secret`);
            }
        }
        const userData = program.named("london-host-0").inputs.userData;
        assertNoSecrets(userData, [PRIVATE_KEY, ONE_PASSWORD], "london-host-0 user data");
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"))) {
            assert.ok(r.secretInputs.includes("connection"), `${r.name}: the OpenNebula connection is secret`);
        }
    });

    it("runs virtual instances with qemu, a 100 GB disk and the ens5 uplink", async function () {
        const program = await run_(
            () =>
                new AwsEdgeCluster(
                    "edge",
                    clusterArgs(provider("aws-ohio", "us-east-2"), "us-east-2", { instanceType: "t3.large", publicIps: 1 }),
                ),
        );
        const host = program.named("edge-host-0").inputs;
        assert.deepStrictEqual(
            [host.instanceType, host.rootBlockDevice.volumeSize, host.availabilityZone],
            ["t3.large", 100, "us-east-2a"],
        );
        assert.strictEqual(environmentOf(program.named("edge-one-host-0-node").inputs.stdin).HYPERVISOR, "qemu");
        assert.strictEqual(environmentOf(program.named("edge-one-host-0-forwarding").inputs.stdin).UPLINK, "ens5");
        assert.strictEqual(program.named("edge-one-host-0").inputs.imMad, "qemu");
    });

    it("derives the restricted security group from the hosts' allow-list: the overlay's port, libvirt/migration/VNC from the VPC, the front-end and the overlay", async function () {
        const base = clusterArgs(provider("aws-oregon", "us-west-2"), "us-west-2");
        const program = await run_(
            () =>
                new AwsEdgeCluster("edge", {
                    ...base,
                    opennebula: { ...base.opennebula, frontendAddresses: ["198.51.100.7"] },
                    overlay: { listenPort: 51821, subnet: "10.99.0.0/24" },
                    vpcCidr: "172.20.0.0/16",
                    firewall: { extraPorts: [{ port: 8443 }], trustedSources: ["2001:db8::/64"] },
                    cloudFirewall: {
                        mode: "restricted",
                        sshSources: ["192.0.2.0/24"],
                        extraRules: [{ port: 443 }, { port: 60000, toPort: 60100, protocol: "udp", sources: ["198.51.100.0/24"] }],
                    },
                    publicIps: 1,
                }),
        );
        const ingress = program
            .named("edge-sg")
            .inputs.ingress.map((r: any) => `${r.protocol} ${r.fromPort}-${r.toPort} ${r.cidrBlocks.join(",")} (${r.description})`);
        const trusted = "172.20.0.0/16,198.51.100.7/32,10.99.0.0/24";
        assert.deepStrictEqual(
            ingress,
            [
                "tcp 22-22 192.0.2.0/24 (SSH (Pulumi, the front-end))",
                "udp 51821-51821 0.0.0.0/0 (WireGuard)",
                "icmp -1--1 0.0.0.0/0 (ICMP)",
                "tcp 8443-8443 0.0.0.0/0 (extra port 8443/tcp)",
                `tcp 16509-16509 ${trusted} (libvirt)`,
                `tcp 16514-16514 ${trusted} (libvirt TLS)`,
                `tcp 49152-49215 ${trusted} (live migration)`,
                `tcp 5900-65535 ${trusted} (VNC consoles)`,
                "tcp 443-443 0.0.0.0/0 (extra rule)",
                "udp 60000-60100 198.51.100.0/24 (extra rule)",
            ],
            "no BGP, no VXLAN: they travel inside WireGuard; the IPv6 source stays in the host firewall (no IPv6 here)",
        );
        const hostFirewall = environmentOf(program.named("edge-one-host-0-firewall").inputs.stdin);
        assert.strictEqual(hostFirewall.FIREWALL_WIREGUARD_PORT, "51821", "the host firewall opens the overlay's port too");
        assert.strictEqual(
            hostFirewall.FIREWALL_TRUSTED_SOURCES,
            "172.20.0.0/16 198.51.100.7/32 10.99.0.0/24 2001:db8::/64",
            "the same allow-list",
        );
        assert.strictEqual(hostFirewall.FIREWALL_EXTRA_PORTS, "8443/tcp");
        assert.deepStrictEqual(program.named("edge-host-0").inputs.privateIp, "172.20.0.4");
        assert.deepStrictEqual(program.named("edge-host-0").inputs.secondaryPrivateIps, ["172.20.128.0"]);
    });

    it("uses a given image without looking one up, and builds no public network without Elastic IPs", async function () {
        const program = await run_(
            () =>
                new AwsEdgeCluster(
                    "edge",
                    clusterArgs(provider("aws-ireland", "eu-west-1"), "eu-west-1", {
                        ami: "ami-0123456789abcdef0",
                        publicIps: 0,
                        availabilityZone: "eu-west-1c",
                        sshUser: "admin",
                    }),
                ),
        );
        assert.strictEqual(calls.length, 0, "no lookup");
        const host = program.named("edge-host-0");
        assert.strictEqual(host.inputs.ami, "ami-0123456789abcdef0");
        assert.deepStrictEqual(host.inputs.secondaryPrivateIps, []);
        assert.strictEqual(program.named("edge-subnet").inputs.availabilityZone, "eu-west-1c");
        assert.deepStrictEqual(
            [T.eip, T.association, T.oneNetwork].map((t) => program.ofType(t).length),
            [0, 0, 0],
        );
        assert.ok(!program.resources.some((r) => r.name.endsWith("-forwarding")));
        assert.strictEqual(unsecret(program.named("edge-one-host-0-repo").inputs.connection).user, "admin");
    });

    it("builds London and North California in one program with two providers and no shared name", async function () {
        let clusters: AwsEdgeCluster[] = [];
        const program = await run_(() => {
            const london = provider("aws-london", "eu-west-2");
            const california = provider("aws-california", "us-west-1");
            const oneCluster = { existingClusterId: 100 };
            clusters = [
                new AwsEdgeCluster("london", clusterArgs(london, "eu-west-2", { publicIps: 5, cluster: oneCluster })),
                new AwsEdgeCluster("california", clusterArgs(california, "us-west-1", { publicIps: 5, cluster: oneCluster })),
            ];
        });
        const names = program.resources.map((r) => r.name);
        assert.strictEqual(new Set(names).size, names.length, "no two resources share a name");
        assert.deepStrictEqual(
            program.ofType("pulumi:providers:aws").map((p) => [p.name, p.inputs.region]),
            [
                ["aws-london", "eu-west-2"],
                ["aws-california", "us-west-1"],
            ],
        );
        for (const [cluster, providerName, zone] of [
            ["london", "aws-london", "eu-west-2a"],
            ["california", "aws-california", "us-west-1a"],
        ]) {
            const own = awsResources(program).filter((r) => r.name.startsWith(`${cluster}-`));
            assert.strictEqual(own.length, 7 + 2 * 5, `${cluster}: network, key, instance, 5 EIPs and associations`);
            for (const r of own) assert.strictEqual(r.provider, providerName, `${r.name} uses ${providerName}`);
            assert.strictEqual(program.named(`${cluster}-subnet`).inputs.availabilityZone, zone);
        }
        assert.deepStrictEqual(
            calls.map((c) => /::(aws-[a-z]+)::/.exec(c.provider ?? "")?.[1]).sort(),
            ["aws-california", "aws-london"],
            "one image lookup per region",
        );
        assert.deepStrictEqual(await valueOf(clusters[0].hostAddresses), { "host-0": "203.0.113.10" });
        assert.deepStrictEqual(await valueOf(clusters[1].hostAddresses), { "host-0": "203.0.113.50" });
        assert.deepStrictEqual(
            program.ofType(T.oneHost).map((h) => h.inputs.clusterId),
            [100, 100],
            "both join one OpenNebula cluster",
        );
        assert.deepStrictEqual(
            program.ofType(T.oneNetwork).map((n) => n.inputs.addressRanges.map((ar: any) => ar.EXTERNAL_IP)),
            [[10, 11, 12, 13, 14].map((i) => `198.51.100.${i}`), [50, 51, 52, 53, 54].map((i) => `198.51.100.${i}`)],
        );
    });

    const bad: [string, (a: AwsEdgeClusterArgs) => void, RegExp][] = [
        ["an unknown region", (a) => (a.region = "eu-west-9" as never), /^region: must be one of us-east-1, .*eu-west-2/],
        ["0 hosts", (a) => (a.hostCount = 0), /^hostCount: must be an integer from 1 to 50 \(got 0\)/],
        ["51 hosts", (a) => (a.hostCount = 51), /^hostCount: must be an integer from 1 to 50 \(got 51\)/],
        ["6 Elastic IPs on one host", (a) => (a.publicIps = 6), /^publicIps: must be an integer from 0 to 5 \(got 6\)/],
        [
            "6 Elastic IPs in all",
            (a) => ((a.hostCount = 2), (a.publicIps = 3)),
            /^publicIps: asks for 6 public IPs in all \(host-0: 3, host-1: 3\); at most 5: the default Elastic IP quota is 5 per region/,
        ],
        [
            "6 Elastic IPs over named hosts",
            (a) => (a.hosts = { "kvm-a": { publicIps: 5 }, "kvm-b": { publicIps: 1 } }),
            /^hosts: asks for 6 public IPs in all \(kvm-a: 5, kvm-b: 1\); at most 5/,
        ],
        [
            "both hosts and hostCount",
            (a) => ((a.hosts = ["kvm-a"]), (a.hostCount = 2)),
            /^hostCount: give either hosts \(named hosts\) or hostCount \(host-0 …\), not both/,
        ],
        ["a host key that is no key", (a) => (a.hosts = { "KVM A": {} }), /^hosts\.KVM A: "KVM A" is not a host key/],
        ["a host listed twice", (a) => (a.hosts = ["kvm-a", "kvm-a"]), /^hosts\[1\]: lists "kvm-a" twice; host keys must be unique/],
        ["two hosts on one slot", (a) => (a.hosts = { "kvm-a": { slot: 3 }, "host-3": {} }), /^hosts\.host-3: has slot 3, as kvm-a has/],
        [
            "a slot out of range",
            (a) => (a.hosts = { "kvm-a": { slot: 3072 } }),
            /^hosts\.kvm-a\.slot: must be an integer from 0 to 3071 \(got 3072\)/,
        ],
        [
            "an unknown per-host setting",
            (a) => (a.hosts = { "kvm-a": { size: "big" } as never }),
            /^hosts\.kvm-a\.size: is not a known key/,
        ],
        ["a negative number of Elastic IPs", (a) => (a.publicIps = -1), /^publicIps: must be an integer from 0 to 5/],
        ["a VPC that is not a /16", (a) => (a.vpcCidr = "10.0.0.0/20"), /^vpcCidr: must have a prefix length from \/16 to \/16/],
        ["a VPC CIDR with host bits", (a) => (a.vpcCidr = "10.1.2.0/16"), /^vpcCidr: must be a network address/],
        ["a malformed VPC CIDR", (a) => (a.vpcCidr = "10.0.0.0"), /^vpcCidr: must be an IPv4 CIDR/],
        ["a missing front-end key", (a) => (a.opennebula.frontendSshPublicKey = ""), /^opennebula\.frontendSshPublicKey: is required/],
        ["a missing SSH public key", (a) => (a.ssh!.publicKey = ""), /^ssh\.publicKey: is required/],
        ["a missing SSH private key", (a) => (a.ssh!.privateKey = ""), /^ssh\.privateKey: is required/],
        ["an unknown hypervisor", (a) => (a.hypervisor = "xen" as never), /^hypervisor: must be one of kvm, qemu, lxc/],
        [
            "kvm on a virtual type",
            (a) => ((a.instanceType = "t3.large"), (a.hypervisor = "kvm")),
            /^hypervisor: kvm needs a metal instance type/,
        ],
        ["an unknown instance size", (a) => (a.instanceType = "c5.huge"), /^instanceType: must be an EC2 instance type FAMILY\.SIZE/],
        [
            "a Graviton type with the amd64 image",
            (a) => (a.instanceType = "c6g.metal"),
            /^instanceType: c6g\.metal is an Arm \(Graviton\) type/,
        ],
        ["a Mac type", (a) => (a.instanceType = "mac2.metal"), /^instanceType: mac2\.metal is a Mac instance/],
        ["a zone of another region", (a) => (a.availabilityZone = "us-east-1a"), /^availabilityZone: must be a zone of eu-west-2/],
        ["a region as zone", (a) => (a.availabilityZone = "eu-west-2"), /^availabilityZone: must be a zone of eu-west-2/],
        ["a malformed AMI id", (a) => (a.ami = "ubuntu-22.04"), /^ami: must be an AMI id/],
        ["a root volume too small", (a) => (a.rootVolumeSize = 4), /^rootVolumeSize: must be an integer from 8 to 16384/],
        ["a bad SSH user", (a) => (a.sshUser = "root; rm"), /^sshUser: must be a Linux user name/],
        ["the bridge as uplink", (a) => (a.uplinkInterface = "br0"), /^uplinkInterface: must not be br0, the VMs' bridge/],
        ["a bad uplink name", (a) => (a.uplinkInterface = "eth0; reboot"), /^uplinkInterface: must be an interface name/],
        [
            "an unknown security group mode",
            (a) => (a.cloudFirewall = { mode: "closed" as never }),
            /^cloudFirewall\.mode: must be one of open, restricted/,
        ],
        [
            "SSH sources with the open group",
            (a) => (a.cloudFirewall = { sshSources: ["192.0.2.0/24"] }),
            /^cloudFirewall: sshSources and extraRules apply to mode restricted only/,
        ],
        [
            "a bad SSH source",
            (a) => (a.cloudFirewall = { mode: "restricted", sshSources: ["192.0.2.1/24"] }),
            /^cloudFirewall\.sshSources\[0\]: must be a network address/,
        ],
        [
            "a bad extra port",
            (a) => (a.cloudFirewall = { mode: "restricted", extraRules: [{ port: 70000 }] }),
            /^cloudFirewall\.extraRules\[0\]\.port: must be an integer from 1 to 65535/,
        ],
        [
            "a port range backwards",
            (a) => (a.cloudFirewall = { mode: "restricted", extraRules: [{ port: 500, toPort: 400 }] }),
            /^cloudFirewall\.extraRules\[0\]\.toPort: must not be below port 500 \(got 400\)/,
        ],
        ["a bad DNS server", (a) => (a.dns = "one.one.one.one"), /^dns: must be an IPv4 address/],
        [
            "a tag key other clouds refuse",
            (a) => (a.tags = { "aws:owner": "me" }),
            /^tags\.aws:owner: must be a tag key and value of at most 63 letters, digits, '_' or '-' each/,
        ],
        [
            "no provider",
            (a) => (a.provider = undefined as never),
            /^provider: is required: the aws provider; the default provider is never used \(got nothing\)/,
        ],
    ];
    for (const [label, mutate, message] of bad) {
        it(`rejects ${label} before registering anything`, async function () {
            let error: Error | undefined;
            const program = await run_(() => {
                const a = clusterArgs(provider("aws-london", "eu-west-2"), "eu-west-2");
                mutate(a);
                try {
                    new AwsEdgeCluster("london", a);
                } catch (err) {
                    error = err as Error;
                }
            });
            assert.match(error?.message ?? "no error", message);
            assert.strictEqual(error?.name, "ConfigError");
            const registered = program.resources.filter((r) => r.name !== "aws-london").map((r) => r.name);
            assert.deepStrictEqual(registered, [], "nothing registered besides the test's own provider");
        });
    }
});

describe("AwsEdgeCluster plan and renderers", function () {
    const base = (extra: Partial<AwsEdgeClusterArgs> = {}): AwsEdgeClusterArgs => ({
        provider: { __pulumiType: "pulumi:providers:aws" } as unknown as aws.Provider,
        region: "eu-west-2",
        ssh: { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY },
        opennebula: { frontendSshPublicKey: ONEADMIN_KEY },
        ...extra,
    });

    it("places host-<n> at .0.(4 + n) and its Elastic IP j at .128.0 + 2·(5n + j), named hosts by the slot of their key", function () {
        const plan = planAwsEdgeCluster(base({ vpcCidr: "172.31.0.0/16", hostCount: 50 }));
        assert.deepStrictEqual([plan.hosts[0].privateIp, plan.hosts[49].privateIp], ["172.31.0.4", "172.31.0.53"]);
        assert.strictEqual(plan.vmRange, "172.31.128.0/17");
        const mixed = planAwsEdgeCluster(
            base({
                hosts: {
                    "host-0": { publicIps: 2 },
                    "host-7": { publicIps: 1 },
                    "kvm-a": { publicIps: 1 },
                    "kvm-b": { slot: 9, publicIps: 1 },
                },
            }),
        );
        const slotA = defaultSlot("kvm-a");
        assert.ok(slotA >= 256 && slotA < 3072, `kvm-a's slot ${slotA} is a named host's`);
        assert.deepStrictEqual(
            mixed.hosts.map((h) => [h.key, h.slot, h.privateIp, h.vmAddresses]),
            [
                ["host-0", 0, "10.0.0.4", ["10.0.128.0", "10.0.128.2"]],
                ["host-7", 7, "10.0.0.11", ["10.0.128.70"]],
                ["kvm-a", slotA, addToIpv4("10.0.0.0", 4 + slotA), [addToIpv4("10.0.128.0", 10 * slotA)]],
                ["kvm-b", 9, "10.0.0.13", ["10.0.128.90"]],
            ],
        );
        const vmAddresses = mixed.hosts.flatMap((h) => h.vmAddresses);
        const gateways = vmAddresses.map(peerOf31);
        const hostAddresses = mixed.hosts.map((h) => h.privateIp);
        assert.ok(
            gateways.every((gateway) => !vmAddresses.includes(gateway) && !hostAddresses.includes(gateway)),
            "gateways are nobody's address",
        );
        assert.ok(
            vmAddresses.every((ip) => cidrContains(ipv4Cidr("vmRange", mixed.vmRange), ip)),
            "every VM address is in the range the hosts release",
        );
        assert.ok(
            hostAddresses.every((ip) => !cidrContains(ipv4Cidr("vmRange", mixed.vmRange), ip)),
            "no host address is",
        );
    });

    it("gives a host the same addresses whatever the other hosts are", function () {
        const alone = planAwsEdgeCluster(base({ hosts: { "kvm-b": { publicIps: 2 } } })).hosts[0];
        const among = planAwsEdgeCluster(base({ hosts: { "kvm-a": { publicIps: 1 }, "kvm-b": { publicIps: 2 }, "kvm-c": {} } })).hosts[1];
        assert.deepStrictEqual(among, alone);
    });

    it("defaults to c5.metal with kvm, 512 GB, zone a and the open security group", function () {
        const plan = planAwsEdgeCluster(base());
        assert.deepStrictEqual(
            [
                plan.instanceType,
                plan.metal,
                plan.hypervisor,
                plan.rootVolumeSize,
                plan.availabilityZone,
                plan.sshUser,
                plan.uplinkInterface,
                plan.vpcCidr,
                plan.cloudFirewall.mode,
                plan.hosts.map((h) => h.vmAddresses.length),
            ],
            ["c5.metal", true, "kvm", 512, "eu-west-2a", "ubuntu", "enp125s0", "10.0.0.0/16", "open", [0]],
        );
        assert.strictEqual(planAwsEdgeCluster(base({ instanceType: "m7i.metal-24xl" })).metal, true);
        assert.strictEqual(
            planAwsEdgeCluster(base({ instanceType: "c6g.metal", ami: "ami-0123456789abcdef0" })).hypervisor,
            "kvm",
            "Arm types with an explicit image",
        );
        assert.strictEqual(planAwsEdgeCluster(base({ instanceType: "t3.large", hypervisor: "lxc" })).hypervisor, "lxc");
    });

    it("accepts a provider of the cluster's region (or without one), and rejects a provider of another region", function () {
        assert.strictEqual(checkProviderRegion("eu-west-2", "eu-west-2"), "eu-west-2");
        assert.strictEqual(checkProviderRegion(undefined, "eu-west-2"), "eu-west-2", "a region from AWS_REGION cannot be checked");
        assert.throws(
            () => checkProviderRegion("us-east-1", "eu-west-2"),
            (error: Error) =>
                error.name === "ConfigError" &&
                /^provider: is configured for region us-east-1, but region is eu-west-2/.test(error.message),
        );
    });

    it("lists the regions of the seed's scenario", function () {
        for (const region of ["eu-west-2", "us-west-1", "us-east-2"]) assert.ok((AWS_REGIONS as readonly string[]).includes(region));
    });

    it("opens everything in open mode, and nothing from outside but SSH, WireGuard and ICMP in restricted mode", function () {
        const hostFirewall = edgeFirewall({ privateRange: "10.0.0.0/16" });
        assert.deepStrictEqual(
            awsSecurityGroupRules(hostFirewall).ingress.map((r) => r.protocol),
            ["-1"],
        );
        const restricted = awsSecurityGroupRules(hostFirewall, cloudFirewallPlan({ mode: "restricted" }));
        const fromOutside = restricted.ingress.filter((r) => r.cidrBlocks.includes("0.0.0.0/0")).map((r) => `${r.protocol}/${r.fromPort}`);
        assert.deepStrictEqual(fromOutside, ["tcp/22", "udp/51820", "icmp/-1"]);
    });

    it("writes user data that disables cloud-init's secondary addresses and frees the VMs' whole range on every boot", function () {
        const text = awsUserData("10.0.128.0/17");
        assert.ok(text.startsWith("#cloud-config\n"));
        const config = JSON.parse(text.slice("#cloud-config\n".length));
        assert.deepStrictEqual(config.bootcmd, [["sh", "-c", releaseAddressesCommand("10.0.128.0/17")]]);
        assert.match(config.write_files[0].content, /Ec2:\n {4}apply_full_imds_network_config: false/);
        assert.strictEqual(config.write_files[0].path, "/etc/cloud/cloud.cfg.d/99-opennebula-edge.cfg");
        assert.strictEqual(config.users, undefined, "the image's ubuntu user needs no cloud-init user");
        assert.throws(() => awsUserData("10.0.1.16; reboot"), /^ConfigError: vmRange: must be an IPv4 CIDR/);
    });

    it("keeps the user data of every host the same whatever hosts and Elastic IPs the cluster has", async function () {
        const userDataOf = async (extra: Partial<AwsEdgeClusterArgs>) => {
            const program = await run_(
                () => new AwsEdgeCluster("edge", clusterArgs(provider("aws-ohio", "us-east-2"), "us-east-2", extra)),
            );
            return program.ofType(T.instance).map((instance) => instance.inputs.userData);
        };
        const few = await userDataOf({ hosts: ["kvm-a"] });
        const many = await userDataOf({ hosts: { "kvm-a": { publicIps: 2 }, "kvm-b": { publicIps: 3 } } });
        assert.deepStrictEqual(many, [few[0], few[0]]);
    });

    it("creates another SSH user than ubuntu with cloud-init, with the public key", async function () {
        const program = await run_(
            () => new AwsEdgeCluster("edge", clusterArgs(provider("aws-ohio", "us-east-2"), "us-east-2", { sshUser: "edge" })),
        );
        const config = JSON.parse(program.named("edge-host-0").inputs.userData.slice("#cloud-config\n".length));
        assert.deepStrictEqual(config.users, [
            "default",
            { name: "edge", groups: "sudo", shell: "/bin/bash", sudo: "ALL=(ALL) NOPASSWD:ALL", ssh_authorized_keys: [PUBLIC_KEY] },
        ]);
        assert.ok(config.bootcmd.length === 1 && config.write_files.length === 1, "and still frees the VMs' addresses");
    });
});

describe("AwsEdgeCluster user data on a host (namespaces awscli, awshost, awsvm)", function () {
    this.timeout(120_000);
    const CLIENT = nsName("awscli");
    const HOST = nsName("awshost");
    const VM = nsName("awsvm");
    const UPLINK = "hstawsup0";
    const BRIDGE = "hstawsbr0";
    let lab: Lab;

    before(function () {
        const reason = netnsSkipReason();
        if (reason !== undefined) {
            console.log(`      skipped: user data test ${reason}`);
            this.skip();
        }
    });
    beforeEach(() => (lab = new Lab()));
    afterEach(() => lab?.destroy());

    function uplinkAddresses(): string[] {
        return must("ip", ["-n", HOST, "-o", "-4", "addr", "show", "dev", UPLINK])
            .split("\n")
            .filter(Boolean)
            .map((line) => line.split(/\s+/)[3]);
    }

    it("frees the Elastic IP's secondary address cloud-init put on the host, so the VM behind it answers", async function () {
        const plan = planAwsEdgeCluster({
            provider: { __pulumiType: "pulumi:providers:aws" } as unknown as aws.Provider,
            region: "eu-west-2",
            ssh: { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY },
            opennebula: { frontendSshPublicKey: ONEADMIN_KEY },
            publicIps: 2,
            uplinkInterface: UPLINK,
        });
        const [vmAddress, otherVmAddress] = plan.hosts[0].vmAddresses;
        const eip = { privateIp: vmAddress, gateway: peerOf31(vmAddress) };
        lab.namespace(CLIENT);
        lab.namespace(HOST);
        lab.namespace(VM);
        // The client stands for the VPC router, after AWS translated the Elastic IP to the secondary address.
        lab.link(
            { ns: CLIENT, dev: "hstawscli0", address: "10.0.0.1/16" },
            { ns: HOST, dev: UPLINK, address: `${plan.hosts[0].privateIp}/16` },
        );
        // What cloud-init does at first boot with apply_full_imds_network_config: the secondary IPs on the host.
        must("ip", ["-n", HOST, "addr", "add", `${eip.privateIp}/16`, "dev", UPLINK]);
        must("ip", ["-n", HOST, "addr", "add", `${otherVmAddress}/16`, "dev", UPLINK]);
        // An address of the host outside the VMs' range, which must stay.
        must("ip", ["-n", HOST, "addr", "add", "10.0.5.5/16", "dev", UPLINK]);
        must("ip", ["-n", HOST, "route", "add", "default", "via", "10.0.0.1"]);
        mustRunScript(HOST, sysctlScript(), { HOST_ROOT: lab.tempDir() });
        mustRunScript(
            HOST,
            publicForwardingScript({
                model: "nat",
                natBy: "cloud",
                uplink: UPLINK,
                bridge: BRIDGE,
                pairs: [{ publicIp: "198.51.100.10", privateIp: eip.privateIp }],
            }),
        );
        lab.link({ ns: HOST, dev: "hstawsport0" }, { ns: VM, dev: "hstawsvm0" });
        must("ip", ["-n", HOST, "link", "set", "hstawsport0", "master", BRIDGE]);
        must("ip", ["-n", VM, "addr", "add", `${eip.privateIp}/31`, "dev", "hstawsvm0"]);
        must("ip", ["-n", VM, "route", "add", "default", "via", eip.gateway]);
        await lab.serve(VM, [22], "hstawsvm");

        assert.strictEqual(
            connect(CLIENT, eip.privateIp, 22),
            "ERR ECONNREFUSED",
            "while the host holds the address, the VM is unreachable",
        );

        const [, , command] = JSON.parse(awsUserData(plan.vmRange).slice("#cloud-config\n".length)).bootcmd[0];
        for (let boot = 0; boot < 2; boot++) {
            const result = run("ip", ["netns", "exec", HOST, "sh", "-c", command]);
            assert.strictEqual(result.status, 0, `boot ${boot}: ${result.stderr}`);
            assert.deepStrictEqual(
                uplinkAddresses(),
                ["10.0.0.4/16", "10.0.5.5/16"],
                `boot ${boot}: only the host's own addresses are left`,
            );
        }
        assert.strictEqual(connect(CLIENT, eip.privateIp, 22), `hstawsvm ${eip.privateIp}:22 from 10.0.0.1`);
    });
});
