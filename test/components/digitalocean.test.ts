import * as assert from "assert";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { cloudConfigText, userCloudConfig } from "../../components/clouds/base";
import type { DigitalOceanEdgeClusterArgs } from "../../components/clouds/digitalocean";
import {
    DigitalOceanEdgeCluster,
    defaultVpcIpRange,
    digitalOceanName,
    digitalOceanPortForward,
    forwardedPortRange,
    leaseIndexOf,
    planDigitalOceanCluster,
} from "../../components/clouds/digitalocean";
import type { RecordedProgram, RunOptions } from "../support/pulumi-mocks";
import { runProgram } from "../support/pulumi-mocks";
import { environmentOf, unsecret, valueOf } from "../support/stdin";
import { ONEADMIN_KEY, assertNoSecrets, privateKeyPem } from "../support/fixtures";

const PRIVATE_KEY_BODY = "ZG8tcHJpdmF0ZS1rZXktbWF0ZXJpYWw=";
const SSH_PRIVATE_KEY = privateKeyPem(PRIVATE_KEY_BODY);
const SSH_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDigitalOceanHostsKey admin@laptop";
const ONE_PASSWORD = "one-password-do-not-leak";
const VPC_ID = "5a4981aa-9653-4bd1-bef5-d6bff52042e4";

const T = {
    provider: "pulumi:providers:digitalocean",
    vpc: "digitalocean:index/vpc:Vpc",
    sshKey: "digitalocean:index/sshKey:SshKey",
    tag: "digitalocean:index/tag:Tag",
    droplet: "digitalocean:index/droplet:Droplet",
    firewall: "digitalocean:index/firewall:Firewall",
    command: "command:remote:Command",
    oneHost: "pulumi-nodejs:dynamic/opennebula-edge:Host",
    oneNetwork: "pulumi-nodejs:dynamic/opennebula-edge:VirtualNetwork",
};

/** Arguments of a cluster in `region`, with the given provider. */
function clusterArgs(
    provider: digitalocean.Provider,
    region: DigitalOceanEdgeClusterArgs["region"],
    extra: Partial<DigitalOceanEdgeClusterArgs> = {},
): DigitalOceanEdgeClusterArgs {
    return {
        provider,
        region,
        hostCount: 3,
        ssh: { publicKey: SSH_PUBLIC_KEY, privateKey: pulumi.secret(SSH_PRIVATE_KEY) },
        opennebula: {
            frontendSshPublicKey: ONEADMIN_KEY,
            connection: { endpoint: "http://fe:2633/RPC2", username: "oneadmin", password: pulumi.secret(ONE_PASSWORD) },
        },
        ...extra,
    };
}

/** Droplet `<cluster>-host-<i>` gets public IP 203.0.113.<10+i> (198.51.100.x for clusters named *nyc*) and VPC IP 10.x. */
function dropletAddresses(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
    if (args.type === T.droplet) {
        const index = Number(/-host-(\d+)$/.exec(args.name)![1]);
        const prefix = args.name.includes("nyc") ? "198.51.100" : "203.0.113";
        return { ipv4Address: `${prefix}.${10 + index}`, ipv4AddressPrivate: `10.1.0.${4 + index}` };
    }
    if (args.type === T.sshKey) return { fingerprint: `fp-${args.name}` };
    return {};
}

const RUN: RunOptions = { outputs: dropletAddresses };

/**
 * Runs a program with one cluster named `edge` in ams3 (3 hosts unless `extra` says otherwise),
 * collecting the warnings it logs.
 */
async function runCluster(extra: Partial<DigitalOceanEdgeClusterArgs> = {}, options: RunOptions = RUN) {
    let cluster: DigitalOceanEdgeCluster | undefined;
    const { result: program, warnings } = await capturingWarnings(() =>
        runProgram(() => {
            const provider = new digitalocean.Provider("do", { token: pulumi.secret("do-token") });
            cluster = new DigitalOceanEdgeCluster("edge", clusterArgs(provider, "ams3", extra));
        }, options),
    );
    return { program, cluster: cluster!, warnings };
}

function cloudResources(program: RecordedProgram) {
    return program.resources.filter((r) => r.type.startsWith("digitalocean:"));
}

/** Captures `pulumi.log.warn` messages (without an engine they go to console.warn). */
async function capturingWarnings<T>(run: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (...parts: unknown[]) => void warnings.push(parts.map(String).join(" "));
    try {
        return { result: await run(), warnings };
    } finally {
        console.warn = original;
    }
}

