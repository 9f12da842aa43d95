/**
 * Invalid stack configurations: each one, run through the main program, is rejected with an
 * error that names the key as `pulumi config` spells it — and before a single resource, not even
 * a provider, is registered (each cloud's own rules are in its schema, part of the stack schema).
 */
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { checkStackSettings } from "../../programs/main/config";
import { stackProgram } from "../../programs/main/program";
import { StackConfigError, keyOf } from "../../programs/main/schema";
import type { Outcome } from "../support/bad-input";
import { runCounting } from "../support/bad-input";
import { assertNoSecrets } from "../support/fixtures";
import { SECRETS, copyOf, setStackConfig, stackFileConfig } from "./stack-support";

type Config = Record<string, any>;

interface Case {
    /** What is wrong. */
    title: string;
    /** Changes the multi-edge stack file's configuration. */
    change: (config: Config) => void;
    /** The secrets to set (default: both). */
    secrets?: Record<string, string>;
    /** The key the error must name, without the namespace. */
    key: string;
    /** What the error must say about it. */
    says: RegExp;
}

const N = "opennebula-edge:";
const clusters = (config: Config) => config[`${N}edgeClusters`] as Config[];

const CASES: Case[] = [
    {
        title: "an AWS region that does not exist",
        change: (c) => {
            clusters(c)[1].region = "us-west-9";
        },
        key: "edgeClusters[1].region",
        says: /must be one of us-east-1, .*us-west-1.* \(got "us-west-9"\)/,
    },
    {
        title: "a cloud that is not supported",
        change: (c) => {
            clusters(c)[0].cloud = "gcp";
        },
        key: "edgeClusters[0].cloud",
        says: /must be one of digitalocean, aws, vultr, scaleway \(got "gcp"\)/,
    },
    {
        title: "no hosts",
        change: (c) => {
            clusters(c)[0].hostCount = 0;
        },
        key: "edgeClusters[0].hostCount",
        says: /: must be an integer from 1 to 50 \(got 0\)$/,
    },
    {
        title: "more Elastic IPs on a host than the AWS quota",
        change: (c) => {
            clusters(c)[0].publicIps = 6;
        },
        key: "edgeClusters[0].publicIps",
        says: /must be an integer from 0 to 5 \(got 6\)$/,
    },
    {
        title: "more Elastic IPs in all than the AWS quota",
        change: (c) => {
            clusters(c)[0].hostCount = 2;
            clusters(c)[0].publicIps = 3;
        },
        key: "edgeClusters[0].publicIps",
        says: /asks for 6 public IPs in all \(host-0: 3, host-1: 3\); at most 5: the default Elastic IP quota/,
    },
    {
        title: "both named hosts and a host count",
        change: (c) => {
            clusters(c)[0].hosts = ["kvm-a"];
        },
        key: "edgeClusters[0].hostCount",
        says: /give either hosts \(named hosts\) or hostCount/,
    },
    {
        title: "a host key that is no key",
        change: (c) => {
            delete clusters(c)[0].hostCount;
            clusters(c)[0].hosts = { "Kvm A": {} };
        },
        key: "edgeClusters[0].hosts.Kvm A",
        says: /is not a host key/,
    },
    {
        title: "a per-host setting of another cloud",
        change: (c) => {
            delete clusters(c)[0].hostCount;
            clusters(c)[0].hosts = { "kvm-a": { size: "big" } };
        },
        key: "edgeClusters[0].hosts.kvm-a.size",
        says: /is not a known key/,
    },
    {
        title: "kvm on a virtual AWS instance type",
        change: (c) => {
            clusters(c)[0].instanceType = "t3.large";
        },
        key: "edgeClusters[0].hypervisor",
        says: /kvm needs a metal instance type/,
    },
    {
        title: "two edge clusters with one name",
        change: (c) => {
            clusters(c)[1].name = "london";
        },
        key: "edgeClusters[1].name",
        says: /already the name of edgeClusters\[0\]/,
    },
    {
        title: "another cloud's key on an AWS cluster",
        change: (c) => {
            clusters(c)[0].size = "s-2vcpu-4gb";
        },
        key: "edgeClusters[0].size",
        says: /is not a known key; known keys here: .*instanceType/,
    },
    {
        title: "a misspelt top-level key",
        change: (c) => {
            c[`${N}edgeCluster`] = c[`${N}edgeClusters`];
        },
        key: "edgeCluster",
        says: /is not a known key; known keys here: .*edgeClusters/,
    },
    {
        title: "no edge clusters",
        change: (c) => {
            c[`${N}edgeClusters`] = [];
        },
        key: "edgeClusters",
        says: /at least one edge cluster/,
    },
    {
        title: "an OpenNebula version YAML read as a number",
        change: (c) => {
            c[`${N}opennebula`].version = 6.1;
        },
        key: "opennebula.version",
        says: /must be one of 6\.10, 7\.0 \(got 6\.1\) — quote it/,
    },
    {
        title: "a front-end address that is no address",
        change: (c) => {
            c[`${N}opennebula`].frontendAddresses = ["10.0.1.87", "fe1"];
        },
        key: "opennebula.frontendAddresses[1]",
        says: /must be an IPv4 or IPv6 address or CIDR/,
    },
    {
        title: "a host firewall trusting something that is no address",
        change: (c) => {
            clusters(c)[0].firewall = { trustedSources: ["anyone"] };
        },
        key: "edgeClusters[0].firewall.trustedSources[0]",
        says: /must be an IPv4 or IPv6 address or CIDR/,
    },
    {
        title: "an endpoint without scheme",
        change: (c) => {
            c[`${N}opennebula`].endpoint = "frontend:2633";
        },
        key: "opennebula.endpoint",
        says: /XML-RPC URL/,
    },
    {
        title: "a malformed SSH public key",
        change: (c) => {
            c[`${N}ssh`].publicKey = "not a key";
        },
        key: "ssh.publicKey",
        says: /OpenSSH public key line/,
    },
    {
        title: "the OpenNebula password not set",
        change: () => undefined,
        secrets: { sshPrivateKey: SECRETS.sshPrivateKey },
        key: "onePassword",
        says: /is required: the OpenNebula password \(pulumi config set --secret opennebula-edge:onePassword\)/,
    },
    {
        title: "the SSH private key empty",
        change: () => undefined,
        secrets: { onePassword: SECRETS.onePassword, sshPrivateKey: "" },
        key: "sshPrivateKey",
        says: /is required/,
    },
    {
        title: "sharedCluster that is not a boolean",
        change: (c) => {
            c[`${N}sharedCluster`] = "yes";
        },
        key: "sharedCluster",
        says: /must be a boolean \(got "yes"\)/,
    },
    {
        title: "an ingress address that is neither IP nor name",
        change: (c) => {
            c[`${N}overlay`].ingress.publicIp = "13.58.199.98:51820";
        },
        key: "overlay.ingress.publicIp",
        says: /IPv4 address or a DNS name/,
    },
    {
        title: "an unknown topology",
        change: (c) => {
            c[`${N}overlay`].topology = "star";
        },
        key: "overlay.topology",
        says: /must be one of mesh, hub/,
    },
    {
        title: "a WireGuard subnet too small for the nodes",
        change: (c) => {
            c[`${N}overlay`].subnet = "192.168.0.0/31";
        },
        key: "overlay.subnet",
        says: /has 2 usable addresses but the ingress and hosts need 3/,
    },
    {
        title: "an underlay MTU that leaves guests below 1280",
        change: (c) => {
            c[`${N}overlay`].underlayMtu = 1300;
        },
        key: "overlay.underlayMtu",
        says: /must be at least/,
    },
    {
        title: "the EVPN network overlapping the WireGuard subnet",
        change: (c) => {
            c[`${N}overlay`].subnet = "172.17.2.0/24";
        },
        key: "privateNetwork.network",
        says: /overlaps the mesh's wg subnet/,
    },
    {
        title: "more leases than the EVPN network holds",
        change: (c) => {
            c[`${N}privateNetwork`].addressRange.size = 300;
        },
        key: "privateNetwork.addressRange.size",
        says: /must be an integer from 1 to 254 \(got 300\)/,
    },
    {
        title: "a VNI out of range",
        change: (c) => {
            c[`${N}privateNetwork`].vlanId = 0;
        },
        key: "privateNetwork.vlanId",
        says: /must be an integer from 1 to 16777215 \(got 0\)/,
    },
    {
        title: "a private network without an overlay",
        change: (c) => {
            delete c[`${N}overlay`];
        },
        key: "privateNetwork",
        says: /needs overlay/,
    },
    {
        title: "sharedClusterName with sharedCluster false",
        change: (c) => {
            c[`${N}sharedCluster`] = false;
        },
        key: "sharedClusterName",
        says: /applies only with sharedCluster true/,
    },
    {
        title: "a router without a private network",
        change: (c) => {
            delete c[`${N}privateNetwork`];
        },
        key: "router",
        says: /needs privateNetwork/,
    },
    {
        title: "a router on an edge cluster that does not exist",
        change: (c) => {
            c[`${N}router`].edgeCluster = "paris";
        },
        key: "router.edgeCluster",
        says: /one of london, ncalifornia \(got "paris"\)/,
    },
    {
        title: "a router on an edge cluster without public IPs",
        change: (c) => {
            clusters(c)[0].publicIps = 0;
        },
        key: "router.edgeCluster",
        says: /london has no public IPs/,
    },
    {
        title: "more SDNAT mappings than public IPs",
        change: (c) => {
            clusters(c)[0].publicIps = 2;
            c[`${N}router`].mappings = [{ privateIp: "172.17.2.10" }, { privateIp: "172.17.2.11" }];
        },
        key: "router.mappings",
        says: /SDNAT may map only 1 public address/,
    },
    {
        title: "a mapping to the router's own address",
        change: (c) => {
            c[`${N}router`].mappings = [{ privateIp: "172.17.2.1" }];
        },
        key: "router.mappings[0].privateIp",
        says: /router's own private address/,
    },
    {
        title: "an appliance given both as a template and as an export",
        change: (c) => {
            c[`${N}router`].appliance = { templateId: 7, appName: "Service Virtual Router" };
        },
        key: "router.appliance",
        says: /give either templateId/,
    },
    {
        title: "a router on a DigitalOcean edge cluster",
        change: (c) => {
            clusters(c)[1] = { name: "fra", cloud: "digitalocean", region: "fra1" };
            c[`${N}router`].edgeCluster = "fra";
        },
        key: "router.edgeCluster",
        says: /fra is on digitalocean, which forwards ports/,
    },
    {
        title: "a DigitalOcean cluster asking for kvm",
        change: (c) => {
            c[`${N}edgeClusters`] = [{ name: "fra", cloud: "digitalocean", region: "fra1", hypervisor: "kvm" }];
            delete c[`${N}sharedClusterName`];
            c[`${N}sharedCluster`] = false;
        },
        key: "edgeClusters[0].hypervisor",
        says: /kvm needs hardware virtualization, which DigitalOcean droplets do not expose \(no nested KVM\).* \(got "kvm"\)/,
    },
    {
        title: "an AWS VPC that is not a /16 (the component's own rule, in its own schema)",
        change: (c) => {
            clusters(c)[1].vpcCidr = "10.0.0.0/24";
        },
        key: "edgeClusters[1].vpcCidr",
        says: /must have a prefix length from \/16 to \/16 \(got \/24\)/,
    },
    {
        title: "Vultr metal with public IPs but no uplink interface (the component's own rule, in its own schema)",
        change: (c) => {
            c[`${N}edgeClusters`] = [{ name: "ams", cloud: "vultr", region: "ams", mode: "metal", publicIps: 1 }];
            delete c[`${N}sharedClusterName`];
            c[`${N}sharedCluster`] = false;
            c[`${N}router`].edgeCluster = "ams";
        },
        key: "edgeClusters[0].uplinkInterface",
        says: /is required in mode metal/,
    },
];

