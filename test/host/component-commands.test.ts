/**
 * The components' own host commands, run for real: an edge cluster's host (sysctls, the oneadmin
 * key, the firewall with the cluster's allow-list, routed public forwarding), the WireGuard mesh
 * and the EVPN fabric on it and on an ingress are rendered under Pulumi mocks exactly as a
 * `pulumi up` would send them; then each command's `create` line runs in a network namespace with
 * its standard input (as root over SSH), and afterwards, in reverse order, its `delete` line with
 * the same standard input (as `pulumi destroy` or a removal runs it). Each namespace must be back
 * to what it was before: rules, routes, proxy entries, links, sysctls, files and processes.
 *
 * A Scaleway host's commands (its private VLAN, firewall and host-side NAT) go the same way.
 *
 * Not run here: opennebula-repo.sh (downloads OpenNebula's signing key; its create and delete are
 * run with a local root in delete.test.ts) and the create-only installers (apt).
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as scaleway from "@pulumiverse/scaleway";
import { ScalewayEdgeCluster } from "../../components/clouds/scaleway";
import { EdgeCluster } from "../../components/edge/edge-cluster";
import { overlayFirewall } from "../../components/edge/firewall-plan";
import { EvpnFabric } from "../../components/overlay/evpn-fabric";
import { WireGuardMesh } from "../../components/overlay/wireguard-mesh";
import type { RecordedProgram, RecordedResource } from "../support/pulumi-mocks";
import { runProgram } from "../support/pulumi-mocks";
import { scriptNameOf } from "../support/stdin";
import { hostOutputs } from "../components/overlay-fixtures";
import { MockCloud } from "../programs/stack-support";
import { Lab, exec, files, hasCommand, mustExec, netnsSkipReason, processNames, snapshot } from "./netns";

const ONEADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpJgVSGsvRr0s0aGm2f6gX4b8I2XRvC7e0jGz5y7P1x oneadmin@front-end";
const WATCHED = [
    "/etc/systemd/system",
    "/etc/opennebula-edge",
    "/etc/sysctl.d",
    "/etc/modules-load.d",
    "/etc/wireguard",
    "/etc/frr",
    "/etc/ssh",
    "/var/lib/opennebula-edge",
    "/var/lib/one",
    "/run/frr",
];
const HOST_PUBLIC = "198.51.100.2";
const INGRESS_PUBLIC = "10.200.0.1";

/** Everything a host command may change, as one comparable text. */
function state(ns: string): string {
    return `${snapshot(ns)}\n## files\n${files(ns, WATCHED)}\n## processes\n${processNames(ns).join(" ")}`;
}

/** A key in PEM form, as the components require (nothing logs in with it: the commands run in namespaces). */
const TEST_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nY29tcG9uZW50LWNvbW1hbmRzLXRlc3Q=\n-----END OPENSSH PRIVATE KEY-----\n";

/** The program a user would write for one host and an ingress, everything as root. */
function program(): void {
    class Machine extends pulumi.CustomResource {
        constructor(name: string) {
            super("test:cloud:Machine", name, {});
        }
    }
    const edge = new EdgeCluster("ec", {
        hosts: [
            {
                key: "host",
                publicIp: HOST_PUBLIC,
                privateIp: "10.0.0.2",
                sshUser: "root",
                machineId: "m-1",
                dependsOn: [new Machine("machine")],
                publicForwarding: { model: "routed", uplink: "up0", publicIps: ["198.51.100.10"] },
            },
        ],
        ssh: { privateKey: TEST_PRIVATE_KEY },
        opennebula: { frontendSshPublicKey: ONEADMIN_KEY, connection: { endpoint: "http://203.0.113.5:2633/RPC2" } },
        privateRange: "10.0.0.0/24",
        overlay: {},
    });
    const mesh = new WireGuardMesh("overlay", {
        ingress: { key: "ingress", publicIp: INGRESS_PUBLIC, sshUser: "root" },
        hosts: [
            { key: "ec-host", publicIp: HOST_PUBLIC, sshUser: "root", dependsOn: [edge.configured.host], firewall: overlayFirewall({}) },
        ],
        ssh: { privateKey: TEST_PRIVATE_KEY },
        implementation: "userspace",
        installTools: false,
    });
    // No init system in a namespace: FRR runs as the lab runs it.
    new EvpnFabric("fabric", { mesh, service: "direct", install: false });
}

/** The commands of one machine, in the order they depend on one another. */
function commandsOn(recorded: RecordedProgram, names: string[]): RecordedResource[] {
    return names.map((name) => recorded.named(name));
}

function runLine(ns: string, line: string, cmd: RecordedResource): string {
    const result = exec(ns, ["sh", "-c", line], { input: cmd.inputs.stdin, timeout: 60_000 });
    if (result.status !== 0) throw new Error(`${cmd.name} (${line}) failed (${result.status}): ${result.stderr.trim()}`);
    return result.stdout;
}