describe("DigitalOceanEdgeCluster (mocks)", function () {
    this.timeout(120000);

    it("creates exactly a VPC, an SSH key, a tag, one droplet per host and one firewall, with the defaults", async function () {
        const { program } = await runCluster();
        const counts = Object.fromEntries(
            [T.vpc, T.sshKey, T.tag, T.droplet, T.firewall].map((type) => [type, program.ofType(type).length]),
        );
        assert.deepStrictEqual(counts, { [T.vpc]: 1, [T.sshKey]: 1, [T.tag]: 1, [T.droplet]: 3, [T.firewall]: 1 });
        assert.strictEqual(cloudResources(program).length, 7, "no other DigitalOcean resource");

        const vpc = program.named("edge-vpc");
        assert.deepStrictEqual(
            { region: vpc.inputs.region, ipRange: vpc.inputs.ipRange, name: vpc.inputs.name },
            { region: "ams3", ipRange: defaultVpcIpRange("edge"), name: "edge-vpc" },
        );
        assert.strictEqual(program.named("edge-ssh-key").inputs.publicKey, SSH_PUBLIC_KEY);
        assert.strictEqual(program.named("edge-tag").inputs.name, "one-edge-edge");
        program.ofType(T.droplet).forEach((droplet, i) => {
            assert.strictEqual(droplet.name, `edge-host-${i}`);
            assert.deepStrictEqual(
                { ...droplet.inputs },
                {
                    name: `edge-host-${i}`,
                    region: "ams3",
                    size: "s-2vcpu-4gb",
                    image: "ubuntu-22-04-x64",
                    vpcUuid: "edge-vpc-id",
                    sshKeys: ["fp-edge-ssh-key"],
                    tags: ["one-edge-edge"],
                },
                "root login through the droplet's SSH key: no user data",
            );
            assert.ok(program.dependsOn(droplet.name, "edge-vpc") && program.dependsOn(droplet.name, "edge-ssh-key"));
        });
    });

    it("opens the cloud firewall to all traffic by default, as oneprovision did, through the cluster's tag", async function () {
        const { program } = await runCluster();
        const firewall = program.named("edge-firewall").inputs;
        assert.deepStrictEqual(firewall.tags, ["one-edge-edge"]);
        assert.strictEqual(firewall.dropletIds, undefined, "a firewall takes at most 10 droplets by id: the tag scales to 50");
        const everywhere = ["0.0.0.0/0", "::/0"];
        assert.deepStrictEqual(firewall.inboundRules, [
            { protocol: "tcp", portRange: "1-65535", sourceAddresses: everywhere },
            { protocol: "udp", portRange: "1-65535", sourceAddresses: everywhere },
            { protocol: "icmp", sourceAddresses: everywhere },
        ]);
        assert.deepStrictEqual(firewall.outboundRules, [
            { protocol: "tcp", portRange: "1-65535", destinationAddresses: everywhere },
            { protocol: "udp", portRange: "1-65535", destinationAddresses: everywhere },
            { protocol: "icmp", destinationAddresses: everywhere },
        ]);
    });

    it("derives the restricted firewall from the hosts' allow-list, plus the forwarded ports from anywhere", async function () {
        const { program } = await runCluster({
            cloudFirewall: { mode: "restricted" },
            vpcIpRange: "10.20.30.0/24",
            overlay: { listenPort: 51821 },
            opennebula: {
                frontendSshPublicKey: ONEADMIN_KEY,
                connection: { endpoint: "http://198.51.100.7:2633/RPC2", username: "oneadmin", password: pulumi.secret(ONE_PASSWORD) },
            },
        });
        const rules = program.named("edge-firewall").inputs.inboundRules as {
            protocol: string;
            portRange?: string;
            sourceAddresses: string[];
        }[];
        const describe = (r: (typeof rules)[number]) => `${r.portRange ?? "-"}/${r.protocol} from ${r.sourceAddresses.join(",")}`;
        const trusted = "10.20.30.0/24,198.51.100.7/32,192.168.0.0/24";
        assert.deepStrictEqual(
            rules.map(describe),
            [
                "22/tcp from 0.0.0.0/0,::/0",
                "51821/udp from 0.0.0.0/0,::/0",
                "-/icmp from 0.0.0.0/0,::/0",
                `16509/tcp from ${trusted}`,
                `16514/tcp from ${trusted}`,
                `49152-49215/tcp from ${trusted}`,
                `5900-65535/tcp from ${trusted}`,
                "9001-34000/tcp from 0.0.0.0/0,::/0",
            ],
            "the VPC, the front-end (the endpoint's address) and the overlay's default subnet; no BGP or VXLAN",
        );
        const hostFirewall = environmentOf(program.named("edge-one-host-0-firewall").inputs.stdin);
        assert.strictEqual(hostFirewall.FIREWALL_WIREGUARD_PORT, "51821", "the host firewall opens the overlay's port too");
        assert.strictEqual(hostFirewall.FIREWALL_TRUSTED_SOURCES, trusted.replace(/,/g, " "), "the same allow-list");
        assert.deepStrictEqual(forwardedPortRange(), { first: 9001, last: 34000 }, "lease 0 starts at 9001, lease 249 ends at 34000");
        assert.strictEqual(program.named("edge-vpc").inputs.ipRange, "10.20.30.0/24");
    });

    it("uses an existing VPC by id: no VPC created, no warning, the firewall reads the VPC's range", async function () {
        const { program, cluster, warnings } = await runCluster(
            { vpcId: VPC_ID, cloudFirewall: { mode: "restricted" } },
            {
                ...RUN,
                call: (args) =>
                    args.token === "digitalocean:index/getVpc:getVpc"
                        ? { id: args.inputs.id, ipRange: "10.118.0.0/20", region: "ams3" }
                        : args.inputs,
            },
        );
        assert.strictEqual(program.ofType(T.vpc).length, 0);
        assert.ok(program.ofType(T.droplet).every((d) => d.inputs.vpcUuid === VPC_ID));
        const rules = program.named("edge-firewall").inputs.inboundRules as { portRange?: string; sourceAddresses: string[] }[];
        assert.deepStrictEqual(rules.find((r) => r.portRange === "16509")!.sourceAddresses, ["10.118.0.0/20"]);
        assert.strictEqual(
            environmentOf(program.named("edge-one-host-0-firewall").inputs.stdin).FIREWALL_TRUSTED_SOURCES,
            "10.118.0.0/20",
            "the host firewall trusts the looked-up range too",
        );
        assert.strictEqual(await valueOf(cluster.vpcIpRange), "10.118.0.0/20");
        assert.deepStrictEqual(
            warnings.filter((w) => /VPC/.test(w)),
            [],
        );
    });

    it("warns that a VPC it creates may become the region's undeletable default VPC", async function () {
        const { warnings } = await runCluster({ hostCount: 1 });
        const warning = warnings.find((w) => /DEFAULT VPC/.test(w));
        assert.ok(warning, `a warning about the default VPC, got ${JSON.stringify(warnings)}`);
        assert.match(warning!, /ams3/);
        assert.match(warning!, /can never be deleted/);
        assert.match(warning!, /vpcId/);
    });

    it("gives every cloud child the explicit provider, and the component's children the component as parent", async function () {
        const { program } = await runCluster();
        for (const resource of cloudResources(program)) {
            assert.strictEqual(resource.provider, "do", `${resource.name} uses the explicit provider`);
            assert.strictEqual(resource.parent, "edge", `${resource.name} is a child of the component`);
        }
        assert.strictEqual(program.named("edge").type, "opennebula-edge:clouds:DigitalOceanEdgeCluster");
        assert.strictEqual(program.named("edge-one").parent, "edge");
    });

    it("configures each host after its droplet, and registers it in OpenNebula after its configuration", async function () {
        const { program } = await runCluster();
        for (const key of ["host-0", "host-1", "host-2"]) {
            const steps = ["repo", "node", "oneadmin-key", "sysctl", "firewall", "forwarding"].map((role) => `edge-one-${key}-${role}`);
            for (const step of steps) assert.ok(program.dependsOn(step, `edge-${key}`), `${step} waits for droplet edge-${key}`);
            assert.ok(
                program.dependsOn(`edge-one-${key}`, steps[steps.length - 1]),
                "the OpenNebula host waits for the host's configuration",
            );
            assert.strictEqual(
                unsecret(program.named(`edge-one-${key}-repo`).inputs.connection).host,
                program.named(`edge-one-${key}`).inputs.name,
            );
        }
        assert.ok(!program.dependsOn("edge-one-host-1-repo", "edge-host-0"), "hosts do not wait for each other's droplets");
        assert.deepStrictEqual(
            program.ofType(T.oneHost).map((h) => [h.inputs.name, h.inputs.imMad]),
            [
                ["203.0.113.10", "qemu"],
                ["203.0.113.11", "qemu"],
                ["203.0.113.12", "qemu"],
            ],
        );
        assert.deepStrictEqual(
            program.ofType(T.oneHost).map((h) => h.inputs.template.EDGE),
            [0, 1, 2].map((i) => ({
                CLOUD_ID: `edge-host-${i}-id`,
                PRIVATE_IP: `10.1.0.${4 + i}`,
                PUBLIC_IP: `203.0.113.${10 + i}`,
            })),
        );
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/opennebula-edge:"))) {
            assert.ok(r.name === "edge-one-cluster" || program.dependsOn(r.name, "edge-one-cluster"), `${r.name} belongs to the cluster`);
        }
        assert.strictEqual(program.named("edge-one-cluster").inputs.name, "edge", "the OpenNebula cluster takes the component's name");
        assert.strictEqual(environmentOf(program.named("edge-one-host-0-node").inputs.stdin).HYPERVISOR, "qemu");
        assert.ok(
            program.ofType(T.command).every((c) => c.inputs.create === "bash -s"),
            "root runs the scripts without sudo",
        );
    });

    it("keeps the SSH private key and the OpenNebula password secret, out of commands and user data", async function () {
        const { program } = await runCluster({ sshUser: "install" });
        for (const cmd of program.ofType(T.command)) {
            assert.ok(cmd.secretInputs.includes("connection"), `${cmd.name}: connection is secret`);
            assert.strictEqual(cmd.inputs.create, "sudo bash -s");
            for (const secret of [PRIVATE_KEY_BODY, ONE_PASSWORD]) {
                assert.ok(
                    !cmd.inputs.create.includes(secret) && !cmd.inputs.stdin.includes(secret),
                    `${cmd.name}: no secret in create/stdin`,
                );
                assert.ok(
                    !Object.values(environmentOf(cmd.inputs.stdin)).some((v) => v.includes(secret)),
                    `${cmd.name}: no secret in the environment`,
                );
            }
        }
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/"))) {
            assert.ok(r.secretInputs.includes("connection"), `${r.name}: the OpenNebula connection is secret`);
        }
        for (const droplet of program.ofType(T.droplet)) {
            const userData: string = droplet.inputs.userData;
            assertNoSecrets(userData, [SSH_PRIVATE_KEY, ONE_PASSWORD], `${droplet.name} user data`);
            assert.ok(userData.startsWith("#cloud-config\n"));
            assert.deepStrictEqual(JSON.parse(userData.slice("#cloud-config\n".length)).users[1], {
                name: "install",
                groups: "sudo",
                shell: "/bin/bash",
                sudo: "ALL=(ALL) NOPASSWD:ALL",
                ssh_authorized_keys: [SSH_PUBLIC_KEY],
            });
        }
        assert.ok(program.ofType(T.command).every((c) => unsecret(c.inputs.connection).user === "install"));
    });

    it("creates the port-forwarding public network, and forwards every lease on every host", async function () {
        const { program, cluster } = await runCluster();
        const network = program.named("edge-one-public");
        assert.strictEqual(network.type, T.oneNetwork);
        assert.strictEqual(network.inputs.vnMad, "bridge");
        assert.deepStrictEqual(network.inputs.addressRanges, [
            { TYPE: "IP4", IP: "192.168.23.2", SIZE: 250, GATEWAY: "192.168.23.1", PORT_START: 9000, PORT_SIZE: 100 },
        ]);
        assert.deepStrictEqual(network.inputs.template, {
            BRIDGE: "br0",
            NETROLE: "public",
            DNS: "1.1.1.1",
            NETWORK_ADDRESS: "192.168.23.0",
            NETWORK_MASK: "255.255.255.0",
            EDGE_PUBLIC_MODEL: "portforward",
        });
        for (const key of ["host-0", "host-1", "host-2"]) {
            const env = environmentOf(program.named(`edge-one-${key}-forwarding`).inputs.stdin);
            assert.deepStrictEqual(
                env,
                {
                    PUBLIC_MODEL: "portforward",
                    UPLINK: "eth0",
                    BRIDGE: "br0",
                    BOOT_UNITS: "yes",
                    GATEWAY: "192.168.23.1",
                    BASE_IP: "192.168.23.2",
                    LEASES: "250",
                    PORT_START: "9000",
                    PORT_SIZE: "100",
                },
                `${key} forwards the same leases`,
            );
        }
        assert.deepStrictEqual(
            await valueOf(cluster.vmPublicIps),
            ["203.0.113.10", "203.0.113.11", "203.0.113.12"],
            "VMs are reached on their host's address",
        );
        assert.deepStrictEqual(await valueOf(cluster.publicIpHosts), {
            "203.0.113.10": "host-0",
            "203.0.113.11": "host-1",
            "203.0.113.12": "host-2",
        });
        assert.deepStrictEqual(
            await valueOf(cluster.hosts),
            Object.fromEntries(
                [0, 1, 2].map((i) => [
                    `host-${i}`,
                    {
                        publicIp: `203.0.113.${10 + i}`,
                        privateIp: `10.1.0.${4 + i}`,
                        sshUser: "root",
                        machineId: `edge-host-${i}-id`,
                    },
                ]),
            ),
        );
        assert.deepStrictEqual(await valueOf(cluster.hostAddresses), {
            "host-0": "203.0.113.10",
            "host-1": "203.0.113.11",
            "host-2": "203.0.113.12",
        });
        assert.deepStrictEqual(cluster.publicIpLeases, [], "no address a virtual router could hold");
        assert.strictEqual(await valueOf(cluster.vpcId), "edge-vpc-id");
    });

    it("answers what `onevm port-forward` answers, on the host the VM runs on", async function () {
        const { cluster } = await runCluster();
        assert.deepStrictEqual(await valueOf(cluster.portForward("host-0", 0, 80)), { host: "203.0.113.10", port: 9080 });
        assert.deepStrictEqual(await valueOf(cluster.portForward("host-2", 0, 22)), { host: "203.0.113.12", port: 9022 });
        assert.deepStrictEqual(await valueOf(cluster.portForward("host-1", "192.168.23.4", 22)), { host: "203.0.113.11", port: 9222 });
        assert.throws(() => cluster.portForward("host-3", 0, 22), /^ConfigError: hostKey: must be one of host-0, host-1, host-2/);
        assert.throws(() => cluster.portForward("host-0", 250, 22), /lease: must be an integer from 0 to 249/);
        assert.throws(() => cluster.portForward("host-0", 0, 101), /internalPort: must be an integer from 1 to 100/);
    });

    it("applies the transform of each kind of cloud child, and passes edge transforms on to the EdgeCluster", async function () {
        const { program } = await runCluster({
            transform: {
                droplet: (dropletArgs, _opts, name) => void (dropletArgs.monitoring = name.endsWith("host-1")),
                firewall: { name: "renamed-firewall" },
                edge: { host: { template: { EDGE: { CLOUD_ID: "transformed" } } } },
            },
        });
        assert.deepStrictEqual(
            program.ofType(T.droplet).map((d) => d.inputs.monitoring),
            [false, true, false],
        );
        assert.strictEqual(program.named("edge-firewall").inputs.name, "renamed-firewall");
        assert.deepStrictEqual(
            program.ofType(T.oneHost).map((h) => h.inputs.template),
            [0, 1, 2].map(() => ({ EDGE: { CLOUD_ID: "transformed" } })),
        );
        assert.strictEqual(program.named("edge-vpc").inputs.name, "edge-vpc", "kinds without a transform are untouched");
    });

    it("names hosts by key: droplets, commands and OpenNebula hosts follow the keys, tags are added as key:value", async function () {
        const { program, cluster } = await runCluster(
            { hostCount: undefined, hosts: ["kvm-a", "kvm-b"], tags: { team: "edge", env: "" } },
            {
                outputs: (args) =>
                    args.type === T.droplet
                        ? { ipv4Address: args.name === "edge-kvm-a" ? "203.0.113.70" : "203.0.113.71", ipv4AddressPrivate: "10.1.0.9" }
                        : dropletAddresses(args),
            },
        );
        assert.deepStrictEqual(
            program.ofType(T.droplet).map((d) => [d.name, d.inputs.name, d.inputs.tags]),
            [
                ["edge-kvm-a", "edge-kvm-a", ["one-edge-edge", "team:edge", "env"]],
                ["edge-kvm-b", "edge-kvm-b", ["one-edge-edge", "team:edge", "env"]],
            ],
        );
        assert.deepStrictEqual(
            program.ofType(T.oneHost).map((h) => h.name),
            ["edge-one-kvm-a", "edge-one-kvm-b"],
        );
        assert.ok(program.resources.some((r) => r.name === "edge-one-kvm-b-forwarding"));
        assert.deepStrictEqual(
            cluster.overlayNodes().map((node) => [node.key, node.sshUser]),
            [
                ["edge-kvm-a", "root"],
                ["edge-kvm-b", "root"],
            ],
        );
        assert.deepStrictEqual(await valueOf(cluster.portForward("kvm-b", 0, 22)), { host: "203.0.113.71", port: 9022 });
    });

    it("builds two clusters in two regions with two providers and no shared name", async function () {
        const { result: program, warnings } = await capturingWarnings(() =>
            runProgram(() => {
                const ams = new digitalocean.Provider("do-ams", { token: pulumi.secret("token-a") });
                const nyc = new digitalocean.Provider("do-nyc", { token: pulumi.secret("token-b") });
                const first = new DigitalOceanEdgeCluster("edge-ams", clusterArgs(ams, "ams3", { hostCount: 2 }));
                new DigitalOceanEdgeCluster("edge-nyc", clusterArgs(nyc, "nyc3", { hostCount: 2, sshKeyId: first.sshKeyFingerprint }));
            }, RUN),
        );
        const names = program.resources.map((r) => r.name);
        assert.strictEqual(new Set(names).size, names.length, "no two resources share a name");
        assert.deepStrictEqual(
            program.ofType(T.provider).map((p) => p.name),
            ["do-ams", "do-nyc"],
        );
        for (const resource of cloudResources(program)) {
            const [region, provider] = resource.name.startsWith("edge-ams") ? ["ams3", "do-ams"] : ["nyc3", "do-nyc"];
            assert.strictEqual(resource.provider, provider, `${resource.name} uses ${provider}`);
            if ("region" in resource.inputs) assert.strictEqual(resource.inputs.region, region, `${resource.name} is in ${region}`);
        }
        const ranges = program.ofType(T.vpc).map((v) => v.inputs.ipRange);
        assert.deepStrictEqual(ranges, [defaultVpcIpRange("edge-ams"), defaultVpcIpRange("edge-nyc")]);
        assert.notStrictEqual(ranges[0], ranges[1], "the VPCs' ranges do not overlap");
        assert.deepStrictEqual(
            program.ofType(T.sshKey).map((k) => k.name),
            ["edge-ams-ssh-key"],
            "the second cluster reuses the key (DigitalOcean refuses a duplicate)",
        );
        assert.ok(program.ofType(T.droplet).every((d) => d.inputs.sshKeys[0] === "fp-edge-ams-ssh-key"));
        assert.deepStrictEqual(
            program.ofType(T.oneNetwork).map((n) => n.inputs.name),
            ["edge-ams-public", "edge-nyc-public"],
        );
        assert.deepStrictEqual(
            ["ams3", "nyc3"].map((region) => warnings.filter((w) => w.includes(`in ${region}:`)).length),
            [1, 1],
            "one VPC warning per region",
        );
        assert.deepStrictEqual(
            program.ofType(T.oneHost).map((h) => h.inputs.name),
            ["203.0.113.10", "203.0.113.11", "198.51.100.10", "198.51.100.11"],
        );
    });

    it("keeps the chain of waiting resources as long for 50 hosts as for 1", async function () {
        const chain = async (hostCount: number) => (await runCluster({ hostCount })).program.criticalPath();
        assert.strictEqual(await chain(50), await chain(1));
    });

    const bad: [string, Partial<DigitalOceanEdgeClusterArgs> | ((a: DigitalOceanEdgeClusterArgs) => void), RegExp][] = [
        [
            "an unknown region",
            { region: "mars1" as never },
            /^region: must be one of ams3, blr1, fra1, lon1, nyc1, nyc3, sfo2, sfo3, sgp1, syd1, tor1 \(got "mars1"\)/,
        ],
        ["a legacy region", { region: "nyc2" as never }, /^region: must be one of/],
        ["0 hosts", { hostCount: 0 }, /^hostCount: must be an integer from 1 to 50 \(got 0\)/],
        ["51 hosts", { hostCount: 51 }, /^hostCount: must be an integer from 1 to 50 \(got 51\)/],
        [
            "hypervisor kvm",
            { hypervisor: "kvm" as never },
            /^hypervisor: kvm needs hardware virtualization, which DigitalOcean droplets do not expose \(no nested KVM\); use qemu/,
        ],
        ["an unknown hypervisor", { hypervisor: "xen" as never }, /^hypervisor: must be one of qemu, lxc \(got "xen"\)/],
        [
            "an unknown size",
            { size: "s-64vcpu-1tb" as never },
            /^size: must be one of s-1vcpu-1gb, .*m-16vcpu-128gb \(got "s-64vcpu-1tb"\)/,
        ],
        ["an unsupported image", { image: "centos-8-x64" }, /^image: must be one of ubuntu-22-04-x64, ubuntu-24-04-x64, debian-12-x64/],
        ["a malformed CIDR", { vpcIpRange: "172.16.0.0/33" }, /^vpcIpRange: must be an IPv4 CIDR/],
        [
            "a CIDR with host bits",
            { vpcIpRange: "10.0.0.1/24" },
            /^vpcIpRange: must be a network address: 10\.0\.0\.1\/24 has host bits set/,
        ],
        ["a VPC larger than /16", { vpcIpRange: "10.0.0.0/8" }, /^vpcIpRange: must have a prefix length from \/16 to \/24/],
        ["a VPC smaller than /24", { vpcIpRange: "10.0.0.0/28" }, /^vpcIpRange: must have a prefix length from \/16 to \/24/],
        ["a public VPC range", { vpcIpRange: "8.8.8.0/24" }, /^vpcIpRange: must lie in a private range/],
        [
            "a VPC over the VMs' network",
            { vpcIpRange: "192.168.0.0/16" },
            /^vpcIpRange: 192\.168\.0\.0\/16 overlaps 192\.168\.23\.0\/24, the VMs' port-forwarding network/,
        ],
        [
            "a VPC in DigitalOcean's reserved ranges",
            { vpcIpRange: "10.244.8.0/24" },
            /^vpcIpRange: 10\.244\.8\.0\/24 overlaps 10\.244\.0\.0\/16, a range DigitalOcean reserves/,
        ],
        [
            "both vpcId and vpcIpRange",
            { vpcId: VPC_ID, vpcIpRange: "10.1.0.0/24" },
            /^vpcIpRange: applies only to a new VPC; give either vpcId/,
        ],
        ["a malformed vpcId", { vpcId: "vpc-1" }, /^vpcId: must be a VPC id/],
        [
            "an unknown cloud firewall mode",
            { cloudFirewall: { mode: "closed" as never } },
            /^cloudFirewall\.mode: must be one of open, restricted/,
        ],
        ["a bad SSH user", { sshUser: "Root!" }, /^sshUser: must be a Linux user name/],
        ["a bad DNS server", { dns: "one.one.one.one" }, /^dns: must be an IPv4 address/],
        [
            "a trusted source that is no address",
            { firewall: { trustedSources: ["10.0.0.0/8", "everyone"] } },
            /^firewall\.trustedSources\[1\]: must be an IPv4 or IPv6 address or CIDR/,
        ],
        ["an overlay port out of range", { overlay: { listenPort: 70000 } }, /^overlay\.listenPort: must be an integer from 1 to 65535/],
        ["an overlay subnet with host bits", { overlay: { subnet: "192.168.0.1/24" } }, /^overlay\.subnet: must be a network address/],
        [
            "a front-end address that is no address",
            (a) => (a.opennebula.frontendAddresses = ["fe.example"]),
            /^opennebula\.frontendAddresses\[0\]: must be an IPv4 or IPv6 address or CIDR/,
        ],
        [
            "no provider",
            (a) => (a.provider = undefined as never),
            /^provider: is required: the digitalocean provider; the default provider is never used \(got nothing\)/,
        ],
        [
            "a provider of another cloud",
            (a) => (a.provider = { region: "ams3" } as never),
            /^provider: is required: the digitalocean provider; the default provider is never used \(got an object\)/,
        ],
        ["a missing front-end key", (a) => (a.opennebula.frontendSshPublicKey = ""), /^opennebula\.frontendSshPublicKey: is required/],
        ["a missing SSH private key", (a) => (a.ssh!.privateKey = ""), /^ssh\.privateKey: is required/],
        ["a missing SSH public key", (a) => (a.ssh!.publicKey = ""), /^ssh\.publicKey: is required/],
        [
            "a malformed SSH public key",
            (a) => (a.ssh!.publicKey = "ssh-ed25519 AAAA\nroot"),
            /^ssh\.publicKey: must be one OpenSSH public key line/,
        ],
    ];
    for (const [label, change, message] of bad) {
        it(`rejects ${label}, naming the field, before registering anything`, async function () {
            let error: Error | undefined;
            const program = await runProgram(() => {
                const provider = new digitalocean.Provider("do", { token: "t" });
                const args = clusterArgs(provider, "ams3");
                if (typeof change === "function") change(args);
                else Object.assign(args, change);
                try {
                    new DigitalOceanEdgeCluster("edge", args);
                } catch (err) {
                    error = err as Error;
                }
            });
            assert.ok(error instanceof Error, "an error");
            assert.strictEqual(error!.name, "ConfigError");
            assert.match(error!.message, message);
            assertNoSecrets(error!.message, [SSH_PRIVATE_KEY], "the error message");
            assert.deepStrictEqual(
                program.resources.map((r) => r.name),
                ["do"],
                "only the test's own provider is registered",
            );
        });
    }
});

