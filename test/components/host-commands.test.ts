/**
 * Every command the package runs on a host, across the whole stack program (every cloud, the
 * overlay, the fabric) under mocks: each one that changes a host has a delete that runs the same
 * script with `ACTION=delete` from the same standard input; the create-only ones are exactly the
 * package installers; the scripts that re-apply themselves at boot are asked to write their boot
 * units; the overlay's port is the one every firewall opens; and a host removed from the mesh is
 * dropped from the others' configurations while its own commands go (their deletes take it down).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import { readStackSettings } from "../../programs/main/config";
import { buildEdgeStack } from "../../programs/main/program";
import { WireGuardMesh } from "../../components/overlay/wireguard-mesh";
import { CREATE_ONLY_SCRIPTS, hasUndo, hostScriptsDir } from "../../components/remote/host-script";
import type { RecordedProgram, RecordedResource } from "../support/pulumi-mocks";
import { diffPrograms } from "../support/pulumi-mocks";
import { environmentOf, hostScriptNames, scriptNameOf } from "../support/stdin";
import { COMMAND, FOURTH_HOST, SSH_KEY, fakePublicKey, runOverlay, seedNodes } from "./overlay-fixtures";
import { copyOf, runWithConfig, stackFileConfig } from "../programs/stack-support";

const N = "opennebula-edge:";

/** The multi-edge example with a cluster on every cloud, restricted cloud firewalls and the overlay on port 51821. */
function everyCloudConfig(): Record<string, unknown> {
    const config = copyOf(stackFileConfig("multi-edge"));
    config[`${N}edgeClusters`] = [
        { name: "london", cloud: "aws", region: "eu-west-2", hostCount: 1, publicIps: 2, cloudFirewall: { mode: "restricted" } },
        { name: "fra", cloud: "digitalocean", region: "fra1", hostCount: 1, cloudFirewall: { mode: "restricted" } },
        { name: "ams", cloud: "vultr", region: "ams", hostCount: 1, publicIps: 1, cloudFirewall: { mode: "restricted" } },
        { name: "par", cloud: "scaleway", zone: "fr-par-2", hostCount: 1, publicIps: 1 },
    ];
    (config[`${N}overlay`] as Record<string, unknown>).listenPort = 51821;
    (config[`${N}opennebula`] as Record<string, unknown>).frontendAddresses = ["198.51.100.7"];
    return config;
}

async function everyCloud(): Promise<RecordedProgram> {
    return (await runWithConfig(everyCloudConfig(), () => buildEdgeStack(readStackSettings()))).program;
}

/** The script each command runs, by command name. */
function scripts(program: RecordedProgram): Map<string, string> {
    return new Map(program.ofType(COMMAND).map((cmd) => [cmd.name, scriptNameOf(cmd.inputs.stdin)]));
}

