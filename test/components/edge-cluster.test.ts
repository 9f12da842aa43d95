import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { EdgeCluster } from "../../components/edge/edge-cluster";
import type { EdgeClusterArgs, EdgeHost } from "../../components/edge/types";
import { runProgram } from "../support/pulumi-mocks";
import { ONEADMIN_KEY } from "../support/fixtures";

const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----";

/** A stand-in for a cloud machine. */
class Machine extends pulumi.CustomResource {
    constructor(name: string) {
        super("test:cloud:Machine", name, {});
    }
}

/** `count` hosts, each behind a stand-in machine resource. */
function machines(count: number): EdgeHost[] {
    return Array.from({ length: count }, (_, i) => {
        const machine = new Machine(`machine-${i}`);
        return {
            key: `host-${i}`,
            publicIp: pulumi.output(`203.0.113.${10 + i}`),
            privateIp: `10.0.0.${4 + i}`,
            sshUser: "ubuntu",
            machineId: `i-${i}`,
            dependsOn: [machine],
        };
    });
}

function args(hosts: EdgeHost[], extra: Partial<EdgeClusterArgs> = {}): EdgeClusterArgs {
    return {
        hosts,
        ssh: { privateKey: SSH_KEY },
        opennebula: {
            frontendSshPublicKey: ONEADMIN_KEY,
            connection: { endpoint: "http://fe:2633/RPC2", username: "oneadmin", password: pulumi.secret("pw") },
        },
        publicNetwork: { addressRanges: [{ TYPE: "IP4", IP: "10.0.1.16", SIZE: 4 }] },
        ...extra,
    };
}

const COMMAND = "command:remote:Command";
const HOST = "pulumi-nodejs:dynamic/opennebula-edge:Host";

