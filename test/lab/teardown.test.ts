/**
 * Lab teardown after a crash: no state file, an orphaned process in a VM namespace, a lab left
 * over by an earlier `up`. `down` must still leave no namespace, process or mount behind.
 */
import { strict as assert } from "assert";
import { spawn } from "child_process";
import { promises as fs } from "fs";
import * as path from "path";
import { Lab } from "../../scripts/lab/lab";
import { waitUntil } from "../../scripts/lab/process";
import { stillRunning } from "../../scripts/lab/teardown";
import { LAB_TEST_DIR, downLab, skipUnlessLabCanRun, upLab } from "./lab-support";

describe("lab: teardown", function () {
    this.timeout(120_000);

    before(function () {
        skipUnlessLabCanRun(this);
    });

    after(async function () {
        await downLab();
    });

    it("`up` replaces the leftovers of an earlier lab", async function () {
        await upLab({ waitForConvergence: false });
        const first = (await Lab.leftovers(LAB_TEST_DIR)).processes;
        const second = await upLab({ startBgp: false });
        assert.deepEqual(await stillRunning(first), [], "nothing of the first lab runs");
        assert.ok(await second.ping("vm1", "vm3") === false, "the new lab has no BGP yet, so no overlay");
        const commands = (await Lab.leftovers(LAB_TEST_DIR)).processes.map((p) => p.command);
        assert.ok(!commands.includes("bgpd") && commands.includes("wireguard-go"));
    });

    it("`down` removes everything by prefix after a crash (state file lost, orphaned process)", async function () {
        const lab = await upLab({ waitForConvergence: false });
        const orphan = spawn("ip", ["netns", "exec", "labvm1", "sleep", "600"], { detached: true, stdio: "ignore" });
        orphan.unref();
        await fs.rm(path.join(LAB_TEST_DIR, "state.json"));

        await waitUntil("the orphan to run", async () => (await Lab.leftovers(LAB_TEST_DIR)).processes.some((p) => p.pid === orphan.pid), 10_000);
        const before = await Lab.leftovers(LAB_TEST_DIR);
        assert.equal(before.namespaces.length, 2 + lab.hosts.length * 2, "internet, ingress, hosts and VMs");
        const commands = new Set(before.processes.map((p) => p.command));
        for (const command of ["sleep", "zebra", "bgpd", "wireguard-go"]) {
            assert.ok(commands.has(command), `${command} is running before down`);
        }

        const report = await Lab.down({ dir: LAB_TEST_DIR });
        assert.ok(report.processes.some((p) => p.pid === orphan.pid), "the orphan was found");
        assert.deepEqual(await Lab.leftovers(LAB_TEST_DIR), { namespaces: [], processes: [], mounts: [] });
        assert.deepEqual(await stillRunning(before.processes), []);
        const mounts = await fs.readFile("/proc/self/mountinfo", "utf8");
        assert.doesNotMatch(mounts, /\/run\/netns\/lab|lab-wireguard|lab-frr/);
        await assert.rejects(fs.stat(LAB_TEST_DIR), "the state directory is gone");
    });
});
