/**
 * The table of bad stack configurations: each row changes the multi-edge stack file (two AWS
 * clusters, overlay, EVPN network, router) and names the key the error must name, exactly as
 * `pulumi config` spells it. For every row the main program must throw a StackConfigError with
 * that key, and register nothing at all — not even a provider.
 *
 * A row is `at(path, value)` (the error names `path`), `at(path, value, key)` (it names `key`)
 * or `all({ path: value, … }, key)`. Paths are inside the `opennebula-edge` namespace;
 * `edgeClusters[1]` is replaced by a cluster of another cloud where a row needs one.
 */
import * as assert from "assert";
import { stackProgram } from "../../programs/main/program";
import { StackConfigError } from "../../programs/main/schema";
import { DELETE, report, runCounting, setPath, show } from "../support/bad-input";
import { assertNoSecrets } from "../support/fixtures";
import { SECRETS, copyOf, setStackConfig, stackFileConfig } from "./stack-support";
import * as pulumi from "@pulumi/pulumi";

type Row = [changes: Record<string, unknown>, key: string];
const at = (path: string, value: unknown, key = path): Row => [{ [path]: value }, key];
const all = (changes: Record<string, unknown>, key: string): Row => [changes, key];

const NS = "opennebula-edge";
const SECRET_KEYS = ["onePassword", "sshPrivateKey", "bastionPrivateKey"];
const VPC_ID = "5a4981aa-9653-4bd1-bef5-d6bff52042e4";
const DO = { name: "fra", cloud: "digitalocean", region: "fra1" };
const VULTR = { name: "ams", cloud: "vultr", region: "ams" };
const SCALEWAY = { name: "par", cloud: "scaleway", zone: "fr-par-2" };
const C0 = "edgeClusters[0]";
const C1 = "edgeClusters[1]";
const withCluster = (cluster: object, changes: Record<string, unknown> = {}) => ({ [C1]: cluster, ...changes });

