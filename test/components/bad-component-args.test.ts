/**
 * The table of bad component arguments: each row changes one component's valid arguments and
 * names the field (its exact path) the ConfigError must name. For every row the component must
 * throw before anything is registered — not even the component itself; providers and a mesh made
 * beforehand are not counted.
 *
 * A row is `[component, path, value]` (the error names `path`) or `[component, path, value, field]`.
 */
import * as assert from "assert";
import * as vultr from "@ediri/vultr";
import * as aws from "@pulumi/aws";
import * as digitalocean from "@pulumi/digitalocean";
import * as scaleway from "@pulumiverse/scaleway";
import { AwsEdgeCluster } from "../../components/clouds/aws";
import { DigitalOceanEdgeCluster } from "../../components/clouds/digitalocean";
import { ScalewayEdgeCluster } from "../../components/clouds/scaleway";
import { VultrEdgeCluster } from "../../components/clouds/vultr";
import { EdgeCluster } from "../../components/edge/edge-cluster";
import { EvpnFabric } from "../../components/overlay/evpn-fabric";
import { EvpnPrivateNetwork } from "../../components/overlay/evpn-private-network";
import { WireGuardMesh, planMesh } from "../../components/overlay/wireguard-mesh";
import { EdgeVirtualRouter } from "../../components/router/edge-virtual-router";
import { ConfigError } from "../../components/validation";
import { DELETE, report, runCounting, setPath, show } from "../support/bad-input";
import { assertNoSecrets } from "../support/fixtures";

const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests me@laptop";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nYmFkLWlucHV0LXRhYmxlLWtleQ==\n-----END OPENSSH PRIVATE KEY-----\n";
const ONEADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests oneadmin@fe";
const connection = { endpoint: "http://fe:2633/RPC2", username: "oneadmin", password: "pw" };

/** Each component: what it needs made beforehand (not counted), its valid arguments, and how it is built. */
const COMPONENTS = {
    aws: {
        prepare: () => new aws.Provider("aws", { region: "eu-west-2" }),
        args: (provider: unknown) => ({
            provider,
            region: "eu-west-2",
            ssh: { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY },
            opennebula: { frontendSshPublicKey: ONEADMIN_KEY, connection },
        }),
        build: (args: any) => new AwsEdgeCluster("london", args),
    },
    digitalocean: {
        prepare: () => new digitalocean.Provider("do", { token: "t" }),
        args: (provider: unknown) => ({
            provider,
            region: "ams3",
            ssh: { publicKey: PUBLIC_KEY, privateKey: PRIVATE_KEY },
            opennebula: { frontendSshPublicKey: ONEADMIN_KEY, connection },
        }),
        build: (args: any) => new DigitalOceanEdgeCluster("ams", args),
    },
    vultr: {
        prepare: () => new vultr.Provider("vultr", { apiKey: "k" }),
        args: (provider: unknown) => ({ provider, region: "ams", opennebula: { frontendSshPublicKey: ONEADMIN_KEY, connection } }),
        build: (args: any) => new VultrEdgeCluster("ams", args),
    },
    scaleway: {
        prepare: () => new scaleway.Provider("scw", { zone: "fr-par-2" }),
        args: (provider: unknown) => ({ provider, zone: "fr-par-2", opennebula: { frontendSshPublicKey: ONEADMIN_KEY, connection } }),
        build: (args: any) => new ScalewayEdgeCluster("par", args),
    },
    edge: {
        prepare: () => undefined,
        args: () => ({
            hosts: [
                { key: "kvm-a", publicIp: "203.0.113.10", privateIp: "10.0.0.4", sshUser: "root", machineId: "i-1" },
                { key: "kvm-b", publicIp: "203.0.113.11", privateIp: "10.0.0.5", sshUser: "root", machineId: "i-2" },
            ],
            ssh: { privateKey: PRIVATE_KEY },
            opennebula: { frontendSshPublicKey: ONEADMIN_KEY, connection },
        }),
        build: (args: any) => new EdgeCluster("edge", args),
    },
    mesh: {
        prepare: () => undefined,
        args: () => ({
            ingress: { key: "ingress", publicIp: "13.58.199.98", sshUser: "root" },
            hosts: [
                { key: "kvm-a", publicIp: "203.0.113.10", sshUser: "root" },
                { key: "kvm-b", publicIp: "203.0.113.11", sshUser: "root" },
            ],
            ssh: { privateKey: PRIVATE_KEY },
        }),
        build: (args: any) => new WireGuardMesh("overlay", args),
    },
    fabric: {
        prepare: () => new WireGuardMesh("overlay", COMPONENTS.mesh.args() as never),
        args: (mesh: unknown) => ({ mesh }),
        build: (args: any) => new EvpnFabric("fabric", args),
    },
    network: {
        prepare: () => planMesh(COMPONENTS.mesh.args() as never).settings,
        args: (plan: unknown) => ({ vlanId: 100, targets: [{ connection, clusterIds: [100] }], mesh: { plan } }),
        build: (args: any) => new EvpnPrivateNetwork("private", args),
    },
    router: {
        prepare: () => undefined,
        args: () => ({
            publicNetwork: { id: 7, addresses: ["10.0.128.0", "10.0.128.2", "10.0.128.4"] },
            privateNetwork: { id: 8, gateway: "172.17.2.1", subnet: "172.17.2.0/24" },
            appliance: { datastoreId: 1 },
            connection,
        }),
        build: (args: any) => new EdgeVirtualRouter("router", args),
    },
};

