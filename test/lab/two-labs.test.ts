/**
 * Two labs on one machine at once: built at the same time, each passes its checks (every BGP
 * session of its reflector Established, VM ↔ VM pings across its clusters), neither creates a
 * device in the root namespace, and each `down` leaves the other one intact and working.
 */
import { strict as assert } from "assert";
import { Lab } from "../../scripts/lab/lab";
import { run } from "../../scripts/lab/process";
import type { LabLeftovers } from "../../scripts/lab/teardown";
import { stillRunning } from "../../scripts/lab/teardown";
import { labDeviceNames } from "../../scripts/lab/topology";
import { downLab, newLabName, skipUnlessLabCanRun, upLab } from "./lab-support";

/** Every BGP session of the reflector is Established, and every VM pings a VM of another cluster and back. */
async function assertWorks(lab: Lab): Promise<void> {
    const sessions = await lab.bgpPeers("ingress");
    assert.equal(sessions.length, lab.hosts.length, `${lab.name}: one session per KVM host`);
    assert.ok(
        sessions.every((peer) => peer.state === "Established"),
        `${lab.name}: ${JSON.stringify(sessions)}`,
    );
    const clusterOf = (host: string) => lab.nodes.find((node) => node.name === host)?.cluster;
    for (const vm of lab.vms) {
        const far = lab.vms.find((other) => clusterOf(other.host) !== clusterOf(vm.host));
        assert.ok(far, `${lab.name}: a VM in another cluster than ${vm.name}'s`);
        await lab.waitForPing(vm.name, far.name, 30_000);
        await lab.waitForPing(far.name, vm.name, 30_000);
    }
}

/** Its namespaces still exist and every process it had still runs (same pid, same start time). */
async function assertIntact(name: string, before: LabLeftovers): Promise<void> {
    const now = await Lab.leftovers(name);
    assert.deepEqual(now.namespaces, before.namespaces, `${name}'s namespaces`);
    assert.deepEqual(await stillRunning(before.processes), before.processes, `${name}'s processes`);
}

async function rootLinks(): Promise<Set<string>> {
    const result = await run(["ip", "-o", "link", "show"]);
    return new Set(
        result.stdout
            .split("\n")
            .map((line) => line.split(": ")[1]?.split("@")[0])
            .filter((name): name is string => Boolean(name)),
    );
}

describe("lab: two labs on one machine", function () {
    this.timeout(300_000);
    const first = newLabName();
    const second = newLabName();

    before(function () {
        skipUnlessLabCanRun(this);
    });

    after(async function () {
        await Promise.all([downLab(first), downLab(second)]);
    });

    it("builds both at once; both work; neither puts a device in the root namespace", async function () {
        const linksBefore = await rootLinks();
        const [a, b] = await Promise.all([upLab(first), upLab(second, { clusters: 2, hostsPerCluster: 1, vni: 200 })]);
        await assertWorks(a);
        await assertWorks(b);
        const added = [...(await rootLinks())].filter((link) => !linksBefore.has(link));
        const ours = new Set(
            [a, b].flatMap((lab) => [
                ...labDeviceNames(lab.topology),
                `onebr.${lab.topology.network.VLAN_ID}`,
                `wg0.${lab.topology.network.VLAN_ID}`,
            ]),
        );
        assert.deepEqual(
            added.filter((link) => ours.has(link)),
            [],
            "no lab device in the root namespace",
        );
        const namespaces = (await run(["ip", "netns", "list"])).stdout;
        assert.match(namespaces, new RegExp(`^${first}-inet`, "m"));
        assert.match(namespaces, new RegExp(`^${second}-inet`, "m"));
    });

    it("`down` of the first leaves the second intact and working", async function () {
        const secondBefore = await Lab.leftovers(second);
        await Lab.down({ name: first });
        assert.deepEqual(await Lab.leftovers(first), { namespaces: [], processes: [], mounts: [] });
        await assertIntact(second, secondBefore);
        await assertWorks(await Lab.open(second));
    });

    it("`down` of the second leaves a first built again intact and working", async function () {
        const a = await upLab(first, { clusters: 2, hostsPerCluster: 1 });
        await assertWorks(a);
        const firstBefore = await Lab.leftovers(first);
        await Lab.down({ name: second });
        assert.deepEqual(await Lab.leftovers(second), { namespaces: [], processes: [], mounts: [] });
        await assertIntact(first, firstBefore);
        await assertWorks(a);
    });
});
