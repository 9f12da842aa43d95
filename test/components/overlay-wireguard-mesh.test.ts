/** WireGuardMesh under mocks: children, wiring, rendered configurations, topology and node changes. */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import type { WireGuardMeshArgs } from "../../components/overlay/wireguard-mesh";
import { WIREGUARD_MESH_TYPE, WireGuardMesh, publicKeyFromOutput } from "../../components/overlay/wireguard-mesh";
import {
    COMMAND,
    FOURTH_HOST,
    SSH_KEY,
    compareCommands,
    connectionOf,
    decodeStdin,
    environmentOf,
    fakePublicKey,
    keyDependencies,
    runOverlay,
    seedNodes,
    valueOf,
} from "./overlay-fixtures";

/** A cloud machine whose public IP is known only once it exists. */
class Machine extends pulumi.CustomResource {
    declare readonly publicIp: pulumi.Output<string>;
    constructor(name: string, publicIp: string) {
        super("test:index:Machine", name, { publicIp });
    }
}

const NODE_KEYS = ["ingress", "kvm-london", "kvm-ncalifornia"];

function meshArgs(overrides: Partial<WireGuardMeshArgs> = {}): WireGuardMeshArgs {
    return { ...seedNodes(), ssh: { privateKey: SSH_KEY }, ...overrides };
}

