/**
 * The main stack program under Pulumi mocks, driven by the example stack files exactly as the
 * engine would pass them (YAML parsed, structured values as JSON text, the secrets set as
 * `pulumi config set --secret` would): the resources each file builds, the explicit providers,
 * the multi-edge wiring of the seed (one OpenNebula cluster, the mesh, the reflector, the EVPN
 * network), the stack outputs, and that the secrets stay secret.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { checkStackSettings, rawSettings, readStackSettings, usesSharedCluster } from "../../programs/main/config";
import type { EdgeStack } from "../../programs/main/program";
import { buildEdgeStack, stackProgram } from "../../programs/main/program";
import type { RecordedProgram, RecordedResource } from "../support/pulumi-mocks";
import { decodeStdin, unwrapSecrets } from "../components/overlay-fixtures";
import type { MockCloud } from "./stack-support";
import { SECRETS, copyOf, repositoryRoot, runWithConfig, stackFileConfig, valueOf } from "./stack-support";

const T = {
    awsProvider: "pulumi:providers:aws",
    instance: "aws:ec2/instance:Instance",
    eip: "aws:ec2/eip:Eip",
    droplet: "digitalocean:index/droplet:Droplet",
    doKey: "digitalocean:index/sshKey:SshKey",
    bareMetal: "vultr:index/bareMetalServer:BareMetalServer",
    reservedIp: "vultr:index/reservedIp:ReservedIp",
    server: "scaleway:elasticmetal/server:Server",
    flexibleIp: "scaleway:elasticmetal/ip:Ip",
    scwKey: "scaleway:iam/sshKey:SshKey",
    command: "command:remote:Command",
    cluster: "pulumi-nodejs:dynamic/opennebula-edge:Cluster",
    host: "pulumi-nodejs:dynamic/opennebula-edge:Host",
    datastore: "pulumi-nodejs:dynamic/opennebula-edge:Datastore",
    network: "pulumi-nodejs:dynamic/opennebula-edge:VirtualNetwork",
    membership: "pulumi-nodejs:dynamic/opennebula-edge:ClusterMembership",
    mesh: "opennebula-edge:overlay:WireGuardMesh",
    fabric: "opennebula-edge:overlay:EvpnFabric",
};

/** Runs the program on an example stack file and keeps what it built. */
async function runStackFile(stack: string): Promise<{ program: RecordedProgram; cloud: MockCloud; built: EdgeStack }> {
    let built: EdgeStack | undefined;
    const { program, cloud } = await runWithConfig(stackFileConfig(stack), () => {
        built = buildEdgeStack(readStackSettings());
    });
    return { program, cloud, built: built! };
}

function count(program: RecordedProgram, type: string): number {
    return program.ofType(type).length;
}

/** The environment of a recorded host command, decoded from its standard input. */
function environmentOf(resource: RecordedResource): Record<string, string> {
    return decodeStdin(resource.inputs.stdin).environment;
}

/** The [Peer] sections of a WireGuard configuration: endpoint by the peer's AllowedIPs. */
function peerEndpoints(config: string): Record<string, string> {
    const peers: Record<string, string> = {};
    for (const section of config.split("[Peer]").slice(1)) {
        const allowed = /AllowedIPs = (\S+)/.exec(section)?.[1];
        const endpoint = /Endpoint = (\S+)/.exec(section)?.[1];
        if (allowed && endpoint) peers[allowed] = endpoint;
    }
    return peers;
}

/** Fails if a secret appears in any input that is not marked secret. */
function assertSecretsKeptSecret(program: RecordedProgram): void {
    const secrets = [SECRETS.onePassword, SECRETS.sshPrivateKey.trim().split("\n")[1]];
    for (const resource of program.resources) {
        for (const [key, value] of Object.entries(resource.inputs)) {
            if (resource.secretInputs.includes(key)) continue;
            const text = JSON.stringify(unwrapSecrets(value));
            for (const secret of secrets) assert.ok(!text.includes(secret), `${resource.name}.${key} holds a secret in plain text`);
        }
    }
    for (const resource of program.resources.filter(
        (r) => r.type === T.command || (r.type.startsWith("pulumi-nodejs:dynamic/") && r.inputs.connection !== undefined),
    )) {
        assert.ok(resource.secretInputs.includes("connection"), `${resource.name}: connection is secret`);
    }
}

