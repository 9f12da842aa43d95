/** components/overlay/wireguard-config.ts: addresses, mesh and hub peers, the wg setconf file. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { ConfigError } from "../../components/validation";
import type { WireGuardOptions } from "../../components/overlay/wireguard-config";
import {
    allocateAddresses,
    formatEndpoint,
    planWireGuard,
    renderWireGuardConfig,
    wireguardScriptEnvironment,
} from "../../components/overlay/wireguard-config";

/** A syntactically valid key per node: base64 of 32 bytes derived from the name. */
function keyOf(name: string): string {
    const bytes = Buffer.alloc(32);
    Buffer.from(name).copy(bytes);
    return bytes.toString("base64");
}

const SEED: WireGuardOptions = {
    ingress: { name: "ingress", endpoint: "13.58.199.98" },
    hosts: [
        { name: "kvm_london", endpoint: "18.134.246.200" },
        { name: "kvm_ncalifornia", endpoint: "18.144.25.41" },
    ],
};

function keysFor(options: WireGuardOptions): Record<string, string> {
    return Object.fromEntries([options.ingress, ...options.hosts].map((node) => [node.name, keyOf(node.name)]));
}

function assertFieldError(run: () => unknown, field: string, pattern?: RegExp): void {
    assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.equal(error.field, field, error.message);
        if (pattern) assert.match(error.message, pattern);
        return true;
    });
}

const hostsArbitrary = fc
    .integer({ min: 1, max: 30 })
    .map((count) => Array.from({ length: count }, (_, index) => ({ name: `kvm${index + 1}`, endpoint: `203.0.113.${index + 1}` })));