describe("host commands: undo, boot units and the overlay's port, across the stack program (mocks)", function () {
    let program: RecordedProgram;
    let byScript: Map<string, string>;

    before(async function () {
        program = await everyCloud();
        byScript = scripts(program);
    });

    it("runs every host script of the package somewhere, and knows for each whether it has an undo", function () {
        assert.deepEqual([...new Set(byScript.values())].sort(), hostScriptNames());
        // The scripts themselves agree: exactly the create-only ones refuse ACTION=delete.
        for (const name of hostScriptNames()) {
            const text = fs.readFileSync(path.join(hostScriptsDir(), name), "utf8");
            const actions = /^\s*read_action (.+)$/m.exec(text)?.[1].split(" ");
            assert.ok(actions, `${name} reads ACTION`);
            assert.equal(actions.includes("delete"), hasUndo(name), `${name}: accepts delete exactly when the package undoes it`);
        }
    });

    it("gives every command that changes a host a delete: the same script, ACTION=delete, from the same standard input", function () {
        const undone: string[] = [];
        for (const cmd of program.ofType(COMMAND)) {
            const script = byScript.get(cmd.name)!;
            if (!hasUndo(script)) continue;
            undone.push(cmd.name);
            assert.match(cmd.inputs.create, /^(sudo )?bash -s$/, cmd.name);
            assert.equal(
                cmd.inputs.delete,
                cmd.inputs.create.replace("bash -s", "env ACTION=delete bash -s"),
                `${cmd.name}: delete runs ${script} as its undo`,
            );
            // The command provider runs `delete` with the inputs stored in state, stdin included
            // (pulumi-command's Delete runs with the state's CommandInputs): one input for both.
            assert.ok(
                typeof cmd.inputs.stdin === "string" && cmd.inputs.stdin.length > 0,
                `${cmd.name} has the standard input its delete reads`,
            );
            assert.equal(
                environmentOf(cmd.inputs.stdin).ACTION,
                undefined,
                `${cmd.name}: ACTION comes from the command line, not the stored input`,
            );
        }
        const roles = [...new Set(undone.map((name) => byScript.get(name)!))].sort();
        assert.deepEqual(roles, [
            "firewall.sh",
            "frr-apply.sh",
            "oneadmin-key.sh",
            "opennebula-repo.sh",
            "public-forwarding.sh",
            "scaleway-private-vlan.sh",
            "sysctl.sh",
            "wireguard-up.sh",
        ]);
    });

    it("leaves exactly the package installers create-only: no delete, so removing them leaves the packages", function () {
        const createOnly = program
            .ofType(COMMAND)
            .filter((cmd) => cmd.inputs.delete === undefined)
            .map((cmd) => cmd.name)
            .sort();
        const expected = [
            ...["london-one-host-0", "fra-one-host-0", "ams-one-host-0", "par-one-host-0"].map((host) => `${host}-node`),
            ...["ingress", "london-host-0", "fra-host-0", "ams-host-0", "par-host-0"].flatMap((node) => [
                `overlay-install-${node}`,
                `fabric-install-${node}`,
            ]),
        ].sort();
        assert.deepEqual(createOnly, expected);
        assert.deepEqual([...new Set(createOnly.map((name) => byScript.get(name)!))].sort(), [...CREATE_ONLY_SCRIPTS].sort());
    });

    it("asks the firewall, forwarding and WireGuard commands to write their boot units", function () {
        const booted = program
            .ofType(COMMAND)
            .filter((cmd) => environmentOf(cmd.inputs.stdin).BOOT_UNITS === "yes")
            .map((cmd) => byScript.get(cmd.name)!);
        assert.deepEqual([...new Set(booted)].sort(), ["firewall.sh", "public-forwarding.sh", "wireguard-up.sh"]);
        const configs = program.ofType(COMMAND).filter((cmd) => cmd.name.startsWith("overlay-config-"));
        assert.equal(configs.length, 5);
        assert.ok(
            configs.every((cmd) => environmentOf(cmd.inputs.stdin).BOOT_UNITS === "yes"),
            "every WireGuard configuration, the ingress's too",
        );
        const keys = program.ofType(COMMAND).filter((cmd) => cmd.name.startsWith("overlay-key-"));
        assert.ok(
            keys.every((cmd) => environmentOf(cmd.inputs.stdin).BOOT_UNITS === undefined),
            "a key needs no boot unit",
        );
    });

    it("opens a non-default listenPort everywhere: every host firewall, every restricted cloud firewall, every WireGuard config", function () {
        const firewalls = program.ofType(COMMAND).filter((cmd) => byScript.get(cmd.name) === "firewall.sh");
        assert.equal(firewalls.length, 4);
        for (const cmd of firewalls) {
            const env = environmentOf(cmd.inputs.stdin);
            assert.equal(env.FIREWALL_WIREGUARD_PORT, "51821", cmd.name);
            assert.ok(env.FIREWALL_TRUSTED_SOURCES.split(" ").includes("192.168.0.0/24"), `${cmd.name} trusts the overlay's subnet`);
            assert.ok(env.FIREWALL_TRUSTED_SOURCES.split(" ").includes("198.51.100.7/32"), `${cmd.name} trusts the front-end`);
        }
        const wireguardRule = (rules: any[], port: (rule: any) => unknown) => rules.filter((rule) => rule.protocol === "udp").map(port);
        assert.deepEqual(
            wireguardRule(program.named("london-sg").inputs.ingress, (rule) => rule.fromPort),
            [51821],
        );
        assert.deepEqual(
            wireguardRule(program.named("fra-firewall").inputs.inboundRules, (rule) => rule.portRange),
            ["51821"],
        );
        assert.deepEqual(
            program
                .ofType("vultr:index/firewallRule:FirewallRule")
                .filter((rule) => rule.inputs.protocol === "udp")
                .map((rule) => rule.inputs.port),
            ["51821"],
        );
        for (const cmd of program.ofType(COMMAND).filter((c) => c.name.startsWith("overlay-config-"))) {
            const config = environmentOf(cmd.inputs.stdin).WG_CONFIG;
            assert.match(config, /^ListenPort = 51821$/m, cmd.name);
            assert.ok(
                [...config.matchAll(/^Endpoint = (\S+)$/gm)].every((m) => m[1].endsWith(":51821")),
                `${cmd.name}: peers are reached on 51821`,
            );
        }
    });
});