/** The [Peer] blocks of a rendered configuration, by the peer's name comment. */
function peersOf(config: string): Record<string, Record<string, string>> {
    const peers: Record<string, Record<string, string>> = {};
    for (const block of config.split(/\n(?=# )/).slice(1)) {
        const [comment, ...lines] = block.trim().split("\n");
        peers[comment.slice(2)] = Object.fromEntries(
            lines.filter((line) => line.includes(" = ")).map((line) => line.split(" = ") as [string, string]),
        );
    }
    return peers;
}

describe("WireGuardMesh", function () {
    describe("the seed's scenario: ingress + two KVM hosts, full mesh", function () {
        let mesh: WireGuardMesh;
        let program: Awaited<ReturnType<typeof runOverlay>>;

        before(async function () {
            program = await runOverlay(() => {
                mesh = new WireGuardMesh("overlay", meshArgs());
            });
        });

        it("registers one component and, per node, an install, a key and a config command, all its children", function () {
            const component = program.named("overlay");
            assert.equal(component.type, WIREGUARD_MESH_TYPE);
            assert.equal(component.custom, false);
            const expected = NODE_KEYS.flatMap((key) => [`overlay-install-${key}`, `overlay-key-${key}`, `overlay-config-${key}`]).sort();
            assert.deepEqual(
                program
                    .ofType(COMMAND)
                    .map((command) => command.name)
                    .sort(),
                expected,
            );
            assert.equal(program.resources.length, expected.length + 1);
            for (const command of program.ofType(COMMAND)) {
                assert.equal(command.parent, "overlay", `${command.name} is a child of the component`);
            }
        });

        it("orders each node's commands: install, then key, then config", function () {
            for (const key of NODE_KEYS) {
                assert.deepEqual(program.named(`overlay-key-${key}`).dependsOn, [`overlay-install-${key}`]);
                assert.deepEqual(program.named(`overlay-install-${key}`).dependsOn, []);
                assert.ok(program.dependsOn(`overlay-config-${key}`, `overlay-install-${key}`));
            }
        });

        it("makes each config command depend on the key commands of exactly its peers (and its own)", function () {
            for (const key of NODE_KEYS) {
                assert.deepEqual(keyDependencies(program, `overlay-config-${key}`), NODE_KEYS.map((k) => `overlay-key-${k}`).sort());
            }
        });

        it("asks each host for its public key only: WG_KEY_ONLY=1, no configuration, no address", function () {
            for (const key of NODE_KEYS) {
                const run = decodeStdin(program.named(`overlay-key-${key}`).inputs.stdin);
                assert.deepEqual(run.environment, { WG_KEY_ONLY: "1", WG_INTERFACE: "wg0" });
                assert.match(run.script, /^#!\/usr\/bin\/env bash\n# Brings up the overlay's WireGuard interface/);
            }
        });

        it("renders the seed's configurations: addresses in order from 192.168.0.0/24, port 51820, MTU 1420, every other node as peer", function () {
            const publicIps: Record<string, string> = {
                ingress: "13.58.199.98",
                "kvm-london": "18.134.246.200",
                "kvm-ncalifornia": "18.144.25.41",
            };
            const addresses: Record<string, string> = {
                ingress: "192.168.0.1",
                "kvm-london": "192.168.0.2",
                "kvm-ncalifornia": "192.168.0.3",
            };
            for (const key of NODE_KEYS) {
                const environment = environmentOf(program.named(`overlay-config-${key}`));
                assert.equal(environment.WG_ADDRESS, `${addresses[key]}/24`);
                assert.equal(environment.WG_MTU, "1420");
                assert.equal(environment.WG_INTERFACE, "wg0");
                assert.equal(environment.WG_IP_FORWARD, "0");
                assert.equal(environment.WG_IMPLEMENTATION, "auto");
                assert.match(environment.WG_CONFIG, /^\[Interface\]\nListenPort = 51820$/m);
                assert.doesNotMatch(environment.WG_CONFIG, /^\s*PrivateKey/im);
                const peers = peersOf(environment.WG_CONFIG);
                const expectedPeers = NODE_KEYS.filter((other) => other !== key);
                assert.deepEqual(Object.keys(peers).sort(), expectedPeers);
                for (const peer of expectedPeers) {
                    assert.equal(peers[peer].PublicKey, fakePublicKey(peer));
                    assert.equal(peers[peer].AllowedIPs, `${addresses[peer]}/32`);
                    assert.equal(peers[peer].Endpoint, `${publicIps[peer]}:51820`);
                    assert.equal(peers[peer].PersistentKeepalive, key === "ingress" ? undefined : "25");
                }
            }
        });

        it("connects to each node's public IP as its SSH user, as root without sudo", function () {
            for (const key of NODE_KEYS) {
                for (const role of ["install", "key", "config"]) {
                    const command = program.named(`overlay-${role}-${key}`);
                    assert.equal(command.inputs.create, "bash -s");
                    assert.equal(connectionOf(command).user, "root");
                    assert.equal(connectionOf(command).port, 22);
                    assert.equal(connectionOf(command).privateKey, SSH_KEY);
                    assert.equal(command.inputs.addPreviousOutputInEnv, false);
                }
            }
            assert.equal(connectionOf(program.named("overlay-config-kvm-london")).host, "18.134.246.200");
            assert.equal(connectionOf(program.named("overlay-key-ingress")).host, "13.58.199.98");
        });

        it("exposes the plan, the addresses and the public keys by node key", async function () {
            assert.deepEqual(mesh.plan, { subnet: "192.168.0.0/24", topology: "mesh", mtu: 1420, listenPort: 51820, interfaceName: "wg0" });
            assert.deepEqual(mesh.addresses, { ingress: "192.168.0.1", "kvm-london": "192.168.0.2", "kvm-ncalifornia": "192.168.0.3" });
            assert.deepEqual(await valueOf(mesh.publicKeys), Object.fromEntries(NODE_KEYS.map((key) => [key, fakePublicKey(key)])));
            assert.equal(await valueOf(mesh.nodes["kvm-london"].publicKey), fakePublicKey("kvm-london"));
            assert.deepEqual(Object.keys(mesh.nodes), NODE_KEYS);
            assert.equal(mesh.nodes.ingress.role, "ingress");
            assert.ok(
                mesh.wireguardPlan.nodes.every((node) => node.peers.every((peer) => peer.endpoint === undefined)),
                "the exposed plan has no endpoints",
            );
        });
    });

    it("uses sudo for a non-root SSH user", async function () {
        const program = await runOverlay(() => new WireGuardMesh("overlay", { ...seedNodes("ubuntu"), ssh: { privateKey: SSH_KEY } }));
        for (const command of program.ofType(COMMAND)) {
            assert.equal(command.inputs.create, "sudo bash -s", command.name);
            assert.equal(connectionOf(command).user, "ubuntu");
        }
    });

    it("hub topology: hosts peer only with the ingress (the whole subnet), which forwards and peers with every host", async function () {
        const program = await runOverlay(() => new WireGuardMesh("overlay", meshArgs({ topology: "hub" })));
        const ingress = environmentOf(program.named("overlay-config-ingress"));
        assert.equal(ingress.WG_IP_FORWARD, "1");
        assert.deepEqual(Object.keys(peersOf(ingress.WG_CONFIG)).sort(), ["kvm-london", "kvm-ncalifornia"]);
        for (const host of ["kvm-london", "kvm-ncalifornia"]) {
            const environment = environmentOf(program.named(`overlay-config-${host}`));
            assert.equal(environment.WG_IP_FORWARD, "0");
            const peers = peersOf(environment.WG_CONFIG);
            assert.deepEqual(Object.keys(peers), ["ingress"]);
            assert.equal(peers.ingress.AllowedIPs, "192.168.0.0/24");
            assert.equal(peers.ingress.Endpoint, "13.58.199.98:51820");
            assert.equal(peers.ingress.PersistentKeepalive, "25");
            assert.deepEqual(keyDependencies(program, `overlay-config-${host}`), ["overlay-key-ingress", `overlay-key-${host}`].sort());
        }
        assert.deepEqual(keyDependencies(program, "overlay-config-ingress"), NODE_KEYS.map((k) => `overlay-key-${k}`).sort());
    });

    describe("adding a fourth host changes only what must change", function () {
        async function compare(topology: "mesh" | "hub") {
            const three = await runOverlay(() => new WireGuardMesh("overlay", meshArgs({ topology })));
            const four = await runOverlay(
                () => new WireGuardMesh("overlay", meshArgs({ topology, hosts: [...seedNodes().hosts, FOURTH_HOST] })),
            );
            return { three, four, diff: compareCommands(three, four) };
        }

        it("full mesh: every existing node's configuration gains the new peer; keys and installs stay", async function () {
            const { four, diff } = await compare("mesh");
            assert.deepEqual(diff.added, ["overlay-config-kvm-frankfurt", "overlay-install-kvm-frankfurt", "overlay-key-kvm-frankfurt"]);
            assert.deepEqual(diff.changed, NODE_KEYS.map((key) => `overlay-config-${key}`).sort());
            assert.deepEqual(diff.removed, []);
            for (const key of NODE_KEYS) {
                const peers = peersOf(environmentOf(four.named(`overlay-config-${key}`)).WG_CONFIG);
                assert.equal(peers["kvm-frankfurt"].AllowedIPs, "192.168.0.4/32");
                assert.equal(Object.keys(peers).length, 3);
                assert.equal(
                    environmentOf(four.named(`overlay-config-${key}`)).WG_ADDRESS.split("/")[0],
                    { ingress: "192.168.0.1", "kvm-london": "192.168.0.2", "kvm-ncalifornia": "192.168.0.3" }[key],
                );
            }
        });

        it("hub: only the ingress's configuration changes", async function () {
            const { diff } = await compare("hub");
            assert.deepEqual(diff.added, ["overlay-config-kvm-frankfurt", "overlay-install-kvm-frankfurt", "overlay-key-kvm-frankfurt"]);
            assert.deepEqual(diff.changed, ["overlay-config-ingress"]);
        });

        it("hub: removing the first host leaves the others untouched when their addresses are pinned", async function () {
            const hosts = [...seedNodes().hosts, FOURTH_HOST];
            const addresses = { "kvm-ncalifornia": "192.168.0.3", "kvm-frankfurt": "192.168.0.4" };
            const before = await runOverlay(() => new WireGuardMesh("overlay", meshArgs({ topology: "hub", hosts, addresses })));
            const after = await runOverlay(
                () => new WireGuardMesh("overlay", meshArgs({ topology: "hub", hosts: hosts.slice(1), addresses })),
            );
            const diff = compareCommands(before, after);
            assert.deepEqual(diff.removed, ["overlay-config-kvm-london", "overlay-install-kvm-london", "overlay-key-kvm-london"]);
            assert.deepEqual(diff.changed, ["overlay-config-ingress"]);
            assert.deepEqual(diff.added, []);
        });

        it("without pins, removing the first host shifts the later hosts' addresses (which is why pins exist)", async function () {
            const hosts = [...seedNodes().hosts, FOURTH_HOST];
            const before = await runOverlay(() => new WireGuardMesh("overlay", meshArgs({ topology: "hub", hosts })));
            const after = await runOverlay(() => new WireGuardMesh("overlay", meshArgs({ topology: "hub", hosts: hosts.slice(1) })));
            assert.equal(environmentOf(before.named("overlay-config-kvm-ncalifornia")).WG_ADDRESS, "192.168.0.3/24");
            assert.equal(environmentOf(after.named("overlay-config-kvm-ncalifornia")).WG_ADDRESS, "192.168.0.2/24");
        });
    });

    it("public IPs from other resources: each configuration waits only for its peers' machines", async function () {
        const program = await runOverlay(() => {
            const machine = (key: string, ip: string) => {
                const resource = new Machine(`machine-${key}`, ip);
                return { key, publicIp: resource.publicIp, sshUser: "root", dependsOn: [resource] };
            };
            new WireGuardMesh("overlay", {
                ingress: machine("ingress", "13.58.199.98"),
                hosts: [machine("kvm-london", "18.134.246.200"), machine("kvm-ncalifornia", "18.144.25.41")],
                ssh: { privateKey: SSH_KEY },
                topology: "hub",
            });
        });
        const machines = (name: string) =>
            program
                .named(name)
                .dependsOn.filter((d) => d.startsWith("machine-"))
                .sort();
        assert.deepEqual(machines("overlay-config-kvm-london"), ["machine-ingress", "machine-kvm-london"]);
        assert.deepEqual(machines("overlay-config-ingress"), ["machine-ingress", "machine-kvm-london", "machine-kvm-ncalifornia"]);
        const peers = peersOf(environmentOf(program.named("overlay-config-kvm-london")).WG_CONFIG);
        assert.equal(peers.ingress.Endpoint, "13.58.199.98:51820");
    });

    it("reads the public key from the last line the host printed, and rejects anything else", function () {
        const key = fakePublicKey("kvm-london");
        assert.equal(publicKeyFromOutput(`${key}\n`, "kvm-london"), key);
        assert.equal(publicKeyFromOutput(`welcome to the host\n${key}\n\n`, "kvm-london"), key);
        assert.throws(
            () => publicKeyFromOutput("", "kvm-london"),
            /^ConfigError: publicKeys\.kvm-london: must be a WireGuard public key .*\(got nothing\)/,
        );
        assert.throws(
            () => publicKeyFromOutput("wg: command not found\n", "ingress"),
            /publicKeys\.ingress: must be a WireGuard public key/,
        );
        assert.throws(() => publicKeyFromOutput(`${key.slice(0, 43)}A`, "ingress"), /publicKeys\.ingress/);
    });

    it("options: subnet, MTU, port, interface, userspace WireGuard, no install, bastion and transforms", async function () {
        const program = await runOverlay(
            () =>
                new WireGuardMesh(
                    "overlay",
                    meshArgs({
                        subnet: "10.200.0.0/24",
                        mtu: 1380,
                        listenPort: 51000,
                        interfaceName: "wgedge",
                        implementation: "userspace",
                        installTools: false,
                        ssh: { privateKey: SSH_KEY, port: 2222, bastion: { host: "203.0.113.5" } },
                        transform: {
                            configCommand: (args, _opts, name) => {
                                args.triggers = [`command ${name}`];
                            },
                            keyCommand: { triggers: ["rotate-1"] },
                        },
                    }),
                ),
        );
        assert.equal(program.ofType(COMMAND).filter((c) => c.name.includes("-install-")).length, 0);
        const environment = environmentOf(program.named("overlay-config-kvm-london"));
        assert.equal(environment.WG_ADDRESS, "10.200.0.2/24");
        assert.equal(environment.WG_MTU, "1380");
        assert.equal(environment.WG_INTERFACE, "wgedge");
        assert.equal(environment.WG_IMPLEMENTATION, "userspace");
        assert.match(environment.WG_CONFIG, /ListenPort = 51000/);
        assert.equal(peersOf(environment.WG_CONFIG).ingress.Endpoint, "13.58.199.98:51000");
        const connection = connectionOf(program.named("overlay-key-kvm-london"));
        assert.equal(connection.port, 2222);
        const { host, user, port, privateKey } = connection.proxy;
        assert.deepEqual({ host, user, port, privateKey }, { host: "203.0.113.5", user: "root", port: 22, privateKey: SSH_KEY });
        assert.deepEqual(program.named("overlay-config-kvm-london").inputs.triggers, ["command overlay-config-kvm-london"]);
        assert.deepEqual(
            program.named("overlay-key-kvm-london").inputs.triggers,
            ["rotate-1"],
            "a partial transform is merged into the arguments",
        );
        assert.deepEqual(
            program.named("overlay-config-ingress").inputs.triggers,
            ["command overlay-config-ingress"],
            "every child of the kind, each under its own name",
        );
    });

    it("installs wireguard-go as well for userspace WireGuard", async function () {
        const program = await runOverlay(() => new WireGuardMesh("overlay", meshArgs({ implementation: "userspace" })));
        assert.deepEqual(environmentOf(program.named("overlay-install-ingress")), { WG_INSTALL_USERSPACE: "1" });
        const auto = await runOverlay(() => new WireGuardMesh("overlay", meshArgs()));
        const run = decodeStdin(auto.named("overlay-install-ingress").inputs.stdin);
        assert.deepEqual(run.environment, { WG_INSTALL_USERSPACE: "0" });
        assert.match(run.script, /wireguard-install/);
    });
});
