/**
 * The hub topology for real: KVM hosts peer only with the ingress, which forwards VXLAN between
 * them over wg0 (one extra hop).
 */
import { strict as assert } from "assert";
import type { Lab } from "../../scripts/lab/lab";
import { downLab, newLabName, skipUnlessLabCanRun, upLab } from "./lab-support";

describe("lab: hub-and-spoke WireGuard", function () {
    this.timeout(120_000);
    const labName = newLabName();
    let lab: Lab;

    before(async function () {
        skipUnlessLabCanRun(this);
        lab = await upLab(labName, { topology: "hub" });
    });

    after(async function () {
        await downLab(labName);
    });

    it("gives each KVM host a single peer, the ingress, with the whole wg subnet", async function () {
        const peers = (await lab.execOk("kvm1", ["wg", "show", "wg0", "allowed-ips"])).trim().split("\n");
        assert.equal(peers.length, 1);
        assert.equal(peers[0].split("\t")[1], lab.topology.wireguard.subnet);
        assert.equal((await lab.execOk("ingress", ["cat", "/proc/sys/net/ipv4/ip_forward"])).trim(), "1");
    });

    it("carries VM traffic between clusters through the ingress, at the full guest MTU", async function () {
        const payload = Number(lab.topology.network.GUEST_MTU) - 28;
        assert.ok(await lab.ping("vm1", "vm4", { size: payload, dontFragment: true }));
        assert.ok(await lab.ping("vm4", "vm2"));
    });
});