describe("EdgeCluster (mocks)", function () {
    it("configures each host in order, then registers cluster, hosts, datastores, public network and shared datastores", async function () {
        const program = await runProgram(() => new EdgeCluster("ec", args(machines(2))));
        const names = program.resources.map((r) => r.name);
        for (const key of ["host-0", "host-1"]) {
            const steps = ["repo", "node", "oneadmin-key", "sysctl", "firewall"].map((role) => `ec-${key}-${role}`);
            steps.forEach((step, i) => {
                assert.ok(names.includes(step), step);
                assert.strictEqual(program.named(step).parent, "ec");
                if (i > 0)
                    assert.deepStrictEqual(
                        program.named(step).dependsOn.filter((d) => d.startsWith("ec-")),
                        [steps[i - 1]],
                    );
            });
            assert.ok(program.dependsOn(steps[0], `machine-${key.slice(-1)}`), "configuration waits for the machine");
            assert.ok(program.dependsOn(`ec-${key}`, steps[4]), "the OpenNebula host waits for its configuration");
        }
        assert.ok(!program.dependsOn("ec-host-1", "ec-host-0-firewall"), "hosts do not wait for each other");
        assert.deepStrictEqual(
            program.ofType(HOST).map((h) => h.inputs.name),
            ["203.0.113.10", "203.0.113.11"],
        );
        assert.deepStrictEqual(
            program.ofType(HOST).map((h) => h.inputs.imMad),
            ["kvm", "kvm"],
        );
        assert.strictEqual(program.named("ec-cluster").inputs.name, "ec");
        assert.strictEqual(program.named("ec-system").inputs.template.REPLICA_HOST, "203.0.113.10", "the first host's real name");
        assert.strictEqual(program.named("ec-system").inputs.type, "SYSTEM_DS");
        assert.strictEqual(program.named("ec-image").inputs.dsMad, "fs");
        assert.deepStrictEqual(program.named("ec-public").inputs.template, { BRIDGE: "br0", NETROLE: "public" });
        assert.deepStrictEqual(
            ["ec-shared-ds-1", "ec-shared-ds-2"].map((n) => program.named(n).inputs.memberId),
            [1, 2],
        );
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))) {
            assert.ok(program.dependsOn(r.name, "ec-cluster") || r.name === "ec-cluster", `${r.name} belongs to the cluster`);
        }
    });

    it("keeps the SSH key and the OpenNebula password secret, and out of every command text", async function () {
        const program = await runProgram(() => new EdgeCluster("ec", args(machines(1))));
        for (const cmd of program.ofType(COMMAND)) {
            assert.ok(cmd.secretInputs.includes("connection"), `${cmd.name}: connection is secret`);
            assert.ok(
                !cmd.inputs.create.includes("PRIVATE KEY") && !cmd.inputs.stdin.includes("c2VjcmV0LWtleS1tYXRlcmlhbA"),
                `${cmd.name}: no key in create/stdin`,
            );
            assert.match(cmd.inputs.create, /^sudo bash -s$/);
            assert.strictEqual(cmd.inputs.addPreviousOutputInEnv, false, `${cmd.name}: no earlier output as an SSH variable`);
            assert.strictEqual(cmd.inputs.logging, "stdoutAndStderr", `${cmd.name}: the script's output is logged`);
        }
        for (const r of program.resources.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic"))) {
            assert.ok(r.secretInputs.includes("connection"), `${r.name}: the OpenNebula connection is secret`);
        }
    });

    it("applies each kind of child's transform to every child of that kind, and to no other", async function () {
        const seen: string[] = [];
        const program = await runProgram(
            () =>
                new EdgeCluster(
                    "ec",
                    args(machines(2), {
                        transform: {
                            hostCommand: (commandArgs, _opts, name) => {
                                seen.push(name);
                                commandArgs.triggers = [name];
                            },
                            host: { template: { EDGE: { ROLE: "transformed" } } },
                            datastore: (datastoreArgs) => void (datastoreArgs.template = { SAFE_DIRS: "/srv" }),
                            cluster: (_clusterArgs, opts) => void (opts.protect = true),
                        },
                    }),
                ),
        );
        const commands = program.ofType(COMMAND);
        assert.deepStrictEqual(seen.sort(), commands.map((c) => c.name).sort(), "the command transform saw every host command, by name");
        for (const cmd of commands) assert.deepStrictEqual(cmd.inputs.triggers, [cmd.name]);
        assert.deepStrictEqual(
            program.ofType(HOST).map((h) => h.inputs.template),
            [{ EDGE: { ROLE: "transformed" } }, { EDGE: { ROLE: "transformed" } }],
            "a partial transform is merged over the arguments",
        );
        assert.deepStrictEqual(
            ["ec-image", "ec-system"].map((n) => program.named(n).inputs.template),
            [{ SAFE_DIRS: "/srv" }, { SAFE_DIRS: "/srv" }],
        );
        assert.strictEqual((program.named("ec-cluster").resource as unknown as { __protect?: boolean }).__protect, true, "options too");
        assert.deepStrictEqual(
            program.named("ec-public").inputs.template,
            { BRIDGE: "br0", NETROLE: "public" },
            "kinds without a transform are untouched",
        );
    });

    it("joins an existing cluster instead of creating one, and leaves its shared datastores alone", async function () {
        const program = await runProgram(() => new EdgeCluster("ec", args(machines(1), { cluster: { existingClusterId: 105 } })));
        assert.strictEqual(program.ofType("pulumi-nodejs:dynamic/opennebula-edge:Cluster").length, 0);
        assert.strictEqual(program.named("ec-host-0").inputs.clusterId, 105);
        assert.deepStrictEqual(program.named("ec-image").inputs.clusterIds, [105]);
        assert.strictEqual(program.ofType("pulumi-nodejs:dynamic/opennebula-edge:ClusterMembership").length, 0);
    });

    const bad: [string, (a: EdgeClusterArgs) => void, RegExp][] = [
        ["no hosts", (a) => (a.hosts = []), /^hosts: must list at least one host/],
        [
            "duplicate keys",
            (a) => (a.hosts[1].key = a.hosts[0].key),
            /^hosts\[1\]\.key: duplicate host key "host-0" \(already used by hosts\[0\]\.key\)/,
        ],
        ["bad key", (a) => (a.hosts[0].key = "Host 0"), /^hosts\[0\]\.key: must be 1-32 lower-case/],
        ["missing public IP", (a) => (a.hosts[0].publicIp = ""), /^hosts\[0\]\.publicIp: is required/],
        ["missing front-end key", (a) => (a.opennebula.frontendSshPublicKey = ""), /^opennebula\.frontendSshPublicKey: is required/],
        ["missing SSH key", (a) => (a.ssh.privateKey = ""), /^ssh\.privateKey: is required/],
        ["unknown hypervisor", (a) => (a.hypervisor = "xen" as never), /^hypervisor: must be one of kvm, qemu, lxc/],
        ["unknown version", (a) => (a.opennebula.version = "6.8" as never), /^opennebula\.version: must be one of 6\.10, 7\.0/],
        ["unknown firewall mode", (a) => (a.firewall = { mode: "closed" as never }), /^firewall\.mode: must be one of strict, open/],
        [
            "bad cluster id",
            (a) => (a.cluster = { existingClusterId: -1 }),
            /^cluster\.existingClusterId: must be an integer from 0 to 2147483647 \(got -1\)/,
        ],
        ["name and existing id", (a) => (a.cluster = { name: "x", existingClusterId: 1 }), /^cluster: give either name/],
    ];
    for (const [label, mutate, message] of bad) {
        it(`rejects ${label} before registering anything`, async function () {
            let error: Error | undefined;
            const program = await runProgram(() => {
                const a = args([]);
                a.hosts = [0, 1].map((i) => ({
                    key: `host-${i}`,
                    publicIp: `203.0.113.${i}`,
                    privateIp: "10.0.0.4",
                    sshUser: "root",
                    machineId: "x",
                }));
                mutate(a);
                try {
                    new EdgeCluster("ec", a);
                } catch (err) {
                    error = err as Error;
                }
            });
            assert.match(error?.message ?? "no error", message);
            assert.deepStrictEqual(
                program.resources.map((r) => r.name),
                [],
                "nothing registered",
            );
        });
    }

    it("rejects a malformed front-end key with an error naming it", async function () {
        await assert.rejects(
            runProgram(() => new EdgeCluster("ec", args(machines(1), { opennebula: { frontendSshPublicKey: "not a key" } }))),
            /^ConfigError: opennebula\.frontendSshPublicKey: must be one OpenSSH public key line/,
        );
    });

    it("keeps the chain of waiting resources as long for 50 hosts as for 1", async function () {
        // The time this chain takes is measured by the critical-path benchmark, not here: timed
        // tests fail on a busy shared machine.
        const measure = async (count: number) => runProgram(() => new EdgeCluster("ec", args(machines(count))));
        const one = await measure(1);
        const fifty = await measure(50);
        assert.strictEqual(fifty.criticalPath(), one.criticalPath(), "adding hosts adds no link to the chain");
        assert.ok(one.criticalPath() >= 5, `a chain of ${one.criticalPath()} resources`);
    });
});
