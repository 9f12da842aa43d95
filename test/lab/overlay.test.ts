/**
 * The overlay, for real: WireGuard (wireguard-go), FRR BGP EVPN and OpenNebula-style VXLAN in
 * network namespaces, configured by the package's renderers and host scripts (scripts/lab).
 * One lab (ingress + 2 clusters × 2 KVM hosts + 1 VM per host) is shared by the whole file.
 */
import { strict as assert } from "assert";
import { promises as fs } from "fs";
import { Lab } from "../../scripts/lab/lab";
import { waitUntil } from "../../scripts/lab/process";
import { stillRunning } from "../../scripts/lab/teardown";
import { downLab, holdsFor, newLabName, skipUnlessLabCanRun, upLab } from "./lab-support";

describe("lab: EVPN over WireGuard", function () {
    this.timeout(120_000);
    const labName = newLabName();
    let lab: Lab;

    /** wg address of a node. */
    const wgAddress = (name: string) => {
        const node = lab.topology.wireguard.nodes.find((candidate) => candidate.name === name);
        assert.ok(node, `no wg plan for ${name}`);
        return node.address;
    };
    const vm = (name: string) => {
        const found = lab.vms.find((candidate) => candidate.name === name);
        assert.ok(found, `no VM ${name}`);
        return found;
    };
    /** Every pair of the given VMs pings, in both directions. */
    const allPairsPing = async (names: string[]) => {
        for (const a of names) {
            for (const b of names.filter((name) => name !== a)) {
                if (!(await lab.ping(a, b, { waitSeconds: 2 }))) {
                    return false;
                }
            }
        }
        return true;
    };
    /** Waits until every pair of the given VMs pings, in both directions (after a restore). */
    const allPairsReachWithin = async (names: string[], timeoutMs: number) => {
        for (const a of names) {
            for (const b of names.filter((name) => name !== a)) await lab.waitForPing(a, b, timeoutMs);
        }
    };

    before(async function () {
        skipUnlessLabCanRun(this);
        lab = await upLab(labName);
    });

    after(async function () {
        await downLab(labName);
    });

    describe("configuration applied by the host scripts", function () {
        it("runs FRR with exactly the rendered files and wg0 with the planned peers", async function () {
            for (const node of lab.nodes) {
                const files = lab.topology.fabric.find((candidate) => candidate.name === node.name);
                assert.ok(files);
                assert.equal(await lab.execOk(node.name, ["cat", "/etc/frr/bgpd.conf"]), files.bgpdConf);
                const plan = lab.topology.wireguard.nodes.find((candidate) => candidate.name === node.name);
                assert.ok(plan);
                const allowed = (await lab.execOk(node.name, ["wg", "show", "wg0", "allowed-ips"]))
                    .trim()
                    .split("\n")
                    .map((line) => line.split("\t")[1])
                    .sort();
                assert.deepEqual(allowed, plan.peers.map((peer) => peer.allowedIps.join(" ")).sort());
                const link = await lab.execOk(node.name, ["ip", "-o", "addr", "show", "dev", "wg0"]);
                assert.match(link, new RegExp(`inet ${plan.addressCidr.replace(/\./g, "\\.")} `));
            }
        });

        it("runs the rendered session settings: timers, connect-retry, coalesce-time, one update-group for all clients", async function () {
            for (const node of lab.nodes) {
                const running = await lab.vtysh(node.name, "show running-config");
                for (const line of [
                    " coalesce-time 100",
                    " neighbor fabric timers 3 9",
                    " neighbor fabric timers connect 2",
                    " neighbor fabric update-source ",
                ]) {
                    assert.ok(running.includes(`\n${line}`), `${node.name} runs "${line.trim()}"`);
                }
            }
            const groups = await lab.vtysh("ingress", "show bgp l2vpn evpn update-groups");
            assert.equal((groups.match(/^ *Update-group \d+:/gm) ?? []).length, 1, `one update-group on the reflector:\n${groups}`);
            for (const host of lab.hosts) {
                assert.ok(groups.includes(wgAddress(host.name)), `${host.name} is in it`);
            }
        });

        it("keeps private keys on the hosts: 0600 key files, no PrivateKey in what was sent", async function () {
            for (const node of lab.nodes) {
                assert.equal((await lab.execOk(node.name, ["stat", "-c", "%a", "/etc/wireguard/wg0.key"])).trim(), "600");
            }
            assert.doesNotMatch(JSON.stringify(lab.topology), /PrivateKey/);
        });

        it("builds the VXLAN device OpenNebula's driver builds: wg0.<VNI> on onebr.<VNI>, local = wg address, nolearning, ttl 16", async function () {
            const vni = lab.topology.network.VLAN_ID;
            const details = await lab.execOk("kvm1", ["ip", "-d", "-o", "link", "show", "dev", `wg0.${vni}`]);
            assert.match(details, new RegExp(`mtu ${lab.topology.network.MTU} `));
            assert.match(details, new RegExp(`master onebr\\.${vni} `));
            assert.match(details, new RegExp(`vxlan id ${vni} local ${wgAddress("kvm1").replace(/\./g, "\\.")} `));
            assert.match(details, / nolearning /);
            assert.match(details, / ttl 16 /);
        });
    });

    describe("control plane", function () {
        it("has a session between the reflector and every client", async function () {
            const reflector = await lab.bgpPeers("ingress");
            assert.deepEqual(
                reflector.map((peer) => [peer.address, peer.state]).sort(),
                lab.hosts.map((host) => [wgAddress(host.name), "Established"]).sort(),
            );
            for (const host of lab.hosts) {
                assert.deepEqual(
                    (await lab.bgpPeers(host.name)).map((peer) => [peer.address, peer.state]),
                    [[wgAddress("ingress"), "Established"]],
                );
            }
        });

        it("has a type-3 route of every VTEP and a type-2 route of every VM on every KVM host, next hop = the VM's host", async function () {
            for (const host of lab.hosts) {
                const routes = await lab.evpnRoutes(host.name);
                const vteps = routes
                    .filter((route) => route.type === 3)
                    .map((route) => route.originator)
                    .sort();
                assert.deepEqual(vteps, lab.hosts.map((h) => wgAddress(h.name)).sort(), `type-3 routes on ${host.name}`);
                for (const guest of lab.vms) {
                    const macRoutes = routes.filter((route) => route.type === 2 && route.mac === guest.mac);
                    assert.deepEqual(
                        macRoutes.map((route) => route.nextHop),
                        [wgAddress(guest.host)],
                        `type-2 of ${guest.name} on ${host.name}`,
                    );
                }
            }
        });
    });

    describe("data plane", function () {
        it("lets a VM of one cluster reach a VM of the other", async function () {
            const [vm1] = lab.vms;
            const far = lab.vms.find(
                (candidate) =>
                    lab.nodes.find((n) => n.name === candidate.host)?.cluster !== lab.nodes.find((n) => n.name === vm1.host)?.cluster,
            );
            assert.ok(far, "a VM in another cluster");
            assert.ok(await lab.ping(vm1.name, far.name), `${vm1.name} → ${far.name}`);
            assert.ok(await lab.ping(far.name, vm1.name), `${far.name} → ${vm1.name}`);
        });

        it("carries unfragmented packets of exactly the guest MTU, and not one byte more", async function () {
            const guestMtu = Number(lab.topology.network.GUEST_MTU);
            assert.equal(guestMtu, 1370);
            const payload = guestMtu - 28; // IPv4 20 + ICMP 8
            assert.ok(await lab.ping("vm1", "vm3", { size: payload, dontFragment: true }), `DF ping of ${guestMtu} bytes`);
            assert.equal(
                await lab.ping("vm1", "vm3", { size: payload + 1, dontFragment: true }),
                false,
                `DF ping of ${guestMtu + 1} bytes`,
            );
            assert.ok(await lab.ping("vm1", "vm3", { size: payload + 1 }), "the same size passes when the guest may fragment");
        });
    });

    describe("faults on one KVM host", function () {
        it("stopping bgpd on one host leaves the others connected; starting it restores everything", async function () {
            await lab.stopBgpd("kvm2");
            await waitUntil("vm2 to lose the overlay", async () => !(await lab.ping("vm1", "vm2")), 30_000);
            await holdsFor("vm1, vm3 and vm4 reaching each other", () => allPairsPing(["vm1", "vm3", "vm4"]), 5_000);
            const sessions = await lab.bgpPeers("ingress");
            assert.deepEqual(
                sessions
                    .filter((peer) => peer.state === "Established")
                    .map((peer) => peer.address)
                    .sort(),
                ["kvm1", "kvm3", "kvm4"].map(wgAddress).sort(),
            );

            await lab.startBgpd("kvm2");
            await lab.waitForPing("vm1", "vm2", 60_000);
            await lab.waitForPing("vm2", "vm4", 60_000);
            await allPairsReachWithin(["vm1", "vm2", "vm3", "vm4"], 30_000);
        });

        it("stopping WireGuard on one host leaves the others connected; starting it restores everything", async function () {
            await lab.stopWireGuard("kvm3");
            assert.equal(await lab.ping("vm1", "vm3"), false, "vm3 is cut off");
            await holdsFor("vm1, vm2 and vm4 reaching each other", () => allPairsPing(["vm1", "vm2", "vm4"]), 5_000);

            await lab.startWireGuard("kvm3");
            await lab.waitForPing("vm1", "vm3", 60_000);
            await lab.waitForPing("vm3", "vm4", 60_000);
            await waitUntil(
                "kvm3's BGP session to be Established again",
                async () => (await lab.bgpPeers("kvm3")).every((peer) => peer.state === "Established"),
                60_000,
            );
            await allPairsReachWithin(["vm1", "vm2", "vm3", "vm4"], 30_000);
        });
    });

    describe("live migration", function () {
        it("moves a VM to a host of the other cluster with the same MAC and IP: connectivity returns and its type-2 route follows", async function () {
            const moving = vm("vm1");
            const from = moving.host;
            const to = "kvm4";
            assert.notEqual(from, to);
            const before = await lab.evpnRoutes("kvm3");
            assert.deepEqual(
                before.filter((r) => r.type === 2 && r.mac === moving.mac).map((r) => r.nextHop),
                [wgAddress(from)],
            );

            assert.ok(await lab.ping(moving.name, "vm3"), "vm1 knows vm3 before the migration");
            const vni = lab.topology.network.VLAN_ID;
            const tap = `one-${moving.id}-0`;
            const times = await lab.migrateVm(moving.name, to);
            assert.ok(times.resumedAt >= times.pausedAt);
            const fdb = await lab.execOk(to, ["bridge", "fdb", "show", "br", `onebr.${vni}`]);
            assert.match(
                fdb,
                new RegExp(`^${moving.mac} dev ${tap} master onebr\\.${vni}`, "m"),
                "the VM's announce taught the destination's bridge its MAC on its NIC at once",
            );
            assert.match(
                await lab.execOk(moving.name, ["ip", "neigh", "show", "dev", "eth0"]),
                new RegExp(`^${vm("vm3").ip.replace(/\./g, "\\.")} `, "m"),
                "the guest kept its neighbour cache, as a live-migrated guest does",
            );
            await waitUntil(
                `${to}'s zebra to hold vm1's MAC as local`,
                async () =>
                    /"type":"local"/.test((await lab.vtysh(to, `show evpn mac vni ${vni} mac ${moving.mac} json`)).replace(/\s/g, "")),
                10_000,
            );
            assert.equal(vm("vm1").host, to);
            assert.equal(vm("vm1").mac, moving.mac);
            await lab.waitForPing("vm3", "vm1", 60_000);
            await lab.waitForPing("vm1", "vm2", 60_000);

            for (const observer of ["ingress", "kvm2", "kvm3"]) {
                await waitUntil(
                    `${observer} to see vm1's type-2 route from ${to} only`,
                    async () => {
                        const hops = (await lab.evpnRoutes(observer))
                            .filter((r) => r.type === 2 && r.mac === moving.mac)
                            .map((r) => r.nextHop);
                        return hops.length === 1 && hops[0] === wgAddress(to);
                    },
                    30_000,
                );
            }
            const left = await lab.exec(from, ["ip", "link", "show", "dev", `wg0.${vni}`]);
            assert.notEqual(left.code, 0, `the last VM left ${from}, so the driver removed wg0.${vni} there`);
            const routes = await lab.evpnRoutes("kvm3");
            assert.ok(!routes.some((r) => r.type === 3 && r.originator === wgAddress(from)), `${from} withdrew its type-3 route`);
        });
    });

    describe("teardown", function () {
        it("leaves no namespace, process, mount or state of this lab", async function () {
            const running = (await Lab.leftovers(lab.name)).processes;
            assert.ok(running.length >= lab.nodes.length * 4, "holders, zebra, bgpd and wireguard-go ran");
            await lab.down();
            assert.deepEqual(await Lab.leftovers(lab.name), { namespaces: [], processes: [], mounts: [] });
            await assert.rejects(fs.stat(lab.dir), "the state directory is gone");
            assert.deepEqual(await stillRunning(running), [], "every process the lab started has exited");
        });
    });
});