describe("overlay WireGuard config", function () {
    describe("addresses", function () {
        it("gives the ingress the first address and the hosts the next ones, in order", function () {
            const plan = planWireGuard(SEED);
            assert.deepEqual(
                plan.nodes.map((node) => [node.name, node.role, node.addressCidr]),
                [
                    ["ingress", "ingress", "192.168.0.1/24"],
                    ["kvm_london", "host", "192.168.0.2/24"],
                    ["kvm_ncalifornia", "host", "192.168.0.3/24"],
                ],
            );
        });

        it("uses a custom subnet", function () {
            assert.deepEqual(allocateAddresses("10.200.0.0/29", ["a", "b"]), [
                { name: "a", address: "10.200.0.1" },
                { name: "b", address: "10.200.0.2" },
            ]);
        });

        it("rejects a subnet too small for the nodes", function () {
            assertFieldError(() => planWireGuard({ ...SEED, subnet: "192.168.0.0/30" }), "subnet", /2 usable addresses.*need 3/);
        });
    });

    describe("mesh", function () {
        it("peers every node with every other, AllowedIPs = the peer's /32, Endpoint = its public address", function () {
            const plan = planWireGuard(SEED);
            const kvm1 = plan.nodes[1];
            assert.deepEqual(kvm1.peers, [
                { name: "ingress", allowedIps: ["192.168.0.1/32"], endpoint: "13.58.199.98:51820", persistentKeepalive: 25 },
                { name: "kvm_ncalifornia", allowedIps: ["192.168.0.3/32"], endpoint: "18.144.25.41:51820", persistentKeepalive: 25 },
            ]);
            assert.equal(
                plan.nodes[0].peers.every((peer) => peer.persistentKeepalive === undefined),
                true,
                "the ingress sends no keepalive",
            );
            assert.equal(
                plan.nodes.some((node) => node.ipForwarding),
                false,
            );
        });

        it("is complete and symmetric for any number of hosts", function () {
            fc.assert(
                fc.property(hostsArbitrary, (hosts) => {
                    const plan = planWireGuard({ ingress: { name: "ingress", endpoint: "198.51.100.1" }, hosts });
                    const addressOf = new Map(plan.nodes.map((node) => [node.name, node.address]));
                    for (const node of plan.nodes) {
                        assert.equal(node.peers.length, hosts.length);
                        assert.ok(!node.peers.some((peer) => peer.name === node.name));
                        for (const peer of node.peers) {
                            assert.deepEqual(peer.allowedIps, [`${addressOf.get(peer.name)}/32`]);
                            const back = plan.nodes.find((other) => other.name === peer.name)?.peers.some((p) => p.name === node.name);
                            assert.ok(back, `${peer.name} lists ${node.name}`);
                        }
                    }
                }),
            );
        });
    });

    describe("hub", function () {
        it("peers hosts only with the ingress (whole subnet, keepalive 25) and lists every host /32 on the ingress", function () {
            fc.assert(
                fc.property(hostsArbitrary, (hosts) => {
                    const plan = planWireGuard({ ingress: { name: "ingress", endpoint: "198.51.100.1" }, hosts, topology: "hub" });
                    const [ingress, ...spokes] = plan.nodes;
                    assert.equal(ingress.ipForwarding, true);
                    assert.deepEqual(
                        ingress.peers.map((peer) => [peer.name, peer.allowedIps, peer.persistentKeepalive]),
                        spokes.map((spoke) => [spoke.name, [`${spoke.address}/32`], undefined]),
                    );
                    for (const spoke of spokes) {
                        assert.equal(spoke.ipForwarding, false);
                        assert.deepEqual(spoke.peers, [
                            { name: "ingress", allowedIps: ["192.168.0.0/24"], endpoint: "198.51.100.1:51820", persistentKeepalive: 25 },
                        ]);
                    }
                }),
            );
        });

        it("accepts hosts without endpoint in a hub (they dial the ingress), not in a mesh", function () {
            const hosts = [{ name: "natted" }];
            const plan = planWireGuard({ ingress: SEED.ingress, hosts, topology: "hub" });
            assert.equal(plan.nodes[0].peers[0].endpoint, undefined);
            assertFieldError(() => planWireGuard({ ingress: SEED.ingress, hosts }), "hosts[0].endpoint");
        });
    });

    describe("rendering", function () {
        it("renders the wg setconf format without any PrivateKey", function () {
            const plan = planWireGuard(SEED);
            const text = renderWireGuardConfig(plan.nodes[1], keysFor(SEED));
            assert.equal(
                text,
                [
                    "# WireGuard wg0 of kvm_london (wg setconf format; the host script adds PrivateKey)",
                    "[Interface]",
                    "ListenPort = 51820",
                    "",
                    "# ingress",
                    "[Peer]",
                    `PublicKey = ${keyOf("ingress")}`,
                    "AllowedIPs = 192.168.0.1/32",
                    "Endpoint = 13.58.199.98:51820",
                    "PersistentKeepalive = 25",
                    "",
                    "# kvm_ncalifornia",
                    "[Peer]",
                    `PublicKey = ${keyOf("kvm_ncalifornia")}`,
                    "AllowedIPs = 192.168.0.3/32",
                    "Endpoint = 18.144.25.41:51820",
                    "PersistentKeepalive = 25",
                    "",
                ].join("\n"),
            );
            assert.doesNotMatch(text, /PrivateKey =/);
            assert.doesNotMatch(text, /^(Address|MTU)/m, "wg setconf takes neither Address nor MTU");
        });

        it("names the peer whose public key is missing or malformed", function () {
            const plan = planWireGuard(SEED);
            const keys = keysFor(SEED);
            delete keys.kvm_ncalifornia;
            assertFieldError(() => renderWireGuardConfig(plan.nodes[1], keys), "publicKeys.kvm_ncalifornia", /wg pubkey/);
            assertFieldError(() => renderWireGuardConfig(plan.nodes[1], { ...keysFor(SEED), ingress: "not-a-key" }), "publicKeys.ingress");
        });

        it("gives the host script its address, MTU, forwarding flag and config as environment", function () {
            const plan = planWireGuard({ ...SEED, topology: "hub", mtu: 1400 });
            const env = wireguardScriptEnvironment(plan.nodes[0], keysFor(SEED));
            assert.deepEqual(Object.keys(env).sort(), ["WG_ADDRESS", "WG_CONFIG", "WG_INTERFACE", "WG_IP_FORWARD", "WG_MTU"]);
            assert.equal(env.WG_ADDRESS, "192.168.0.1/24");
            assert.equal(env.WG_MTU, "1400");
            assert.equal(env.WG_IP_FORWARD, "1");
            assert.equal(env.WG_INTERFACE, "wg0");
        });

        it("brackets IPv6 endpoints", function () {
            assert.equal(formatEndpoint("2001:db8::1", 51820), "[2001:db8::1]:51820");
            assert.equal(formatEndpoint("edge.example.com", 51820), "edge.example.com:51820");
        });
    });

    describe("validation", function () {
        it("refuses an ingress that is also a KVM host", function () {
            assertFieldError(
                () => planWireGuard({ ...SEED, hosts: [...SEED.hosts, { name: "ingress", endpoint: "192.0.2.9" }] }),
                "hosts[2].name",
                /ingress cannot also be a KVM host/,
            );
        });

        it("refuses duplicate names and endpoints", function () {
            assertFieldError(
                () => planWireGuard({ ...SEED, hosts: [SEED.hosts[0], { ...SEED.hosts[1], name: "kvm_london" }] }),
                "hosts[1].name",
                /duplicate node name/,
            );
            assertFieldError(
                () => planWireGuard({ ...SEED, hosts: [SEED.hosts[0], { ...SEED.hosts[1], endpoint: "18.134.246.200" }] }),
                "hosts[1].endpoint",
                /duplicate endpoint/,
            );
        });

        it("refuses endpoints with ports or spaces and names that cannot be hostnames", function () {
            assertFieldError(
                () => planWireGuard({ ...SEED, ingress: { name: "ingress", endpoint: "13.58.199.98:51820" } }),
                "ingress.endpoint",
            );
            assertFieldError(() => planWireGuard({ ...SEED, ingress: { name: "ingress", endpoint: "a b" } }), "ingress.endpoint");
            assertFieldError(() => planWireGuard({ ...SEED, hosts: [{ name: "kvm 1", endpoint: "192.0.2.1" }] }), "hosts[0].name");
            assertFieldError(() => planWireGuard({ ...SEED, hosts: [] }), "hosts");
        });

        it("checks topology, port, MTU, keepalive and interface name", function () {
            assertFieldError(() => planWireGuard({ ...SEED, topology: "star" as "mesh" }), "topology", /"mesh" or "hub"/);
            assertFieldError(() => planWireGuard({ ...SEED, listenPort: 0 }), "listenPort");
            assertFieldError(() => planWireGuard({ ...SEED, mtu: 1200 }), "mtu", /1280/);
            assertFieldError(() => planWireGuard({ ...SEED, persistentKeepalive: -1 }), "persistentKeepalive");
            assertFieldError(() => planWireGuard({ ...SEED, interfaceName: "wireguard-overlay0" }), "interfaceName", /1 to 15 letters/);
        });
    });
});