const ROWS: Row[] = [
    // opennebula
    at("opennebula.endpoint", "frontend:2633"),
    at("opennebula.endpoint", "ftp://fe/RPC2"),
    at("opennebula.endpoint", 2633),
    at("opennebula.endpoint", DELETE),
    at("opennebula.username", ""),
    at("opennebula.frontendSshPublicKey", "garbage"),
    at("opennebula.frontendSshPublicKey", "sk-foo AAAAC3NzaC1lZDI1NTE5 oneadmin@fe"),
    at("opennebula.frontendSshPublicKey", "ssh-ed25519 AAAA oneadmin@fe"),
    at("opennebula.frontendSshPublicKey", "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests oneadmin@fe"),
    at("opennebula.frontendSshPublicKey", DELETE),
    at("opennebula.version", "8.0"),
    at("opennebula.version", 6.1),
    at("opennebula.port", 2633),
    at("opennebula", DELETE),
    // ssh and the secrets
    at("ssh.publicKey", "not a key"),
    at("ssh.publicKey", "ssh-rsa BBBB me@laptop"),
    at("ssh.publicKey", DELETE, "ssh.publicKey"),
    at("ssh.port", 0),
    at("ssh.port", 70000),
    at("ssh.port", "22"),
    at("ssh.bastion", { host: "" }, "ssh.bastion.host"),
    at("ssh.bastion", { host: "jump host" }, "ssh.bastion.host"),
    at("ssh.bastion", { host: "jump", port: 0 }, "ssh.bastion.port"),
    at("ssh.bastion", { host: "jump", user: "Root" }, "ssh.bastion.user"),
    at("ssh.agent", true),
    at("sshPrivateKey", "not a key"),
    at("sshPrivateKey", ""),
    at("sshPrivateKey", DELETE),
    at("sshPrivateKey", `-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----\n`),
    at("onePassword", ""),
    at("onePassword", DELETE),
    at("bastionPrivateKey", SECRETS.sshPrivateKey),
    all({ "ssh.bastion": { host: "jump" }, bastionPrivateKey: "junk" }, "bastionPrivateKey"),
    // edge clusters: the list, names, clouds
    at("edgeClusters", []),
    at("edgeClusters", "london"),
    at(`${C0}.name`, "London"),
    at(`${C0}.name`, "a-name-longer-than-24-chars"),
    at(`${C0}.name`, DELETE),
    at(`${C1}.name`, "london"),
    at(`${C0}.cloud`, "gcp"),
    at(`${C0}.cloud`, DELETE),
    // AWS settings
    at(`${C0}.region`, "us-west-9"),
    at(`${C0}.region`, DELETE),
    at(`${C0}.hostCount`, 0),
    at(`${C0}.hostCount`, 51),
    at(`${C0}.hostCount`, 1.5),
    at(`${C0}.publicIps`, 6),
    at(`${C0}.publicIps`, -1),
    all({ [`${C0}.hostCount`]: 2, [`${C0}.publicIps`]: 3 }, `${C0}.publicIps`),
    at(`${C0}.hosts`, ["kvm-a"], `${C0}.hostCount`),
    all({ [`${C0}.hostCount`]: DELETE, [`${C0}.hosts`]: [] }, `${C0}.hosts`),
    all({ [`${C0}.hostCount`]: DELETE, [`${C0}.hosts`]: ["kvm-a", "kvm-a"] }, `${C0}.hosts[1]`),
    all({ [`${C0}.hostCount`]: DELETE, [`${C0}.hosts`]: { "Kvm A": {} } }, `${C0}.hosts.Kvm A`),
    all({ [`${C0}.hostCount`]: DELETE, [`${C0}.hosts`]: { "kvm-a": { size: "x" } } }, `${C0}.hosts.kvm-a.size`),
    all(
        { [`${C0}.hostCount`]: DELETE, [`${C0}.publicIps`]: DELETE, [`${C0}.hosts`]: { "kvm-a": { publicIps: 9 } } },
        `${C0}.hosts.kvm-a.publicIps`,
    ),
    all({ [`${C0}.hostCount`]: DELETE, [`${C0}.hosts`]: { "kvm-a": { slot: 5000 } } }, `${C0}.hosts.kvm-a.slot`),
    all(
        { [`${C0}.hostCount`]: DELETE, [`${C0}.publicIps`]: 0, [`${C0}.hosts`]: { "kvm-a": { slot: 3 }, "kvm-b": { slot: 3 } } },
        `${C0}.hosts.kvm-b`,
    ),
    at(`${C0}.instanceType`, "c5.huge"),
    at(`${C0}.instanceType`, "mac1.metal"),
    at(`${C0}.instanceType`, "t3.large", `${C0}.hypervisor`),
    at(`${C0}.instanceType`, "c6g.metal"),
    at(`${C0}.hypervisor`, "xen"),
    at(`${C0}.ami`, "ubuntu-22.04"),
    at(`${C0}.rootVolumeSize`, 4),
    at(`${C0}.availabilityZone`, "us-east-1a"),
    at(`${C0}.availabilityZone`, "eu-west-2z"),
    at(`${C0}.vpcCidr`, "10.0.0.0/24"),
    at(`${C0}.vpcCidr`, "10.1.2.0/16"),
    at(`${C0}.vpcCidr`, "10.0.0.0"),
    at(`${C0}.uplinkInterface`, "br0"),
    at(`${C0}.uplinkInterface`, "an-interface-name-too-long"),
    at(`${C0}.cloudFirewall`, { mode: "closed" }, `${C0}.cloudFirewall.mode`),
    at(`${C0}.cloudFirewall`, { sshSources: ["0.0.0.0/0"] }),
    at(`${C0}.cloudFirewall`, { mode: "restricted", sshSources: [] }, `${C0}.cloudFirewall.sshSources`),
    at(`${C0}.cloudFirewall`, { mode: "restricted", sshSources: ["10.0.0.1"] }, `${C0}.cloudFirewall.sshSources[0]`),
    at(`${C0}.cloudFirewall`, { mode: "restricted", extraRules: [{ port: 80, toPort: 70 }] }, `${C0}.cloudFirewall.extraRules[0].toPort`),
    at(`${C0}.firewall`, { mode: "paranoid" }, `${C0}.firewall.mode`),
    at(`${C0}.firewall`, { extraPorts: [{ port: 8080, toPort: 8000 }] }, `${C0}.firewall.extraPorts[0].toPort`),
    at(`${C0}.firewall`, { extraPorts: [{ port: 70000 }] }, `${C0}.firewall.extraPorts[0].port`),
    at(`${C0}.firewall`, { extraPorts: [{ port: 80, protocol: "icmp" }] }, `${C0}.firewall.extraPorts[0].protocol`),
    at(`${C0}.tags`, { "": "x" }, `${C0}.tags.`),
    at(`${C0}.tags`, { "team name": "x" }, `${C0}.tags.team name`),
    at(`${C0}.tags`, { team: "a:b" }, `${C0}.tags.team`),
    at(`${C0}.dns`, "1.1.1"),
    at(`${C0}.dns`, "1.1.1.300"),
    at(`${C0}.sshUser`, "Root"),
    at(`${C0}.sshKeyId`, ""),
    at(`${C0}.size`, "s-2vcpu-4gb"),
    // DigitalOcean settings
    all(withCluster({ ...DO, region: "fra9" }), `${C1}.region`),
    all(withCluster({ ...DO, hypervisor: "kvm" }), `${C1}.hypervisor`),
    all(withCluster({ ...DO, size: "huge" }), `${C1}.size`),
    all(withCluster({ ...DO, image: "windows-2022" }), `${C1}.image`),
    all(withCluster({ ...DO, vpcId: "not-a-uuid" }), `${C1}.vpcId`),
    all(withCluster({ ...DO, vpcIpRange: "8.8.8.0/24" }), `${C1}.vpcIpRange`),
    all(withCluster({ ...DO, vpcIpRange: "192.168.23.0/24" }), `${C1}.vpcIpRange`),
    all(withCluster({ ...DO, vpcIpRange: "10.244.0.0/16" }), `${C1}.vpcIpRange`),
    all(withCluster({ ...DO, vpcId: VPC_ID, vpcIpRange: "10.20.0.0/24" }), `${C1}.vpcIpRange`),
    all(withCluster({ ...DO, publicIps: 1 }), `${C1}.publicIps`),
    all(withCluster({ ...DO, hosts: { "kvm-a": { publicIps: 1 } } }), `${C1}.hosts.kvm-a.publicIps`),
    all(withCluster({ ...DO, instanceType: "c5.metal" }), `${C1}.instanceType`),
    // Vultr settings
    all(withCluster({ ...VULTR, region: "xyz" }), `${C1}.region`),
    all(withCluster({ ...VULTR, mode: "hybrid" }), `${C1}.mode`),
    all(withCluster({ ...VULTR, plan: "c5.metal" }), `${C1}.plan`),
    all(withCluster({ ...VULTR, mode: "metal", hypervisor: "qemu" }), `${C1}.hypervisor`),
    all(withCluster({ ...VULTR, mode: "metal", vpcCidr: "10.10.0.0/20" }), `${C1}.vpcCidr`),
    all(withCluster({ ...VULTR, mode: "metal", publicIps: 1 }), `${C1}.uplinkInterface`),
    all(withCluster({ ...VULTR, vpcCidr: "8.8.0.0/16" }), `${C1}.vpcCidr`),
    all(withCluster({ ...VULTR, osId: 0 }), `${C1}.osId`),
    all(withCluster({ ...VULTR, publicIps: 11 }), `${C1}.publicIps`),
    // Scaleway settings
    all(withCluster({ ...SCALEWAY, zone: "fr-par-9" }), `${C1}.zone`),
    all(withCluster({ ...SCALEWAY, region: "fr-par" }), `${C1}.region`),
    all(withCluster({ ...SCALEWAY, offer: "EM-HUGE" }), `${C1}.offer`),
    all(withCluster({ ...SCALEWAY, os: "windows" }), `${C1}.os`),
    all(withCluster({ ...SCALEWAY, privateNetworkCidr: "10.0.0.0/20" }), `${C1}.privateNetworkCidr`),
    all(withCluster({ ...SCALEWAY, privateNetworkCidr: "172.18.0.0/16" }), `${C1}.privateNetworkCidr`),
    all(withCluster({ ...SCALEWAY, natCidr: "172.18.0.0/16" }), `${C1}.natCidr`),
    all(withCluster({ ...SCALEWAY, hypervisor: "qemu" }), `${C1}.hypervisor`),
    all(withCluster({ ...SCALEWAY, gatewayType: "VPC-GW-XXL" }), `${C1}.gatewayType`),
    all(withCluster({ ...SCALEWAY, bastion: { port: 0 } }), `${C1}.bastion.port`),
    all(withCluster({ ...SCALEWAY, tags: { "": "" } }), `${C1}.tags.`),
    all(withCluster({ ...SCALEWAY, publicIps: 9 }), `${C1}.publicIps`),
    // address plans across clouds, overlay, private network and router
    at("overlay.subnet", "10.0.0.0/24"),
    at("overlay.subnet", "10.0.0.0/8"),
    all(withCluster(DO, { "overlay.subnet": "192.168.0.0/16" }), "overlay.subnet"),
    all(withCluster({ ...DO, vpcIpRange: "10.20.0.0/24" }, { "overlay.subnet": "10.20.0.0/24" }), "overlay.subnet"),
    all(withCluster(VULTR, { "overlay.subnet": "10.10.0.0/16" }), "overlay.subnet"),
    all(withCluster(SCALEWAY, { "overlay.subnet": "172.18.1.0/24" }), "overlay.subnet"),
    all(withCluster(SCALEWAY, { "overlay.subnet": "172.16.5.0/24" }), "overlay.subnet"),
    all({ "privateNetwork.network": "10.0.128.0/17", "privateNetwork.addressRange.ip": "10.0.128.1" }, "privateNetwork.network"),
    all({ "privateNetwork.network": "10.0.0.0/16", "privateNetwork.addressRange.ip": "10.0.0.1" }, "privateNetwork.network"),
    all(
        withCluster(SCALEWAY, { "privateNetwork.network": "172.16.0.0/24", "privateNetwork.addressRange.ip": "172.16.0.1" }),
        "privateNetwork.network",
    ),
    all(
        withCluster(DO, { "privateNetwork.network": "192.168.23.0/24", "privateNetwork.addressRange.ip": "192.168.23.1" }),
        "privateNetwork.network",
    ),
    all(
        withCluster(VULTR, { "privateNetwork.network": "10.10.1.0/24", "privateNetwork.addressRange.ip": "10.10.1.1" }),
        "privateNetwork.network",
    ),
    all({ "privateNetwork.network": "192.168.0.0/24", "privateNetwork.addressRange.ip": "192.168.0.1" }, "privateNetwork.network"),
    at("router.mappings", [{ privateIp: "10.0.0.5" }], "router.mappings[0].privateIp"),
    // overlay
    at("overlay.ingress.publicIp", "13.58.199.98:51820"),
    at("overlay.ingress.publicIp", "256.1.1.1"),
    at("overlay.ingress.publicIp", DELETE),
    at("overlay.ingress", DELETE),
    at("overlay.ingress.sshUser", "Root"),
    at("overlay.ingress.key", "london-host-0"),
    at("overlay.ingress.key", "-bad"),
    at("overlay.subnet", "192.168.0.0/31"),
    at("overlay.subnet", "192.168.0.1/24"),
    at("overlay.asn", 0),
    at("overlay.asn", 23456),
    at("overlay.asn", 4294967296),
    at("overlay.topology", "star"),
    at("overlay.listenPort", 0),
    at("overlay.listenPort", 70000),
    at("overlay.underlayMtu", 1300),
    at("overlay.underlayMtu", 100),
    at("overlay.mesh", true),
    // the EVPN private network
    at("privateNetwork.vlanId", 0),
    at("privateNetwork.vlanId", 16777216),
    at("privateNetwork.vlanId", DELETE),
    at("privateNetwork.network", "172.17.2.0/33"),
    at("privateNetwork.addressRange.size", 300),
    at("privateNetwork.addressRange.size", 0),
    at("privateNetwork.addressRange.ip", "10.9.9.9"),
    at("privateNetwork.addressRange", { ip: "172.17.2.250", size: 20 }, "privateNetwork.addressRange.size"),
    all(
        { "privateNetwork.network": "255.255.255.0/24", "privateNetwork.addressRange": { ip: "255.255.255.250", size: 20 } },
        "privateNetwork.addressRange.size",
    ),
    at("privateNetwork.gateway", "10.0.0.1"),
    at("privateNetwork.dns", []),
    at("privateNetwork.dns", ["1.1.1"], "privateNetwork.dns[0]"),
    at("privateNetwork.name", ""),
    at("overlay", DELETE, "privateNetwork"),
    // the virtual router
    at("privateNetwork", DELETE, "router"),
    at("router.edgeCluster", "paris"),
    at(`${C0}.publicIps`, 0, "router.edgeCluster"),
    all({ [`${C0}.publicIps`]: 2, "router.mappings": [{ privateIp: "172.17.2.10" }, { privateIp: "172.17.2.11" }] }, "router.mappings"),
    at("router.mappings", [{ privateIp: "172.17.2.1" }], "router.mappings[0].privateIp"),
    at("router.mappings", [{ privateIp: "172.17.2.10" }, { privateIp: "172.17.2.10" }], "router.mappings[1].privateIp"),
    at("router.mappings", [{ ip: "172.17.2.10" }], "router.mappings[0].ip"),
    at("router.appliance", { templateId: 7, appName: "Service Virtual Router" }),
    at("router.appliance", { templateId: -1 }, "router.appliance.templateId"),
    at("router.publicIps", 65),
    at("router.publicIps", 5),
    at("router.name", ""),
    at("router.context", { ONEAPP_VNF_NAT4_ENABLED: true }, "router.context.ONEAPP_VNF_NAT4_ENABLED"),
    at("router.outboundNat", "yes"),
    at("router.vip", "1.2.3.4"),
    all(withCluster(DO, { "router.edgeCluster": "fra" }), "router.edgeCluster"),
    // top-level keys
    at("sharedCluster", "yes"),
    at("sharedCluster", false, "sharedClusterName"),
    at("sharedClusterName", "bad name!"),
    at("edgeCluster", [], "edgeCluster"),
];