describe("DigitalOcean edge cluster helpers", function () {
    it("answers port forwards like `onevm port-forward`: lease 0 port 80 → 9080, port 22 → 9022", function () {
        assert.deepStrictEqual(digitalOceanPortForward("35.246.64.97", 0, 80), { host: "35.246.64.97", port: 9080 });
        assert.deepStrictEqual(digitalOceanPortForward("35.246.64.97", 0, 22), { host: "35.246.64.97", port: 9022 });
        assert.deepStrictEqual(digitalOceanPortForward("35.246.64.97", 1, 1), { host: "35.246.64.97", port: 9101 });
        assert.deepStrictEqual(digitalOceanPortForward("35.246.64.97", "192.168.23.251", 100), { host: "35.246.64.97", port: 34000 });
        assert.throws(() => digitalOceanPortForward("35.246.64.97", 0, 0), /^ConfigError: internalPort: must be an integer from 1 to 100/);
        assert.throws(() => digitalOceanPortForward("not-an-ip", 0, 22), /hostPublicIp must be an IPv4 address/);
    });

    it("maps lease addresses to lease indexes and rejects addresses outside the range", function () {
        assert.strictEqual(leaseIndexOf("192.168.23.2"), 0);
        assert.strictEqual(leaseIndexOf("192.168.23.251"), 249);
        assert.strictEqual(leaseIndexOf(17), 17);
        for (const lease of ["192.168.23.1", "192.168.23.252", "10.0.0.2", -1, 1.5, 250]) {
            assert.throws(() => leaseIndexOf(lease), /^ConfigError: lease: /, String(lease));
        }
    });

    it("derives distinct default VPC ranges inside 172.16.0.0/12, away from the VMs' network", function () {
        const names = Array.from({ length: 200 }, (_, i) => `edge-${i}`);
        const ranges = names.map(defaultVpcIpRange);
        for (const range of ranges) {
            const [, second] = /^172\.(\d+)\.(\d+)\.0\/24$/.exec(range) ?? [];
            assert.ok(second !== undefined && Number(second) >= 16 && Number(second) <= 31, range);
        }
        assert.strictEqual(defaultVpcIpRange("edge"), defaultVpcIpRange("edge"), "deterministic");
        assert.ok(new Set(ranges).size >= 190, `few collisions among 200 names (got ${new Set(ranges).size} distinct)`);
    });

    it("names DigitalOcean objects with lower-case letters, digits and dashes only", function () {
        assert.strictEqual(digitalOceanName("Edge_AMS 3"), "edge-ams-3");
        assert.strictEqual(digitalOceanName("---"), "edge");
        assert.ok(digitalOceanName("x".repeat(100)).length <= 40);
    });

    it("writes cloud-config only for a non-root user, with the key quoted whatever it contains", function () {
        assert.strictEqual(userCloudConfig("root", "root", SSH_PUBLIC_KEY), undefined);
        const config = cloudConfigText(userCloudConfig("install", "root", 'ssh-ed25519 AAAA "quoted: comment"')!);
        assert.deepStrictEqual(JSON.parse(config.replace(/^#cloud-config\n/, "")).users[1].ssh_authorized_keys, [
            'ssh-ed25519 AAAA "quoted: comment"',
        ]);
    });

    it("validates without registering: defaults applied", function () {
        // Validation only looks at the provider's type token, so no provider needs to be registered here.
        const provider = { __pulumiType: "pulumi:providers:digitalocean" } as unknown as digitalocean.Provider;
        const resolved = planDigitalOceanCluster("edge", clusterArgs(provider, "fra1", { hostCount: 2 }));
        assert.deepStrictEqual(resolved, {
            region: "fra1",
            hosts: ["host-0", "host-1"],
            size: "s-2vcpu-4gb",
            image: "ubuntu-22-04-x64",
            hypervisor: "qemu",
            vpcIpRange: defaultVpcIpRange("edge"),
            cloudFirewall: { mode: "open", sshSources: undefined, extraRules: [] },
            sshUser: "root",
        });
    });
});
