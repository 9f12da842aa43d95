/** scripts/lab/growth.ts, firewall.ts and boot.ts: the pure parts of the lab's firewall, reboot and growth (no root needed). */
import { strict as assert } from "assert";
import { bootOrder } from "../../scripts/lab/boot";
import { labFirewall } from "../../scripts/lab/firewall";
import { withExtraHost } from "../../scripts/lab/growth";
import { buildTopology } from "../../scripts/lab/topology";

describe("lab firewall, reboot and growth plans (pure)", function () {
    it("adds a fifth host: the next underlay address of its cluster, the next wg address, one more reflector client, nothing else changed", function () {
        const before = buildTopology("lab1");
        const { topology, node } = withExtraHost(before, "ec2");
        assert.deepEqual([node.name, node.cluster, node.underlayIp, node.netns], ["kvm5", "ec2", "10.202.0.3", "lab1-kvm5"]);
        const address = (plan: typeof topology.wireguard, name: string) => plan.nodes.find((n) => n.name === name)!.address;
        for (const old of before.wireguard.nodes)
            assert.equal(address(topology.wireguard, old.name), old.address, `${old.name} keeps its address`);
        assert.equal(address(topology.wireguard, "kvm5"), "192.168.0.6");
        for (const old of before.wireguard.nodes) {
            const peers = topology.wireguard.nodes.find((n) => n.name === old.name)!.peers.map((peer) => peer.name);
            assert.deepEqual(peers, [...old.peers.map((peer) => peer.name), "kvm5"], `${old.name} gains kvm5 as a peer (mesh)`);
        }
        const files = (name: string, t = topology) => t.fabric.find((f) => f.name === name)!;
        for (const host of ["kvm1", "kvm2", "kvm3", "kvm4"])
            assert.deepEqual(files(host), files(host, before), `${host}'s FRR files do not change`);
        assert.match(files("ingress").bgpdConf, /neighbor 192\.168\.0\.6 peer-group fabric/);
        assert.doesNotMatch(files("ingress", before).bgpdConf, /192\.168\.0\.6/);
        assert.equal(withExtraHost(topology, "ec2").node.underlayIp, "10.202.0.4");
        assert.throws(() => withExtraHost(before, "control"), /cluster: must be one of ec1, ec2/);
    });

    it("gives KVM hosts an edge host's allow-list (their cluster's range and the overlay) and the ingress the overlay's, without boot units unless asked", function () {
        const t = buildTopology("lab1");
        const kvm3 = labFirewall(t, "kvm3").environment;
        assert.equal(kvm3.FIREWALL_TRUSTED_SOURCES, "10.202.0.0/24 192.168.0.0/24");
        assert.deepEqual(
            [kvm3.FIREWALL_WIREGUARD_PORT, kvm3.FIREWALL_OVERLAY_INTERFACE, kvm3.FIREWALL_MODE, kvm3.BOOT_UNITS],
            ["51820", "wg0", "strict", "no"],
        );
        assert.equal(labFirewall(t, "ingress").environment.FIREWALL_TRUSTED_SOURCES, "192.168.0.0/24");
        assert.equal(labFirewall(t, "kvm1", { bootUnit: true }).environment.BOOT_UNITS, "yes");
    });

    it("runs the enabled units in their After= order, only the package's, and refuses a cycle", function () {
        const unit = (after: string, start: string) => `[Unit]\nAfter=${after}\n\n[Service]\nExecStart=/usr/bin/bash ${start}\n`;
        const units = bootOrder({
            "opennebula-edge-wireguard-wg0.service": unit(
                "network-online.target opennebula-edge-firewall.service",
                "/etc/opennebula-edge/boot/wireguard-wg0.sh",
            ),
            "opennebula-edge-firewall.service": unit("local-fs.target", "/etc/opennebula-edge/boot/firewall.sh"),
            "ssh.service": unit("network.target", "/usr/sbin/sshd"),
        });
        assert.deepEqual(
            units.map((u) => u.name),
            ["opennebula-edge-firewall.service", "opennebula-edge-wireguard-wg0.service"],
        );
        assert.deepEqual(units[1].execStart, [["/usr/bin/bash", "/etc/opennebula-edge/boot/wireguard-wg0.sh"]]);
        assert.throws(
            () =>
                bootOrder({
                    "opennebula-edge-a.service": unit("opennebula-edge-b.service", "a"),
                    "opennebula-edge-b.service": unit("opennebula-edge-a.service", "b"),
                }),
            /form a cycle/,
        );
    });
});