describe("main stack program: example stack files (mocks)", function () {
    this.timeout(120_000);

    it("Pulumi.yaml runs the compiled program: a nodejs project whose main exports the program function", function () {
        const project = parse(fs.readFileSync(path.join(repositoryRoot(), "Pulumi.yaml"), "utf8"));
        assert.strictEqual(project.name, "opennebula-edge");
        assert.deepStrictEqual(project.runtime, { name: "nodejs", options: { typescript: false } });
        assert.strictEqual(project.main, "dist/programs/main/");
        const entry = path.join(repositoryRoot(), project.main, "index.js");
        assert.ok(fs.existsSync(entry), `${entry} exists after npm run build`);
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded by path, as Pulumi loads `main`
        const exported = require(entry);
        assert.strictEqual(typeof exported, "function", "Pulumi calls an exported function and exports what it returns");
        assert.strictEqual(exported.name, "stackProgram");
    });

    it("has one example stack file per cloud and the multi-edge one, none holding a secret in plain text", function () {
        const files = fs
            .readdirSync(repositoryRoot())
            .filter((file) => /^Pulumi\..+\.yaml$/.test(file))
            .sort();
        for (const example of ["aws", "digitalocean", "multi-edge", "scaleway", "vultr"])
            assert.ok(files.includes(`Pulumi.${example}.yaml`), example);
        for (const file of files) {
            const config = stackFileConfig(file.slice("Pulumi.".length, -".yaml".length));
            for (const key of ["opennebula-edge:onePassword", "opennebula-edge:sshPrivateKey", "opennebula-edge:bastionPrivateKey"]) {
                // Absent, or encrypted by `pulumi config set --secret` ({ secure: … }).
                assert.ok(
                    !(key in config) || (typeof config[key] === "object" && "secure" in (config[key] as object)),
                    `${file}: ${key} in plain text`,
                );
            }
            assert.doesNotMatch(JSON.stringify(config), /PRIVATE KEY/, file);
        }
    });

    describe("Pulumi.multi-edge.yaml (the seed's practical scenario)", function () {
        let program: RecordedProgram;
        let cloud: MockCloud;
        let built: EdgeStack;
        before(async function () {
            ({ program, cloud, built } = await runStackFile("multi-edge"));
        });

        it("creates two AWS providers, one per region, and builds each edge cluster only through its own", function () {
            const providers = program.ofType(T.awsProvider);
            assert.deepStrictEqual(
                providers.map((p) => [p.name, p.inputs.region]),
                [
                    ["aws-eu-west-2", "eu-west-2"],
                    ["aws-us-west-1", "us-west-1"],
                ],
            );
            const awsResources = program.resources.filter((r) => r.type.startsWith("aws:"));
            assert.ok(awsResources.length >= 2 * 8, "both clusters' AWS resources were built");
            for (const resource of awsResources) {
                const expected = resource.name.startsWith("london-") ? "aws-eu-west-2" : "aws-us-west-1";
                assert.strictEqual(resource.provider, expected, `${resource.name} uses ${expected}`);
            }
            assert.deepStrictEqual(
                program.ofType(T.instance).map((i) => [i.name, i.inputs.instanceType, i.inputs.availabilityZone]),
                [
                    ["london-host-0", "c5.metal", "eu-west-2a"],
                    ["ncalifornia-host-0", "c5.metal", "us-west-1b"],
                ],
            );
            assert.strictEqual(count(program, T.eip), 6, "5 Elastic IPs in London, 1 in North California");
        });

        it("creates ONE OpenNebula cluster, and puts every host, public network, datastore and the EVPN network in it", function () {
            assert.deepStrictEqual(
                program.ofType(T.cluster).map((c) => [c.name, c.inputs.name]),
                [["shared-cluster", "multi-edge"]],
            );
            const sharedId = cloud.oneIds.get("shared-cluster");
            assert.strictEqual(typeof sharedId, "number");
            const hosts = program.ofType(T.host);
            assert.deepStrictEqual(
                hosts.map((h) => [h.name, h.inputs.name, h.inputs.clusterId, h.inputs.imMad]),
                [
                    ["london-one-host-0", "18.134.246.200", sharedId, "kvm"],
                    ["ncalifornia-one-host-0", "18.144.25.41", sharedId, "kvm"],
                ],
            );
            const datastores = program.ofType(T.datastore);
            assert.deepStrictEqual(datastores.map((d) => d.name).sort(), [
                "london-one-image",
                "london-one-system",
                "ncalifornia-one-image",
                "ncalifornia-one-system",
            ]);
            for (const datastore of datastores) assert.deepStrictEqual(datastore.inputs.clusterIds, [sharedId], datastore.name);
            for (const datastore of datastores) assert.strictEqual(datastore.inputs.tmMad, "ssh", datastore.name);
            const networks = program.ofType(T.network);
            assert.deepStrictEqual(networks.map((n) => n.name).sort(), [
                "london-one-public",
                "ncalifornia-one-public",
                "private-vnet-frontend",
            ]);
            for (const network of networks) assert.deepStrictEqual(network.inputs.clusterIds, [sharedId], network.name);
            assert.deepStrictEqual(
                program.ofType(T.membership).map((m) => [m.inputs.clusterId, m.inputs.kind, m.inputs.memberId]),
                [
                    [sharedId, "datastore", 1],
                    [sharedId, "datastore", 2],
                ],
            );
            assert.ok(
                program.dependsOn("london-one-host-0", "shared-cluster") && program.dependsOn("ncalifornia-one-host-0", "shared-cluster"),
            );
        });

        it("joins the ingress and the two KVM hosts in a WireGuard mesh of three nodes, as the seed's wg0 configurations", function () {
            assert.strictEqual(count(program, T.mesh), 1);
            assert.deepStrictEqual(built.mesh!.addresses, {
                ingress: "192.168.0.1",
                "london-host-0": "192.168.0.2",
                "ncalifornia-host-0": "192.168.0.3",
            });
            const configs = program
                .ofType(T.command)
                .filter((c) => c.name.startsWith("overlay-config-"))
                .map((c) => c.name)
                .sort();
            assert.deepStrictEqual(configs, [
                "overlay-config-ingress",
                "overlay-config-london-host-0",
                "overlay-config-ncalifornia-host-0",
            ]);
            const ingress = environmentOf(program.named("overlay-config-ingress"));
            assert.strictEqual(ingress.WG_ADDRESS, "192.168.0.1/24");
            assert.strictEqual(ingress.WG_MTU, "1420");
            assert.deepStrictEqual(peerEndpoints(ingress.WG_CONFIG), {
                "192.168.0.2/32": "18.134.246.200:51820",
                "192.168.0.3/32": "18.144.25.41:51820",
            });
            const london = environmentOf(program.named("overlay-config-london-host-0"));
            assert.deepStrictEqual(peerEndpoints(london.WG_CONFIG), {
                "192.168.0.1/32": "13.58.199.98:51820",
                "192.168.0.3/32": "18.144.25.41:51820",
            });
            assert.strictEqual(unwrapSecrets(program.named("overlay-key-ingress").inputs.connection).host, "13.58.199.98");
            assert.strictEqual(unwrapSecrets(program.named("overlay-key-london-host-0").inputs.connection).user, "ubuntu");
        });

        it("brings WireGuard up on a KVM host only after the host's configuration (firewall included)", function () {
            assert.ok(program.dependsOn("overlay-key-london-host-0", "london-one-host-0-firewall"));
            assert.ok(program.dependsOn("overlay-key-ncalifornia-host-0", "ncalifornia-one-host-0-firewall"));
            assert.ok(
                !program.dependsOn("overlay-key-london-host-0", "ncalifornia-one-host-0-firewall"),
                "hosts do not wait for each other",
            );
        });

        it("makes the ingress the BGP route reflector and the KVM hosts its clients", function () {
            assert.strictEqual(count(program, T.fabric), 1);
            const fabric = built.fabric!;
            assert.strictEqual(fabric.asn, 65000);
            assert.strictEqual(fabric.reflectorAddress, "192.168.0.1");
            assert.deepStrictEqual(
                Object.entries(fabric.nodes).map(([key, node]) => [key, node.role]),
                [
                    ["ingress", "reflector"],
                    ["london-host-0", "client"],
                    ["ncalifornia-host-0", "client"],
                ],
            );
            const reflector = environmentOf(program.named("fabric-config-ingress")).FRR_BGPD_CONF;
            assert.match(reflector, /^ neighbor 192\.168\.0\.2 peer-group fabric$/m);
            assert.match(reflector, /^ neighbor 192\.168\.0\.3 peer-group fabric$/m);
            assert.match(reflector, /^  neighbor fabric route-reflector-client$/m);
            const client = environmentOf(program.named("fabric-config-london-host-0")).FRR_BGPD_CONF;
            assert.match(client, /^ neighbor 192\.168\.0\.1 /m);
            assert.doesNotMatch(client, /route-reflector-client/);
            assert.match(client, /advertise-all-vni/);
            assert.ok(program.dependsOn("fabric-config-london-host-0", "overlay-config-london-host-0"), "FRR waits for the tunnel");
        });

        it("defines the EVPN network as the seed's inventory does: vxlan/evpn on wg0, 20 leases from 172.17.2.1, MTU 1370", function () {
            const network = program.named("private-vnet-frontend").inputs;
            assert.strictEqual(network.name, "private_evpn-vxlan");
            assert.strictEqual(network.vnMad, "vxlan");
            assert.deepStrictEqual(network.addressRanges, [{ TYPE: "IP4", IP: "172.17.2.1", SIZE: "20" }]);
            const template = network.template;
            assert.strictEqual(template.VXLAN_MODE, "evpn");
            assert.strictEqual(template.PHYDEV, "wg0");
            assert.strictEqual(template.IP_LINK_CONF, "nolearning=");
            assert.strictEqual(template.VLAN_ID, "100");
            assert.strictEqual(template.GUEST_MTU, "1370");
            assert.strictEqual(template.NETWORK_ADDRESS, "172.17.2.0");
            assert.strictEqual(template.NETWORK_MASK, "255.255.255.0");
            assert.strictEqual(template.GATEWAY, "172.17.2.1");
            assert.strictEqual(template.DNS, "1.1.1.1");
        });

        it("gives the virtual router two NICs: London's first public address and the EVPN network's first lease, with SDNAT between them", function () {
            const router = program.named("router-vrouter").inputs;
            assert.strictEqual(router.name, "vr-sdnat");
            assert.deepStrictEqual(router.nics, [
                { networkId: cloud.oneIds.get("london-one-public"), ip: "10.0.128.0" },
                { networkId: cloud.oneIds.get("private-vnet-frontend"), ip: "172.17.2.1" },
            ]);
            assert.strictEqual(router.context.ONEAPP_VNF_SDNAT4_ENABLED, "YES");
            assert.strictEqual(router.context.ONEAPP_VNF_SDNAT4_INTERFACES, "eth0 eth1");
            assert.deepStrictEqual(
                router.vmTemplate,
                { SCHED_REQUIREMENTS: 'NAME = "18.134.246.200"' },
                "on the London host, which carries the address",
            );
            const appliance = program.named("router-appliance").inputs;
            assert.strictEqual(appliance.appName, "Service Virtual Router");
            assert.strictEqual(appliance.datastoreId, cloud.oneIds.get("london-one-image"), "exported into London's image datastore");
            assert.strictEqual(router.templateId, cloud.oneIds.get("router-appliance")! + 2000, "the exported template");
            assert.ok(
                program.dependsOn("router-vrouter", "london-one-public") && program.dependsOn("router-vrouter", "private-vnet-frontend"),
            );
        });

        it("keeps the OpenNebula password and the SSH private key secret everywhere", function () {
            assertSecretsKeptSecret(program);
        });
    });

    it("outputs the router's Internet address and the SDNAT mapping in Internet addresses", async function () {
        const config = copyOf(stackFileConfig("multi-edge"));
        (config["opennebula-edge:router"] as Record<string, unknown>).mappings = [
            { privateIp: "172.17.2.10" },
            { privateIp: "172.17.2.11" },
        ];
        let outputs: Awaited<ReturnType<typeof stackProgram>> | undefined;
        const { cloud, program } = await runWithConfig(config, async () => {
            outputs = await stackProgram();
        });
        assert.strictEqual(program.ofType("pulumi-nodejs:dynamic/opennebula-edge:VirtualRouter").length, 1);
        assert.strictEqual(
            await valueOf(outputs!.routerPublicIp!),
            cloud.publicIps.get("london-host-0-ip-0"),
            "the Elastic IP of the router's address",
        );
        assert.deepStrictEqual(await valueOf(outputs!.routerMappings!), {
            [cloud.publicIps.get("london-host-0-ip-1")!]: "172.17.2.10",
            [cloud.publicIps.get("london-host-0-ip-2")!]: "172.17.2.11",
        });
    });

    it("returns the stack outputs: cluster ids, host addresses, public IPs, overlay addresses, the private network id", async function () {
        let outputs: Awaited<ReturnType<typeof stackProgram>> | undefined;
        const { cloud } = await runWithConfig(stackFileConfig("multi-edge"), async () => {
            outputs = await stackProgram();
        });
        const sharedId = cloud.oneIds.get("shared-cluster")!;
        assert.deepStrictEqual(await valueOf(outputs!.clusterIds.london), sharedId);
        assert.deepStrictEqual(await valueOf(outputs!.clusterIds.ncalifornia), sharedId);
        assert.strictEqual(await valueOf(outputs!.sharedClusterId!), sharedId);
        assert.deepStrictEqual(await valueOf(outputs!.hostAddresses.london), { "host-0": "18.134.246.200" });
        assert.deepStrictEqual(
            await valueOf(outputs!.publicIps.london),
            [0, 1, 2, 3, 4].map((j) => cloud.publicIps.get(`london-host-0-ip-${j}`)),
        );
        assert.deepStrictEqual(outputs!.overlayAddresses, {
            ingress: "192.168.0.1",
            "london-host-0": "192.168.0.2",
            "ncalifornia-host-0": "192.168.0.3",
        });
        assert.strictEqual(await valueOf(outputs!.privateNetworkId!), cloud.oneIds.get("private-vnet-frontend"));
        assert.strictEqual(await valueOf(outputs!.publicNetworkIds.ncalifornia), cloud.oneIds.get("ncalifornia-one-public"));
    });

    for (const [stack, routerAddress] of [
        ["vultr", (cloud: MockCloud) => cloud.publicIps.get("amsterdam-host-0-ip-0")],
        ["scaleway", () => "172.16.0.1"],
    ] as const) {
        it(`puts a router on the ${stack} example's first public address when an overlay, private network and router are added`, async function () {
            const config = copyOf(stackFileConfig(stack));
            config["opennebula-edge:overlay"] = { ingress: { publicIp: "192.0.2.1" } };
            config["opennebula-edge:privateNetwork"] = { vlanId: 200 };
            config["opennebula-edge:router"] = {};
            let outputs: Awaited<ReturnType<typeof stackProgram>> | undefined;
            const { program, cloud } = await runWithConfig(config, async () => {
                outputs = await stackProgram();
            });
            const cluster = stack === "vultr" ? "amsterdam" : "paris";
            assert.deepStrictEqual(program.named("router-vrouter").inputs.nics, [
                { networkId: cloud.oneIds.get(`${cluster}-one-public`), ip: routerAddress(cloud) },
                { networkId: cloud.oneIds.get("private-vnet-frontend"), ip: "172.17.2.1" },
            ]);
            const internet = stack === "vultr" ? cloud.publicIps.get("amsterdam-host-0-ip-0") : cloud.publicIps.get("paris-host-0-ip-0");
            assert.strictEqual(await valueOf(outputs!.routerPublicIp!), internet);
            assert.deepStrictEqual(
                program.named("private-vnet-frontend").inputs.clusterIds,
                [cloud.oneIds.get(`${cluster}-one-cluster`)],
                "one edge cluster: its own cluster",
            );
        });
    }

    it("Pulumi.digitalocean.yaml: one provider, one account-wide SSH key, two droplets, an own OpenNebula cluster, no overlay", async function () {
        const { program, cloud } = await runStackFile("digitalocean");
        assert.deepStrictEqual(
            program.ofType("pulumi:providers:digitalocean").map((p) => p.name),
            ["digitalocean-fra1"],
        );
        assert.strictEqual(count(program, T.doKey), 1);
        const droplets = program.ofType(T.droplet);
        assert.deepStrictEqual(
            droplets.map((d) => [d.inputs.region, d.inputs.size, d.provider]),
            [
                ["fra1", "s-4vcpu-8gb", "digitalocean-fra1"],
                ["fra1", "s-4vcpu-8gb", "digitalocean-fra1"],
            ],
        );
        for (const droplet of droplets)
            assert.deepStrictEqual(droplet.inputs.sshKeys, ["fp-digitalocean-ssh-key"], "the program's shared key");
        assert.deepStrictEqual(
            program.ofType(T.cluster).map((c) => c.name),
            ["frankfurt-one-cluster"],
        );
        const clusterId = cloud.oneIds.get("frankfurt-one-cluster");
        assert.deepStrictEqual(
            program.ofType(T.host).map((h) => [h.inputs.imMad, h.inputs.clusterId]),
            [
                ["qemu", clusterId],
                ["qemu", clusterId],
            ],
        );
        assert.strictEqual(count(program, T.mesh) + count(program, T.fabric), 0);
        assert.deepStrictEqual(
            program
                .ofType(T.membership)
                .map((m) => m.name)
                .sort(),
            ["frankfurt-one-shared-ds-1", "frankfurt-one-shared-ds-2"],
        );
        assertSecretsKeptSecret(program);
    });

    it("Pulumi.aws.yaml: the Ireland provider, two metal hosts, three Elastic IPs, a restricted security group", async function () {
        const { program } = await runStackFile("aws");
        assert.deepStrictEqual(
            program.ofType(T.awsProvider).map((p) => [p.name, p.inputs.region]),
            [["aws-eu-west-1", "eu-west-1"]],
        );
        assert.deepStrictEqual(
            program.ofType(T.instance).map((i) => [i.inputs.instanceType, i.inputs.availabilityZone]),
            [
                ["c5.metal", "eu-west-1a"],
                ["c5.metal", "eu-west-1a"],
            ],
        );
        assert.strictEqual(count(program, T.eip), 3);
        assert.ok(program.named("ireland-sg").inputs.description.includes("restricted"));
        assert.deepStrictEqual(
            program.ofType(T.cluster).map((c) => c.name),
            ["ireland-one-cluster"],
        );
        assert.strictEqual(count(program, T.host), 2);
        assertSecretsKeptSecret(program);
    });

    it("Pulumi.vultr.yaml: one bare-metal KVM host carrying two reserved IPs", async function () {
        const { program } = await runStackFile("vultr");
        assert.deepStrictEqual(
            program.ofType("pulumi:providers:vultr").map((p) => p.name),
            ["vultr-ams"],
        );
        assert.deepStrictEqual(
            program.ofType(T.bareMetal).map((m) => [m.inputs.region, m.inputs.plan, m.provider]),
            [["ams", "vbm-4c-32gb", "vultr-ams"]],
        );
        assert.strictEqual(count(program, T.reservedIp), 2);
        assert.deepStrictEqual(
            program.ofType(T.host).map((h) => h.inputs.imMad),
            ["kvm"],
        );
        assert.strictEqual(environmentOf(program.named("amsterdam-one-host-0-repo")).ONE_VERSION, "7.0", "the version of the stack file");
        assertSecretsKeptSecret(program);
    });

    it("Pulumi.scaleway.yaml: the fr-par-2 provider, one project-wide SSH key, two Elastic Metal servers, two flexible IPs", async function () {
        const { program } = await runStackFile("scaleway");
        assert.deepStrictEqual(
            program.ofType("pulumi:providers:scaleway").map((p) => [p.name, p.inputs.zone, p.inputs.region]),
            [["scaleway-fr-par-2", "fr-par-2", "fr-par"]],
        );
        assert.strictEqual(count(program, T.scwKey), 1);
        assert.strictEqual(count(program, T.server), 2);
        for (const server of program.ofType(T.server)) assert.strictEqual(server.provider, "scaleway-fr-par-2");
        assert.strictEqual(count(program, T.flexibleIp), 2);
        assert.strictEqual(count(program, T.host), 2);
        assertSecretsKeptSecret(program);
    });

    it("joins one OpenNebula cluster by default with several edge clusters, and keeps separate ones with sharedCluster: false", async function () {
        const raw = rawSettings(
            Object.fromEntries(
                Object.entries(stackFileConfig("multi-edge")).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
            ),
        );
        const defaults: Record<string, unknown> = { ...raw, ...SECRETS };
        delete defaults.sharedCluster;
        delete defaults.sharedClusterName;
        assert.strictEqual(usesSharedCluster(checkStackSettings(defaults)), true, "the multi-edge default");
        assert.strictEqual(
            usesSharedCluster(checkStackSettings({ ...defaults, edgeClusters: [(raw.edgeClusters as unknown[])[0]] })),
            false,
        );

        const config = copyOf(stackFileConfig("multi-edge"));
        config["opennebula-edge:sharedCluster"] = false;
        delete config["opennebula-edge:sharedClusterName"];
        const { program, cloud } = await runWithConfig(config, () => buildEdgeStack(readStackSettings()));
        assert.deepStrictEqual(
            program.ofType(T.cluster).map((c) => c.name),
            ["london-one-cluster", "ncalifornia-one-cluster"],
        );
        const ids = ["london-one-cluster", "ncalifornia-one-cluster"].map((name) => cloud.oneIds.get(name));
        assert.deepStrictEqual(program.named("private-vnet-frontend").inputs.clusterIds, ids, "the EVPN network is in both clusters");
        assert.deepStrictEqual(program.named("london-one-host-0").inputs.clusterId, ids[0]);
    });
});
