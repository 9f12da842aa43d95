/** scripts/lab/topology.ts and inspect.ts: the pure parts of the lab (no root needed). */
import { strict as assert } from "assert";
import { parseBgpPeers, parseEvpnRoutes } from "../../scripts/lab/inspect";
import { LAB_PREFIX, buildTopology } from "../../scripts/lab/topology";

describe("lab topology (pure)", function () {
    it("builds the seed's shape: an ingress, 2 clusters × 2 KVM hosts, one VM per host", function () {
        const t = buildTopology();
        assert.deepEqual(t.nodes.map((node) => [node.name, node.role, node.cluster]), [
            ["ingress", "ingress", "control"],
            ["kvm1", "host", "ec1"],
            ["kvm2", "host", "ec1"],
            ["kvm3", "host", "ec2"],
            ["kvm4", "host", "ec2"],
        ]);
        assert.deepEqual(t.vms.map((vm) => [vm.name, vm.host, vm.ip, vm.mac]), [
            ["vm1", "kvm1", "172.17.2.2", "02:00:ac:11:02:02"],
            ["vm2", "kvm2", "172.17.2.3", "02:00:ac:11:02:03"],
            ["vm3", "kvm3", "172.17.2.4", "02:00:ac:11:02:04"],
            ["vm4", "kvm4", "172.17.2.5", "02:00:ac:11:02:05"],
        ]);
        assert.equal(t.network.GATEWAY, "172.17.2.1", "lease 0 stays free for the virtual router");
        assert.deepEqual([t.mtu.wireguardMtu, t.network.MTU, t.network.GUEST_MTU], [1420, "1370", "1370"]);
        assert.equal(t.fabric[0].role, "reflector");
    });

    it("names every namespace and internet-side device with the lab prefix, within 15 characters", function () {
        const t = buildTopology({ clusters: 3, hostsPerCluster: 3, topology: "hub" });
        const names = [t.internetNetns, ...t.nodes.map((n) => n.netns), ...t.vms.map((v) => v.netns), ...t.nodes.map((n) => n.uplink), ...t.regions.map((r) => r.bridge)];
        for (const name of names) {
            assert.ok(name.startsWith(LAB_PREFIX), name);
            assert.ok(name.length <= 15, name);
        }
        assert.equal(new Set(names).size, names.length, "no duplicates");
        assert.equal(t.wireguard.topology, "hub");
    });

    it("rejects impossible shapes", function () {
        assert.throws(() => buildTopology({ clusters: 0 }), /clusters/);
        assert.throws(() => buildTopology({ vni: 0 }), /networks\[0\]\.vlanId/);
        assert.throws(() => buildTopology({ underlayMtu: 1400 }), /underlayMtu/);
    });
});

describe("lab FRR output parsers", function () {
    it("reads BGP peers from `show bgp l2vpn evpn summary json`", function () {
        const json = JSON.stringify({
            routerId: "192.168.0.2",
            as: 65000,
            peers: { "192.168.0.1": { hostname: "ingress", state: "Established", pfxRcd: 6 }, "192.168.0.9": { state: "Active", pfxRcd: 0 } },
        });
        assert.deepEqual(parseBgpPeers(json), [
            { address: "192.168.0.1", state: "Established", prefixesReceived: 6 },
            { address: "192.168.0.9", state: "Active", prefixesReceived: 0 },
        ]);
    });

    it("reads type-2 and type-3 routes and their best next hop from `show bgp l2vpn evpn json`", function () {
        const path = (ip: string, best: boolean) => ({ valid: true, ...(best ? { bestpath: true } : {}), nexthops: [{ ip, afi: "ipv4", used: true }] });
        const json = JSON.stringify({
            bgpTableVersion: 2,
            bgpLocalRouterId: "192.168.0.2",
            "192.168.0.3:2": {
                rd: "192.168.0.3:2",
                "[2]:[0]:[48]:[02:00:ac:11:02:03]": { prefix: "[2]:[0]:[48]:[02:00:ac:11:02:03]", paths: [path("192.168.0.9", false), path("192.168.0.3", true)] },
                "[3]:[0]:[32]:[192.168.0.3]": { prefix: "[3]:[0]:[32]:[192.168.0.3]", paths: [[path("192.168.0.3", true)]] },
            },
        });
        assert.deepEqual(parseEvpnRoutes(json), [
            { type: 2, rd: "192.168.0.3:2", prefix: "[2]:[0]:[48]:[02:00:ac:11:02:03]", mac: "02:00:ac:11:02:03", nextHop: "192.168.0.3" },
            { type: 3, rd: "192.168.0.3:2", prefix: "[3]:[0]:[32]:[192.168.0.3]", originator: "192.168.0.3", nextHop: "192.168.0.3" },
        ]);
    });
});
