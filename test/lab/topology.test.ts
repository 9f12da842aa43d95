/** scripts/lab/topology.ts, naming.ts and inspect.ts: the pure parts of the lab (no root needed). */
import { strict as assert } from "assert";
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { MAX_VNI } from "../../components/overlay/evpn-network";
import { planVxlanDevice } from "../../components/overlay/vxlan-device";
import { parseBgpPeers, parseEvpnRoutes } from "../../scripts/lab/inspect";
import { LAB_NAME_PATTERN, defaultLabName, isLabNamespace, labStateDir, randomLabName, validateLabName } from "../../scripts/lab/naming";
import { buildTopology, labDeviceNames } from "../../scripts/lab/topology";

describe("lab topology (pure)", function () {
    it("builds the seed's shape: an ingress, 2 clusters × 2 KVM hosts, one VM per host", function () {
        const t = buildTopology("lab1");
        assert.deepEqual(
            t.nodes.map((node) => [node.name, node.role, node.cluster]),
            [
                ["ingress", "ingress", "control"],
                ["kvm1", "host", "ec1"],
                ["kvm2", "host", "ec1"],
                ["kvm3", "host", "ec2"],
                ["kvm4", "host", "ec2"],
            ],
        );
        assert.deepEqual(
            t.vms.map((vm) => [vm.name, vm.host, vm.ip, vm.mac]),
            [
                ["vm1", "kvm1", "172.17.2.2", "02:00:ac:11:02:02"],
                ["vm2", "kvm2", "172.17.2.3", "02:00:ac:11:02:03"],
                ["vm3", "kvm3", "172.17.2.4", "02:00:ac:11:02:04"],
                ["vm4", "kvm4", "172.17.2.5", "02:00:ac:11:02:05"],
            ],
        );
        assert.equal(t.network.GATEWAY, "172.17.2.1", "lease 0 stays free for the virtual router");
        assert.deepEqual([t.mtu.wireguardMtu, t.network.MTU, t.network.GUEST_MTU], [1420, "1370", "1370"]);
        assert.equal(t.fabric[0].role, "reflector");
    });

    it("names every namespace <lab name>-<part>, and no two labs share one", function () {
        const a = buildTopology("labaaaaaa");
        const b = buildTopology("lab", { clusters: 3, hostsPerCluster: 3 });
        const namespaces = (t: typeof a) => [t.internetNetns, ...t.nodes.map((n) => n.netns), ...t.vms.map((v) => v.netns)];
        assert.deepEqual(
            namespaces(a),
            ["inet", "ingress", "kvm1", "kvm2", "kvm3", "kvm4", "vm1", "vm2", "vm3", "vm4"].map((part) => `labaaaaaa-${part}`),
        );
        assert.equal(new Set(namespaces(b)).size, namespaces(b).length, "no duplicates");
        for (const name of namespaces(b)) {
            assert.ok(isLabNamespace("lab", name), name);
            assert.ok(!isLabNamespace("labaaaaaa", name), `${name} is not labaaaaaa's`);
        }
        for (const name of namespaces(a)) {
            assert.ok(!isLabNamespace("lab", name), `${name} (labaaaaaa's) is not lab's, although "lab" is a prefix of "labaaaaaa"`);
        }
    });

    it("keeps every device name within the kernel's 15 characters, for the largest lab and VNI", function () {
        const t = buildTopology("a23456789012", { clusters: 9, hostsPerCluster: 2, topology: "hub", vni: MAX_VNI });
        const vxlan = planVxlanDevice(t.network, t.wireguard.nodes[1].address);
        const names = [...labDeviceNames(t), vxlan.bridge, vxlan.device];
        assert.ok(
            names.includes("one-18-0") &&
                names.includes("up-kvm18") &&
                names.includes("up-ingress") &&
                names.includes("br-ec9") &&
                names.includes(`wg0.${MAX_VNI}`),
            names.join(" "),
        );
        for (const name of names) {
            assert.ok(name.length <= 15, `${name} has ${name.length} characters`);
        }
        const inInternet = [...t.regions.map((r) => r.bridge), ...t.nodes.map((n) => n.uplink)];
        assert.equal(new Set(inInternet).size, inInternet.length, "no duplicates in the internet namespace");
        assert.equal(t.wireguard.topology, "hub");
    });

    it("builds a fabric of 32 hosts with a VTEP on every host and VMs on a few, spread over the clusters", function () {
        const t = buildTopology("lab", { clusters: 4, hostsPerCluster: 8, vms: 6, networkOnEveryHost: true, topology: "hub" });
        assert.equal(t.nodes.filter((node) => node.role === "host").length, 32);
        assert.deepEqual(
            t.vms.map((vm) => [vm.name, vm.host]),
            [
                ["vm1", "kvm1"],
                ["vm2", "kvm9"],
                ["vm3", "kvm17"],
                ["vm4", "kvm25"],
                ["vm5", "kvm2"],
                ["vm6", "kvm10"],
            ],
        );
        assert.equal(t.networkOnEveryHost, true);
        assert.equal(
            buildTopology("lab").networkOnEveryHost,
            false,
            "by default only hosts with a VM get the network, as OpenNebula's driver does",
        );
        for (const name of labDeviceNames(t)) {
            assert.ok(name.length <= 15, name);
        }
        assert.match(
            buildTopology("lab", { clusters: 4, hostsPerCluster: 8, vms: 2, useListenRange: true }).fabric[0].bgpdConf,
            /^ bgp listen limit 254$/m,
        );
    });

    it("rejects impossible shapes and bad names", function () {
        assert.throws(() => buildTopology("lab", { clusters: 0 }), /clusters/);
        assert.throws(() => buildTopology("lab", { vni: 0 }), /networks\[0\]\.vlanId/);
        assert.throws(() => buildTopology("lab", { underlayMtu: 1400 }), /underlayMtu/);
        assert.throws(
            () => buildTopology("lab", { clusters: 9, hostsPerCluster: 3 }),
            /vms: at most 19 VMs .*got 27/,
            "one VM per host does not fit the address range",
        );
        assert.throws(() => buildTopology("lab", { vms: 5 }), /vms: must be an integer from 0 to the number of hosts \(4\), got 5/);
        assert.throws(() => buildTopology("lab", { vms: -1 }), /vms: must be an integer/);
        for (const bad of ["", "my-lab", "Lab", "1lab", "a234567890123", "lab/x", "lab x"]) {
            assert.throws(
                () => buildTopology(bad),
                /name: a lab name is 1 to 12 lowercase letters or digits starting with a letter, got/,
                JSON.stringify(bad),
            );
        }
    });
});

