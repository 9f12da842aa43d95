/** components/overlay/frr-config.ts: route reflector and client bgpd.conf, zebra.conf, daemons. */
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError } from "../../components/validation";
import {
    frrScriptEnvironment,
    planEvpnFabric,
    renderClientBgpdConf,
    renderDaemonsFile,
    renderReflectorBgpdConf,
    renderZebraConf,
} from "../../components/overlay/frr-config";
import { planWireGuard } from "../../components/overlay/wireguard-config";

function assertFieldError(run: () => unknown, field: string, pattern?: RegExp): void {
    assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.equal(error.field, field, error.message);
        if (pattern) assert.match(error.message, pattern);
        return true;
    });
}

/** The lines of the `router bgp` block, without indentation. */
function routerLines(conf: string): string[] {
    const lines = conf.split("\n");
    const start = lines.findIndex((line) => line.startsWith("router bgp "));
    return lines.slice(start, lines.indexOf("exit", start) + 1).map((line) => line.trim());
}

function vtyshAvailable(): boolean {
    try {
        execFileSync("vtysh", ["--help"], { stdio: "ignore" });
        return true;
    } catch {
        return false;
    }
}

const REFLECTOR = { hostname: "ingress", routerId: "192.168.0.1", clients: ["192.168.0.2", "192.168.0.3"] };
const CLIENT = { hostname: "kvm1", routerId: "192.168.0.2", reflectors: ["192.168.0.1"] };