describe("the components' host commands: create, then delete, leave a host as before (namespaces)", function () {
    this.timeout(240_000);
    let lab: Lab;
    let recorded: RecordedProgram;

    before(async function () {
        const tools = ["wg", "wireguard-go", "vtysh", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "/usr/lib/frr/frr-reload.py"];
        const reason = netnsSkipReason() ?? (tools.every(hasCommand) ? undefined : `needs ${tools.join(", ")}`);
        if (reason !== undefined) {
            console.log(`      skipped: component commands ${reason}`);
            this.skip();
        }
        recorded = await runProgram(program, { outputs: hostOutputs });
        lab = new Lab();
    });

    after(function () {
        lab?.destroy();
    });

    it("every command that changes the host and the ingress runs as rendered, and its delete undoes it", function () {
        const host = lab.namespace("cchost");
        const ingress = lab.namespace("ccing");
        const client = lab.namespace("cccli");
        lab.link({ ns: client, dev: "cli0", address: "198.51.100.1/24" }, { ns: host, dev: "up0", address: `${HOST_PUBLIC}/24` });
        lab.link({ ns: ingress, dev: "eth0", address: `${INGRESS_PUBLIC}/24` }, { ns: host, dev: "under0", address: "10.200.0.2/24" });
        const machines = [
            {
                ns: host,
                commands: commandsOn(recorded, [
                    "ec-host-sysctl",
                    "ec-host-oneadmin-key",
                    "ec-host-firewall",
                    "ec-host-forwarding",
                    "overlay-key-ec-host",
                    "overlay-config-ec-host",
                    "fabric-config-ec-host",
                ]),
            },
            { ns: ingress, commands: commandsOn(recorded, ["overlay-key-ingress", "overlay-config-ingress", "fabric-config-ingress"]) },
        ];
        const before = machines.map((machine) => state(machine.ns));

        for (const machine of machines) {
            for (const cmd of machine.commands) {
                assert.ok(cmd.inputs.delete, `${cmd.name} has a delete`);
                runLine(machine.ns, cmd.inputs.create, cmd);
            }
        }
        const created = state(host);
        for (const expected of [
            "-A INPUT -j ONE-EDGE-INPUT",
            "-A ONE-EDGE-INPUT -s 10.0.0.0/24",
            "-A ONE-EDGE-INPUT -s 203.0.113.5/32",
            "-A ONE-EDGE-INPUT -s 192.168.0.0/24",
            "198.51.100.10 dev br0 proto 233",
            "wg0",
            "/etc/opennebula-edge/boot/firewall.sh",
            "/etc/opennebula-edge/boot/wireguard-wg0.sh",
            "/etc/opennebula-edge/boot/public-forwarding.sh",
            "/var/lib/one/.ssh/authorized_keys",
            "/etc/frr/bgpd.conf",
            "bgpd",
            "wireguard-go",
            "zebra",
        ]) {
            assert.ok(created.includes(expected), `created on the host: ${expected}`);
        }
        assert.match(mustExec(ingress, ["wg", "show", "wg0", "listen-port"]), /^51820$/m);
        assert.ok(state(ingress).includes("bgpd"), "the reflector runs");

        for (const [i, machine] of machines.entries()) {
            for (const cmd of [...machine.commands].reverse()) runLine(machine.ns, cmd.inputs.delete, cmd);
            assert.equal(state(machine.ns), before[i], `${machine.ns} is as before`);
        }
        const ran = machines.flatMap((machine) => machine.commands.map((cmd) => scriptNameOf(cmd.inputs.stdin)));
        assert.deepEqual([...new Set(ran)].sort(), [
            "firewall.sh",
            "frr-apply.sh",
            "oneadmin-key.sh",
            "public-forwarding.sh",
            "sysctl.sh",
            "wireguard-up.sh",
        ]);
    });

    it("a Scaleway host: its private VLAN, firewall trusting the private network and host-side NAT, created and deleted as rendered", async function () {
        const cloud = new MockCloud();
        const scw = await runProgram(
            () =>
                new ScalewayEdgeCluster("par", {
                    provider: new scaleway.Provider("scw", { zone: "fr-par-2", region: "fr-par" }),
                    zone: "fr-par-2",
                    hosts: { "host-0": { publicIps: 1 } },
                    sshUser: "root",
                    uplinkInterface: "up0",
                    ssh: { publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIScalewayTestKey admin@example", privateKey: TEST_PRIVATE_KEY },
                    opennebula: { frontendSshPublicKey: ONEADMIN_KEY, connection: { endpoint: "http://203.0.113.5:2633/RPC2" } },
                }),
            cloud.runOptions,
        );
        const host = lab.namespace("ccscw");
        const client = lab.namespace("ccscwc");
        lab.link({ ns: client, dev: "cli0", address: "198.51.100.1/24" }, { ns: host, dev: "up0", address: `${HOST_PUBLIC}/24` });
        const probe = exec(host, ["ip", "link", "add", "link", "up0", "name", "probe0", "type", "vlan", "id", "4000"]);
        const vlans = probe.status === 0;
        exec(host, ["ip", "link", "del", "probe0"]);
        if (!vlans)
            console.log("      (the private VLAN command is left out: this kernel has no 802.1Q VLANs — ip link add … type vlan fails)");
        const names = ["par-one-host-0-sysctl", "par-one-host-0-firewall", "par-one-host-0-forwarding"];
        const commands = commandsOn(scw, vlans ? ["par-host-0-private-vlan", ...names] : names);
        const before = state(host);
        for (const cmd of commands) runLine(host, cmd.inputs.create, cmd);
        const created = state(host);
        const expected = [
            "-A ONE-EDGE-INPUT -s 172.18.0.0/20",
            "-j DNAT --to-destination 172.16.0.1",
            ...(vlans ? ["scwpn0@up0", "opennebula-edge-private-vlan.service"] : []),
        ];
        for (const line of expected) assert.ok(created.includes(line), `created: ${line}`);
        for (const cmd of [...commands].reverse()) runLine(host, cmd.inputs.delete, cmd);
        assert.equal(state(host), before);
    });
});