/** The multi-edge stack file with a row's changes: configuration and secrets apart. */
function configOf(changes: Record<string, unknown>): { config: Record<string, any>; secrets: Record<string, string> } {
    const config: Record<string, any> = {};
    for (const [key, value] of Object.entries(copyOf(stackFileConfig("multi-edge")))) config[key.slice(NS.length + 1)] = value;
    const secrets: Record<string, any> = { ...SECRETS };
    for (const [path, value] of Object.entries(changes)) setPath(SECRET_KEYS.includes(path) ? secrets : config, path, value);
    const namespaced = Object.fromEntries(Object.entries(config).map(([key, value]) => [`${NS}:${key}`, value]));
    return { config: namespaced, secrets };
}

describe("Bad stack configurations: rejected, naming the key, nothing registered", function () {
    this.timeout(120_000);

    it(`has at least 100 rows (${ROWS.length})`, function () {
        assert.ok(ROWS.length >= 100);
    });

    for (const [changes, key] of ROWS) {
        const input = Object.entries(changes)
            .map(([path, value]) => `${path}=${show(value)}`)
            .join(", ");
        it(`${input} → ${NS}:${key}`, async function () {
            const { config, secrets } = configOf(changes);
            const outcome = await runCounting(
                () => setStackConfig(config, secrets),
                () => stackProgram(),
            );
            pulumi.runtime.setAllConfig({}, []);
            const keys = outcome.error instanceof StackConfigError ? outcome.error.issues.map((issue) => issue.key) : [];
            report("stack", input, keys.join(", ") || String(outcome.error ?? "accepted").split("\n")[0], outcome.registered.length);
            assert.ok(
                outcome.error instanceof StackConfigError,
                `expected a StackConfigError, got ${outcome.error === undefined ? "no error" : String(outcome.error)}`,
            );
            assert.ok(keys.includes(`${NS}:${key}`), `names ${keys.join(", ")}, not ${NS}:${key}:\n${outcome.error.message}`);
            assert.deepStrictEqual(outcome.registered, [], "nothing is registered");
            assertNoSecrets(outcome.error.message, [SECRETS.onePassword, SECRETS.sshPrivateKey], "the error");
        });
    }
});