type Component = keyof typeof COMPONENTS;
type Row = [component: Component, path: string, value: unknown, field?: string];

const TWO_HOSTS_ONE_IP = [
    { key: "kvm-a", publicIp: "203.0.113.10", privateIp: "10.0.0.4", sshUser: "root", machineId: "i-1" },
    { key: "kvm-b", publicIp: "203.0.113.10", privateIp: "10.0.0.5", sshUser: "root", machineId: "i-2" },
];

const ROWS: Row[] = [
    // what every cloud shares (AWS as the example, then each cloud's provider)
    ["aws", "provider", DELETE],
    ["aws", "provider", { region: "eu-west-2" }],
    ["digitalocean", "provider", DELETE],
    ["vultr", "provider", DELETE],
    ["scaleway", "provider", DELETE],
    ["aws", "ssh", "key", "ssh"],
    ["aws", "ssh.publicKey", "garbage"],
    ["aws", "ssh.publicKey", "ssh-ed25519 AAAA me"],
    ["aws", "ssh.publicKey", ""],
    ["aws", "ssh.privateKey", ""],
    ["aws", "ssh.privateKey", DELETE, "ssh.privateKey"],
    ["aws", "ssh.publicKey", DELETE, "ssh.publicKey"],
    ["aws", "ssh.privateKey", "not a key"],
    ["aws", "ssh.port", 0],
    ["aws", "ssh.port", 70000],
    ["aws", "ssh.bastion", {}, "ssh.bastion.host"],
    ["aws", "ssh.bastion", { host: "jump", port: 0 }, "ssh.bastion.port"],
    ["aws", "ssh.bastion", { host: "jump", privateKey: "junk" }, "ssh.bastion.privateKey"],
    ["vultr", "ssh", { publicKey: PUBLIC_KEY }, "ssh.privateKey"],
    ["scaleway", "ssh", { privateKey: PRIVATE_KEY }, "ssh.publicKey"],
    ["aws", "opennebula", DELETE],
    ["aws", "opennebula.frontendSshPublicKey", DELETE],
    ["aws", "opennebula.frontendSshPublicKey", "garbage"],
    ["aws", "opennebula.frontendSshPublicKey", "sk-foo AAAAC3NzaC1lZDI1NTE5 oneadmin"],
    ["digitalocean", "opennebula.frontendSshPublicKey", "ssh-ed25519 !!!! oneadmin"],
    ["aws", "opennebula.version", "8.0"],
    ["aws", "cluster", { name: "x", existingClusterId: 1 }],
    ["aws", "cluster.existingClusterId", -1],
    ["aws", "firewall.mode", "paranoid"],
    ["aws", "firewall.extraPorts", [{ port: 70000 }], "firewall.extraPorts[0].port"],
    ["aws", "firewall.extraPorts", [{ port: 8080, toPort: 8000 }], "firewall.extraPorts[0].toPort"],
    ["vultr", "firewall.extraPorts", [{ port: 80, protocol: "icmp" }], "firewall.extraPorts[0].protocol"],
    ["aws", "hostCount", 0],
    ["aws", "hostCount", 51],
    ["aws", "hosts", []],
    ["aws", "hosts", ["kvm-a", "kvm-a"], "hosts[1]"],
    ["aws", "hosts", { "Kvm A": {} }, "hosts.Kvm A"],
    ["aws", "hosts", { "kvm-a": { publicIps: 6 } }, "hosts.kvm-a.publicIps"],
    ["aws", "dns", "8.8.8"],
    ["aws", "sshUser", "Bad User"],
    ["aws", "tags", { "a b": "c" }, "tags.a b"],
    ["scaleway", "tags", { "": "" }, "tags."],
    // AWS
    ["aws", "region", "mars-1"],
    ["aws", "region", DELETE],
    ["aws", "availabilityZone", "eu-west-2z"],
    ["aws", "availabilityZone", "us-east-1a"],
    ["aws", "publicIps", 6],
    ["aws", "instanceType", "huge"],
    ["aws", "rootVolumeSize", 0],
    ["aws", "vpcCidr", "10.0.0.0/8"],
    ["aws", "uplinkInterface", "br0"],
    ["aws", "ami", "ubuntu"],
    ["aws", "cloudFirewall", { mode: "restricted", extraRules: [{ port: 443, toPort: 80 }] }, "cloudFirewall.extraRules[0].toPort"],
    // DigitalOcean
    ["digitalocean", "region", "fra9"],
    ["digitalocean", "hypervisor", "kvm"],
    ["digitalocean", "publicIps", 1],
    ["digitalocean", "vpcIpRange", "192.168.23.0/24"],
    ["digitalocean", "vpcIpRange", "10.245.0.0/16"],
    ["digitalocean", "image", "windows"],
    ["digitalocean", "vpcId", "vpc-1"],
    // Vultr
    ["vultr", "region", "xyz"],
    ["vultr", "mode", "hybrid"],
    ["vultr", "plan", "vbm-4c-32gb"],
    ["vultr", "osId", 0],
    ["vultr", "vpcCidr", "8.8.0.0/16"],
    ["vultr", "publicIps", 11],
    // Scaleway
    ["scaleway", "zone", "fr-par-9"],
    ["scaleway", "offer", "EM-HUGE"],
    ["scaleway", "natCidr", "172.18.0.0/16"],
    ["scaleway", "privateNetworkCidr", "10.0.0.0/20"],
    ["scaleway", "hosts", { "kvm-a": { slot: 3 }, "kvm-b": { slot: 3 } }, "hosts.kvm-b"],
    ["scaleway", "bastion", { port: 70000 }, "bastion.port"],
    // EdgeCluster, the cloud-independent core
    ["edge", "hosts", []],
    ["edge", "hosts[0].key", "Bad Key"],
    ["edge", "hosts[1].key", "kvm-a"],
    ["edge", "hosts", TWO_HOSTS_ONE_IP, "hosts[1].publicIp"],
    ["edge", "hosts[0].publicIp", DELETE],
    ["edge", "hosts[0].machineId", ""],
    ["edge", "ssh.privateKey", "junk"],
    ["edge", "ssh.port", 0],
    ["edge", "opennebula.frontendSshPublicKey", "junk"],
    ["edge", "opennebula.version", "5.12"],
    ["edge", "hypervisor", "xen"],
    ["edge", "firewall.extraPorts", [{ port: 70000 }], "firewall.extraPorts[0].port"],
    ["edge", "firewall.extraPorts", [{ port: 9000, toPort: 8000 }], "firewall.extraPorts[0].toPort"],
    ["edge", "cluster.existingClusterId", -1],
    ["edge", "sharedDatastoreIds", [-1], "sharedDatastoreIds[0]"],
    // WireGuardMesh
    ["mesh", "ingress.key", ""],
    ["mesh", "hosts[0].key", "ingress"],
    ["mesh", "hosts[1].publicIp", "203.0.113.10"],
    ["mesh", "hosts[0].publicIp", "13.58.199.98"],
    ["mesh", "subnet", "192.168.0.0/31"],
    ["mesh", "listenPort", 0],
    ["mesh", "topology", "star"],
    ["mesh", "ssh.privateKey", "junk"],
    ["mesh", "mtu", 100],
    // EvpnFabric
    ["fabric", "asn", 0],
    ["fabric", "asn", 23456],
    // EvpnPrivateNetwork
    ["network", "vlanId", 0],
    ["network", "network", "172.17.2.0/33"],
    ["network", "network", "192.168.0.0/24"],
    ["network", "addressRange.size", 300],
    ["network", "addressRange.ip", "10.9.9.9"],
    ["network", "gateway", "10.0.0.1"],
    ["network", "dns", []],
    ["network", "targets", []],
    // EdgeVirtualRouter
    ["router", "mappings", [{ privateIp: "172.17.2.1" }], "mappings[0].privateIp"],
    ["router", "mappings", [{ privateIp: "10.1.1.1" }], "mappings[0].privateIp"],
    ["router", "publicIps", 5],
    ["router", "privateNetwork.gateway", "10.0.0.1"],
    ["router", "privateNetwork.subnet", "172.17.2.0"],
    ["router", "publicNetwork.addresses", []],
    ["router", "publicNetwork.addresses", ["10.0.128.0", "10.0.128.0"], "publicNetwork.addresses[1]"],
    ["router", "appliance", {}, "appliance.datastoreId"],
    ["router", "appliance", { templateId: 7, appName: "x" }],
];

describe("Bad component arguments: rejected, naming the field, nothing registered", function () {
    this.timeout(120_000);

    it(`has at least 50 rows (${ROWS.length})`, function () {
        assert.ok(ROWS.length >= 50);
    });

    for (const [component, path, value, field = path] of ROWS) {
        it(`${component}: ${path}=${show(value)} → ${field}`, async function () {
            const { prepare, args, build } = COMPONENTS[component];
            const outcome = await runCounting(prepare, (prepared: any) => {
                const changed: Record<string, any> = args(prepared);
                setPath(changed, path, value);
                return build(changed);
            });
            const error = outcome.error;
            report(
                component,
                `${path}=${show(value)}`,
                error instanceof ConfigError ? error.field : String(error ?? "accepted").split("\n")[0],
                outcome.registered.length,
            );
            assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error === undefined ? "no error" : String(error)}`);
            assert.strictEqual(error.field, field, error.message);
            assert.deepStrictEqual(outcome.registered, [], "nothing is registered, not even the component");
            assertNoSecrets(error.message, [PRIVATE_KEY], "the error message");
        });
    }
});