describe("WireGuardMesh commands: replacement and removal (mocks)", function () {
    it("replaces the key and config commands when the interface name changes, deleting the old one first", async function () {
        const seen: Record<string, { triggers: unknown; deleteBeforeReplace: unknown }> = {};
        const record = (args: command.remote.CommandArgs, opts: pulumi.CustomResourceOptions, name: string) => {
            seen[name] = { triggers: args.triggers, deleteBeforeReplace: opts.deleteBeforeReplace };
        };
        const program = await runOverlay(
            () =>
                new WireGuardMesh("overlay", {
                    ...seedNodes(),
                    ssh: { privateKey: SSH_KEY },
                    interfaceName: "wgedge",
                    transform: { keyCommand: record, configCommand: record, installCommand: record },
                }),
        );
        for (const node of ["ingress", "kvm-london", "kvm-ncalifornia"]) {
            assert.deepEqual(seen[`overlay-key-${node}`], { triggers: ["wgedge"], deleteBeforeReplace: true });
            assert.deepEqual(seen[`overlay-config-${node}`], { triggers: ["wgedge"], deleteBeforeReplace: true });
            assert.equal(seen[`overlay-install-${node}`].triggers, undefined, "installing has nothing to replace");
            assert.deepEqual(program.named(`overlay-config-${node}`).inputs.triggers, ["wgedge"]);
        }
    });

    it("removing a host: the others drop it as a peer (their config re-runs), its own key and config commands go with their deletes", async function () {
        const { ingress, hosts } = seedNodes();
        const mesh = (nodes: typeof hosts) =>
            runOverlay(() => new WireGuardMesh("overlay", { ingress, hosts: nodes, ssh: { privateKey: SSH_KEY } }));
        const before = await mesh([...hosts, FOURTH_HOST]);
        const after = await mesh(hosts);
        const commands = (r: RecordedResource) => r.type === COMMAND;
        const diff = diffPrograms(before, after, commands);
        assert.deepEqual(diff.removed, ["overlay-config-kvm-frankfurt", "overlay-install-kvm-frankfurt", "overlay-key-kvm-frankfurt"]);
        assert.deepEqual(diff.changed, ["overlay-config-ingress", "overlay-config-kvm-london", "overlay-config-kvm-ncalifornia"]);
        const frankfurtKey = fakePublicKey("kvm-frankfurt");
        for (const name of diff.changed) {
            assert.ok(environmentOf(before.named(name).inputs.stdin).WG_CONFIG.includes(frankfurtKey), `${name} had the host as a peer`);
            assert.ok(
                !environmentOf(after.named(name).inputs.stdin).WG_CONFIG.includes(frankfurtKey),
                `${name} no longer has it (wg syncconf removes the peer)`,
            );
        }
        const gone = before.named("overlay-config-kvm-frankfurt");
        assert.equal(gone.inputs.delete, "env ACTION=delete bash -s", "its delete takes its wg0 down");
        assert.equal(before.named("overlay-key-kvm-frankfurt").inputs.delete, "env ACTION=delete bash -s", "and removes its key");
        assert.equal(before.named("overlay-install-kvm-frankfurt").inputs.delete, undefined, "the tools stay installed");
    });
});