describe("lab names", function () {
    it("derives the default from the checkout's real path: stable for one checkout, different for another", async function () {
        const base = await fs.mkdtemp(path.join(os.tmpdir(), "lab-name-"));
        try {
            await Promise.all(["one", "two"].map((dir) => fs.mkdir(path.join(base, dir))));
            await fs.symlink(path.join(base, "one"), path.join(base, "link"));
            const one = defaultLabName(path.join(base, "one"));
            assert.match(one, /^lab[0-9a-f]{6}$/);
            assert.equal(defaultLabName(path.join(base, "one")), one, "stable");
            assert.equal(defaultLabName(path.join(base, "link")), one, "a symlink to the checkout is the same checkout");
            assert.notEqual(defaultLabName(path.join(base, "two")), one);
            assert.match(defaultLabName(), LAB_NAME_PATTERN, "this checkout's");
        } finally {
            await fs.rm(base, { recursive: true, force: true });
        }
    });

    it("gives every test run its own random name", function () {
        const names = Array.from({ length: 50 }, () => randomLabName("t"));
        assert.equal(new Set(names).size, names.length);
        for (const name of names) {
            assert.match(name, /^t[0-9a-f]{6}$/);
        }
        assert.throws(() => randomLabName("bench-"), /prefix: a lab name/);
    });

    it("keeps the state of each lab in its own directory", function () {
        assert.equal(labStateDir("labx1"), "/run/oneedge-lab/labx1");
        assert.throws(() => labStateDir("../etc"), /name: a lab name/);
        assert.equal(validateLabName("z9"), "z9");
    });
});

describe("lab FRR output parsers", function () {
    it("reads BGP peers from `show bgp l2vpn evpn summary json`", function () {
        const json = JSON.stringify({
            routerId: "192.168.0.2",
            as: 65000,
            peers: {
                "192.168.0.1": { hostname: "ingress", state: "Established", pfxRcd: 6 },
                "192.168.0.9": { state: "Active", pfxRcd: 0 },
            },
        });
        assert.deepEqual(parseBgpPeers(json), [
            { address: "192.168.0.1", state: "Established", prefixesReceived: 6 },
            { address: "192.168.0.9", state: "Active", prefixesReceived: 0 },
        ]);
    });

    it("reads type-2 and type-3 routes and their best next hop from `show bgp l2vpn evpn json`", function () {
        const path = (ip: string, best: boolean) => ({
            valid: true,
            ...(best ? { bestpath: true } : {}),
            nexthops: [{ ip, afi: "ipv4", used: true }],
        });
        const json = JSON.stringify({
            bgpTableVersion: 2,
            bgpLocalRouterId: "192.168.0.2",
            "192.168.0.3:2": {
                rd: "192.168.0.3:2",
                "[2]:[0]:[48]:[02:00:ac:11:02:03]": {
                    prefix: "[2]:[0]:[48]:[02:00:ac:11:02:03]",
                    paths: [path("192.168.0.9", false), path("192.168.0.3", true)],
                },
                "[3]:[0]:[32]:[192.168.0.3]": { prefix: "[3]:[0]:[32]:[192.168.0.3]", paths: [[path("192.168.0.3", true)]] },
            },
        });
        assert.deepEqual(parseEvpnRoutes(json), [
            { type: 2, rd: "192.168.0.3:2", prefix: "[2]:[0]:[48]:[02:00:ac:11:02:03]", mac: "02:00:ac:11:02:03", nextHop: "192.168.0.3" },
            { type: 3, rd: "192.168.0.3:2", prefix: "[3]:[0]:[32]:[192.168.0.3]", originator: "192.168.0.3", nextHop: "192.168.0.3" },
        ]);
    });
});