describe("overlay FRR config", function () {
    describe("route reflector", function () {
        it("renders cluster-id, explicit clients in peer-group fabric, route-reflector-client, l2vpn evpn only", function () {
            assert.deepEqual(routerLines(renderReflectorBgpdConf(REFLECTOR)), [
                "router bgp 65000",
                "bgp router-id 192.168.0.1",
                "bgp cluster-id 192.168.0.1",
                "coalesce-time 100",
                "no bgp default ipv4-unicast",
                "bgp log-neighbor-changes",
                "neighbor fabric peer-group",
                "neighbor fabric remote-as 65000",
                "neighbor fabric capability extended-nexthop",
                "neighbor fabric update-source 192.168.0.1",
                "neighbor fabric timers 3 9",
                "neighbor fabric timers connect 2",
                "neighbor 192.168.0.2 peer-group fabric",
                "neighbor 192.168.0.3 peer-group fabric",
                "address-family l2vpn evpn",
                "neighbor fabric activate",
                "neighbor fabric route-reflector-client",
                "exit-address-family",
                "exit",
            ]);
        });

        it("has no VNIs of its own", function () {
            assert.doesNotMatch(renderReflectorBgpdConf(REFLECTOR), /advertise-all-vni|^ *vni /m);
        });

        it("can accept clients from a listen range instead, and needs exactly one of the two", function () {
            const conf = renderReflectorBgpdConf({ hostname: "ingress", routerId: "192.168.0.1", listenRange: "192.168.0.0/24" });
            assert.match(conf, /^ bgp listen range 192\.168\.0\.0\/24 peer-group fabric$/m);
            assert.doesNotMatch(conf, /neighbor 192\.168/);
            assertFieldError(() => renderReflectorBgpdConf({ hostname: "ingress", routerId: "192.168.0.1" }), "clients", /exactly one/);
            assertFieldError(() => renderReflectorBgpdConf({ ...REFLECTOR, listenRange: "192.168.0.0/24" }), "clients", /exactly one/);
        });

        it("raises the dynamic-neighbour limit above FRR's 100 to the size of the listen range, or to a given limit", function () {
            const ranged = (listenRange: string, listenLimit?: number) =>
                routerLines(renderReflectorBgpdConf({ hostname: "ingress", routerId: "10.200.0.1", listenRange, listenLimit })).filter(
                    (line) => line.startsWith("bgp listen"),
                );
            assert.deepEqual(ranged("10.200.0.0/24"), ["bgp listen limit 254", "bgp listen range 10.200.0.0/24 peer-group fabric"]);
            assert.deepEqual(ranged("10.200.0.0/22"), ["bgp listen limit 1022", "bgp listen range 10.200.0.0/22 peer-group fabric"]);
            assert.deepEqual(ranged("10.0.0.0/8"), ["bgp listen limit 65535", "bgp listen range 10.0.0.0/8 peer-group fabric"]);
            assert.deepEqual(ranged("10.200.0.0/24", 150), ["bgp listen limit 150", "bgp listen range 10.200.0.0/24 peer-group fabric"]);
            for (const limit of [0, 65536, 1.5]) {
                assertFieldError(() => ranged("10.200.0.0/24", limit), "listenLimit", /1 to 65535/);
            }
            assertFieldError(() => renderReflectorBgpdConf({ ...REFLECTOR, listenLimit: 500 }), "listenLimit", /dynamic neighbours/);
        });

        it("uses a given cluster-id and refuses its own address as client", function () {
            assert.match(renderReflectorBgpdConf({ ...REFLECTOR, clusterId: "10.0.1.87" }), /^ bgp cluster-id 10\.0\.1\.87$/m);
            assertFieldError(() => renderReflectorBgpdConf({ ...REFLECTOR, clients: ["192.168.0.1"] }), "clients[0]", /own address/);
            assertFieldError(
                () => renderReflectorBgpdConf({ ...REFLECTOR, clients: ["192.168.0.2", "192.168.0.2"] }),
                "clients[1]",
                /duplicate/,
            );
        });
    });

    describe("client", function () {
        it("peers with the reflector over the wg addresses and advertises all VNIs", function () {
            assert.deepEqual(routerLines(renderClientBgpdConf(CLIENT)), [
                "router bgp 65000",
                "bgp router-id 192.168.0.2",
                "coalesce-time 100",
                "no bgp default ipv4-unicast",
                "bgp log-neighbor-changes",
                "neighbor fabric peer-group",
                "neighbor fabric remote-as 65000",
                "neighbor fabric capability extended-nexthop",
                "neighbor fabric update-source 192.168.0.2",
                "neighbor fabric timers 3 9",
                "neighbor fabric timers connect 2",
                "neighbor 192.168.0.1 peer-group fabric",
                "address-family l2vpn evpn",
                "neighbor fabric activate",
                "advertise-all-vni",
                "exit-address-family",
                "exit",
            ]);
            assert.doesNotMatch(renderClientBgpdConf(CLIENT), /cluster-id|route-reflector-client/);
        });

        it("refuses no reflector or its own address as reflector", function () {
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, reflectors: [] }), "reflectors", /at least one/);
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, reflectors: ["192.168.0.2"] }), "reflectors", /own address/);
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, reflectors: ["192.168.0"] }), "reflectors[0]");
        });
    });

    describe("validation of shared options", function () {
        it("accepts any ASN from 1 to 4294967295 except AS_TRANS and uses it everywhere", function () {
            fc.assert(
                fc.property(
                    fc.integer({ min: 1, max: 4294967295 }).filter((asn) => asn !== 23456),
                    (asn) => {
                        for (const conf of [renderClientBgpdConf({ ...CLIENT, asn }), renderReflectorBgpdConf({ ...REFLECTOR, asn })]) {
                            assert.match(conf, new RegExp(`^router bgp ${asn}$`, "m"));
                            assert.match(conf, new RegExp(`^ neighbor fabric remote-as ${asn}$`, "m"));
                        }
                    },
                ),
            );
        });

        it("rejects ASNs out of range, fractional or AS_TRANS", function () {
            for (const asn of [0, -1, 4294967296, 65000.5]) {
                assertFieldError(() => renderClientBgpdConf({ ...CLIENT, asn }), "asn", /1 to 4294967295/);
            }
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, asn: 23456 }), "asn", /AS_TRANS/);
        });

        it("rejects bad router ids, hostnames, timers and log targets", function () {
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, routerId: "kvm1" }), "routerId");
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, routerId: "0.0.0.0" }), "routerId", /0\.0\.0\.0/);
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, hostname: "kvm 1\nrouter bgp 1" }), "hostname");
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, timers: { keepalive: 10, hold: 5 } }), "timers.hold");
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, timers: { connectRetry: 0 } }), "timers.connectRetry");
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, log: "journal" as "file" }), "log");
            assertFieldError(() => renderClientBgpdConf({ ...CLIENT, coalesceTimeMs: -1 }), "coalesceTimeMs");
        });

        it("logs to /var/log/frr/<daemon>.log by default, or to syslog or stdout", function () {
            assert.match(renderClientBgpdConf(CLIENT), /^log file \/var\/log\/frr\/bgpd\.log informational$/m);
            assert.match(renderZebraConf({ hostname: "kvm1" }), /^log file \/var\/log\/frr\/zebra\.log informational$/m);
            assert.match(renderClientBgpdConf({ ...CLIENT, log: "syslog" }), /^log syslog informational$/m);
        });
    });

    describe("zebra.conf and daemons", function () {
        it("zebra.conf holds only hostname and logging", function () {
            const conf = renderZebraConf({ hostname: "kvm1" });
            assert.match(conf, /^hostname kvm1$/m);
            assert.doesNotMatch(conf, /router|interface/);
        });

        it("daemons enables bgpd and no other routing daemon", function () {
            const daemons = renderDaemonsFile();
            assert.match(daemons, /^bgpd=yes$/m);
            assert.deepEqual(daemons.match(/^[a-z0-9_]+=yes$/gm), ["bgpd=yes", "vtysh_enable=yes"]);
            assert.match(daemons, /^staticd_options=".*-P 2620"$/m);
        });
    });

    describe("the fabric of a WireGuard plan", function () {
        it("makes the ingress the reflector of every host, all on the wg addresses", function () {
            const wireguard = planWireGuard({
                ingress: { name: "ingress", endpoint: "198.51.100.1" },
                hosts: [1, 2, 3, 4].map((i) => ({ name: `kvm${i}`, endpoint: `203.0.113.${i}` })),
            });
            const fabric = planEvpnFabric(wireguard, { asn: 65100 });
            assert.deepEqual(
                fabric.map((node) => [node.name, node.role]),
                [
                    ["ingress", "reflector"],
                    ["kvm1", "client"],
                    ["kvm2", "client"],
                    ["kvm3", "client"],
                    ["kvm4", "client"],
                ],
            );
            for (const client of fabric.slice(1)) {
                assert.match(client.bgpdConf, /^ neighbor 192\.168\.0\.1 peer-group fabric$/m);
                assert.match(client.bgpdConf, /^router bgp 65100$/m);
            }
            for (const address of ["192.168.0.2", "192.168.0.3", "192.168.0.4", "192.168.0.5"]) {
                assert.match(fabric[0].bgpdConf, new RegExp(`^ neighbor ${address.replace(/\./g, "\\.")} peer-group fabric$`, "m"));
            }
            assert.match(planEvpnFabric(wireguard, { useListenRange: true })[0].bgpdConf, /bgp listen range 192\.168\.0\.0\/24/);
            assert.deepEqual(Object.keys(frrScriptEnvironment(fabric[1])).sort(), ["FRR_BGPD_CONF", "FRR_DAEMONS", "FRR_ZEBRA_CONF"]);
        });

        describe("a fleet of 1000 KVM hosts", function () {
            const wireguard = planWireGuard({
                ingress: { name: "ingress", endpoint: "198.51.100.1" },
                hosts: Array.from({ length: 1000 }, (_, i) => ({
                    name: `kvm${i + 1}`,
                    endpoint: `203.0.${113 + Math.floor(i / 250)}.${(i % 250) + 1}`,
                })),
                subnet: "10.200.0.0/22",
                topology: "hub",
            });

            it("lists every host as a client of the reflector in the one peer-group (one update-group), each client with one session", function () {
                const [reflector, ...clients] = planEvpnFabric(wireguard);
                const neighbours = routerLines(reflector.bgpdConf).filter((line) => /^neighbor \d/.test(line));
                assert.equal(neighbours.length, 1000);
                assert.ok(
                    neighbours.every((line) => / peer-group fabric$/.test(line)),
                    "every client is in peer-group fabric",
                );
                assert.equal(new Set(neighbours).size, 1000);
                assert.equal(clients.length, 1000);
                for (const client of clients) {
                    assert.deepEqual(
                        routerLines(client.bgpdConf).filter((line) => line.startsWith("neighbor 10.")),
                        ["neighbor 10.200.0.1 peer-group fabric"],
                    );
                }
                assert.doesNotMatch(reflector.bgpdConf, /listen/);
            });

            it("with dynamic neighbours, sets the listen limit above the fleet and refuses a limit below it", function () {
                const [reflector] = planEvpnFabric(wireguard, { useListenRange: true });
                const limit = Number(/^ bgp listen limit (\d+)$/m.exec(reflector.bgpdConf)?.[1]);
                assert.equal(limit, 1022);
                assert.ok(limit >= 1000, "the limit admits every host");
                assert.match(reflector.bgpdConf, /^ bgp listen range 10\.200\.0\.0\/22 peer-group fabric$/m);
                assert.match(
                    planEvpnFabric(wireguard, { useListenRange: true, listenLimit: 1000 })[0].bgpdConf,
                    /^ bgp listen limit 1000$/m,
                );
                assertFieldError(
                    () => planEvpnFabric(wireguard, { useListenRange: true, listenLimit: 999 }),
                    "listenLimit",
                    /at least the number of hosts \(1000\)/,
                );
                assertFieldError(() => planEvpnFabric(wireguard, { listenLimit: 1000 }), "listenLimit", /useListenRange/);
            });

            it("is accepted by FRR's own parser at that size (vtysh --dryrun)", function () {
                if (!vtyshAvailable()) {
                    this.skip();
                }
                const dir = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-frr-1000-"));
                try {
                    for (const [index, node] of [
                        planEvpnFabric(wireguard)[0],
                        planEvpnFabric(wireguard, { useListenRange: true })[0],
                    ].entries()) {
                        const file = path.join(dir, `bgpd-${index}.conf`);
                        fs.writeFileSync(file, node.bgpdConf);
                        execFileSync("vtysh", ["--dryrun", "-f", file], { stdio: "pipe" });
                    }
                } finally {
                    fs.rmSync(dir, { recursive: true, force: true });
                }
            });
        });

        it("is accepted by FRR's own parser (vtysh --dryrun)", function () {
            if (!vtyshAvailable()) {
                this.skip();
            }
            const wireguard = planWireGuard({
                ingress: { name: "ingress", endpoint: "198.51.100.1" },
                hosts: [{ name: "kvm1", endpoint: "203.0.113.1" }],
            });
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-frr-"));
            try {
                const fabric = [...planEvpnFabric(wireguard), ...planEvpnFabric(wireguard, { useListenRange: true, log: "syslog" })];
                for (const [index, node] of fabric.entries()) {
                    for (const [name, text] of [
                        ["bgpd", node.bgpdConf],
                        ["zebra", node.zebraConf],
                    ]) {
                        const file = path.join(dir, `${name}-${index}.conf`);
                        fs.writeFileSync(file, text);
                        execFileSync("vtysh", ["--dryrun", "-f", file], { stdio: "pipe" });
                    }
                }
                const broken = path.join(dir, "broken.conf");
                fs.writeFileSync(broken, fabric[1].bgpdConf.replace("advertise-all-vni", "advertise-every-vni"));
                assert.throws(() => execFileSync("vtysh", ["--dryrun", "-f", broken], { stdio: "pipe" }), "the dry run does detect errors");
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    });
});