/** Runs the main program under mocks (see runCounting); returns its error and what it registered. */
async function runRejected(config: Config, secrets: Record<string, string>): Promise<Outcome> {
    try {
        return await runCounting(
            () => setStackConfig(config, secrets),
            () => stackProgram(),
        );
    } finally {
        pulumi.runtime.setAllConfig({}, []);
    }
}

describe("main stack program: invalid stack configurations", function () {
    this.timeout(60_000);

    for (const testCase of CASES) {
        it(`rejects ${testCase.title}, naming ${N}${testCase.key}`, async function () {
            const config = copyOf(stackFileConfig("multi-edge"));
            testCase.change(config);
            const { error, registered } = await runRejected(config, testCase.secrets ?? SECRETS);
            assert.ok(error instanceof StackConfigError, `expected a StackConfigError, got ${String(error)}`);
            const line = error.message.split("\n").find((l) => l.startsWith(`${N}${testCase.key}: `));
            assert.ok(line, `no line names ${N}${testCase.key}:\n${error.message}`);
            assert.match(line!, testCase.says);
            assert.ok(error.issues.some((issue) => issue.key === `${N}${testCase.key}`));
            assert.deepStrictEqual(registered, [], "nothing, not even a provider, is registered before the error");
            assertNoSecrets(error.message, [SECRETS.onePassword, SECRETS.sshPrivateKey], "the error");
        });
    }

    it("reports every bad key the schema finds at once, one line each", function () {
        const raw: Record<string, unknown> = {
            opennebula: {
                endpoint: "http://fe:2633/RPC2",
                frontendSshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests oneadmin@fe",
                version: "8.0",
            },
            ssh: { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests me" },
            edgeClusters: [
                { name: "a", cloud: "aws", region: "mars-1" },
                { name: "b", cloud: "vultr", region: "ams", instanceType: "c5.metal" },
            ],
        };
        assert.throws(
            () => checkStackSettings(raw),
            (error: unknown) => {
                assert.ok(error instanceof StackConfigError);
                assert.deepStrictEqual(error.issues.map((issue) => issue.key).sort(), [
                    `${N}edgeClusters[0].region`,
                    `${N}edgeClusters[1].instanceType`,
                    `${N}onePassword`,
                    `${N}opennebula.version`,
                ]);
                assert.strictEqual(error.message.split("\n").length, 4);
                return true;
            },
        );
    });

    it("never shows a secret's value, even when it has the wrong type", function () {
        const raw = { onePassword: 123456789, sshPrivateKey: ["-----BEGIN", "SECRET-MATERIAL"] };
        assert.throws(
            () => checkStackSettings(raw),
            (error: unknown) => {
                assert.ok(error instanceof StackConfigError);
                assert.match(error.message, /opennebula-edge:onePassword: must be a string/);
                assert.ok(!error.message.includes("123456789") && !error.message.includes("SECRET-MATERIAL"), error.message);
                return true;
            },
        );
    });

    it("spells keys as pulumi config does", function () {
        assert.strictEqual(keyOf(["edgeClusters", 1, "region"]), "opennebula-edge:edgeClusters[1].region");
        assert.strictEqual(keyOf(["overlay", "ingress", "publicIp"]), "opennebula-edge:overlay.ingress.publicIp");
        assert.strictEqual(keyOf(["onePassword"]), "opennebula-edge:onePassword");
    });
});
