/**
 * Lab lifecycle by name: `up` refuses a lab that is up and replaces what a crashed one left;
 * `down` after a crash (no state file, an orphaned process, a stranded process outside the
 * lab's namespaces) leaves nothing of its lab behind, and nothing of another lab is touched.
 */
import { strict as assert } from "assert";
import type { ChildProcess } from "child_process";
import { spawn } from "child_process";
import { promises as fs } from "fs";
import * as path from "path";
import { Lab } from "../../scripts/lab/lab";
import { LAB_RUN_VARIABLE } from "../../scripts/lab/naming";
import { waitUntil } from "../../scripts/lab/process";
import type { LabProcess } from "../../scripts/lab/teardown";
import { describeProcess, stillRunning, teardown } from "../../scripts/lab/teardown";
import { downLab, newLabName, skipUnlessLabCanRun, upLab } from "./lab-support";

/** Starts `sleep 600` (detached) with `env` added, optionally inside a namespace; resolves with its process. */
async function startSleeper(env: Record<string, string>, netns?: string): Promise<{ child: ChildProcess; process: LabProcess }> {
    const argv = netns === undefined ? ["sleep", "600"] : ["ip", "netns", "exec", netns, "sleep", "600"];
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: "ignore", env: { ...process.env, ...env } });
    child.unref();
    const pid = child.pid;
    assert.ok(pid !== undefined);
    await waitUntil("the sleeper to run", async () => (await describeProcess(pid))?.command === "sleep", 10_000, 20);
    const found = await describeProcess(pid);
    assert.ok(found);
    return { child, process: found };
}

describe("lab: lifecycle and teardown by name", function () {
    this.timeout(120_000);
    const labName = newLabName();
    const bystanders: ChildProcess[] = [];

    before(function () {
        skipUnlessLabCanRun(this);
    });

    after(async function () {
        bystanders.forEach((child) => child.kill("SIGKILL"));
        await downLab(labName);
    });

    it("`up` refuses a lab of the same name that is up, and leaves it untouched", async function () {
        await upLab(labName, { clusters: 1, hostsPerCluster: 2, waitForConvergence: false });
        const before = await Lab.leftovers(labName);
        assert.ok(await Lab.exists(labName));
        await assert.rejects(
            upLab(labName, { startBgp: false }),
            new RegExp(`a lab named "${labName}" already exists .*it was left untouched`),
        );
        assert.deepEqual(await stillRunning(before.processes), before.processes, "every process of the lab still runs");
        assert.deepEqual(await Lab.leftovers(labName), before, "same namespaces, processes and mounts");
        const lab = await Lab.open(labName);
        assert.equal((await lab.bgpPeers("ingress")).length, 2, "its reflector still has its sessions");
    });

    it("`up` replaces what a crashed lab of its name left (state file lost, or nothing left alive)", async function () {
        await downLab(labName);
        await upLab(labName, { clusters: 1, hostsPerCluster: 2, startBgp: false });
        const first = (await Lab.leftovers(labName)).processes;
        await fs.rm(path.join((await Lab.open(labName)).dir, "state.json"));
        assert.equal(await Lab.exists(labName), false, "without its state file the lab is not up");
        const second = await upLab(labName, { clusters: 1, hostsPerCluster: 2, startBgp: false });
        assert.deepEqual(await stillRunning(first), [], "nothing of the first lab runs");
        const commands = (await Lab.leftovers(labName)).processes.map((p) => p.command);
        assert.ok(commands.includes("wireguard-go"), commands.join(" "));

        // A state file whose lab has nothing left (its processes and namespaces removed by hand).
        const snapshot = (await Lab.leftovers(labName)).processes;
        await teardown({ name: labName, dir: second.dir });
        await fs.stat(path.join(second.dir, "state.json"));
        assert.equal(await Lab.exists(labName), false);
        await upLab(labName, { clusters: 1, hostsPerCluster: 1, startBgp: false });
        assert.deepEqual(await stillRunning(snapshot), []);
        assert.equal((await Lab.open(labName)).hosts.length, 1, "the new lab, not the old one");
        await assert.rejects(fs.stat(path.join(second.dir, "nodes", "kvm2")), "the old lab's node files are gone");
    });

    it("`down` after a crash removes its lab's namespaces, orphans and stranded processes, and nothing of another lab", async function () {
        await downLab(labName);
        const lab = await upLab(labName, { waitForConvergence: false });
        const orphan = await startSleeper({}, lab.vms[0].netns);
        const stranded = await startSleeper({ [LAB_RUN_VARIABLE]: labName });
        const otherName = newLabName();
        const bystander = await startSleeper({ [LAB_RUN_VARIABLE]: otherName });
        bystanders.push(bystander.child);
        await fs.rm(path.join(lab.dir, "state.json"));

        const before = await Lab.leftovers(labName);
        assert.equal(before.namespaces.length, 2 + lab.hosts.length * 2, "internet, ingress, hosts and VMs");
        const pids = before.processes.map((p) => p.pid);
        assert.ok(pids.includes(orphan.process.pid), "the orphan in a VM namespace is found");
        assert.ok(pids.includes(stranded.process.pid), "the stranded process (outside every namespace, carrying the lab's name) is found");
        assert.ok(!pids.includes(bystander.process.pid), "another lab's process is not");
        const commands = new Set(before.processes.map((p) => p.command));
        for (const command of ["sleep", "zebra", "bgpd", "wireguard-go"]) {
            assert.ok(commands.has(command), `${command} is running before down`);
        }

        const report = await Lab.down({ name: labName });
        assert.ok(
            report.processes.some((p) => p.pid === orphan.process.pid) && report.processes.some((p) => p.pid === stranded.process.pid),
        );
        assert.deepEqual(await Lab.leftovers(labName), { namespaces: [], processes: [], mounts: [] });
        assert.deepEqual(await stillRunning(before.processes), []);
        assert.deepEqual(await stillRunning([bystander.process]), [bystander.process], "another lab's process still runs");
        const mounts = await fs.readFile("/proc/self/mountinfo", "utf8");
        assert.doesNotMatch(mounts, new RegExp(`/run/netns/${labName}-|${labName}-wireguard|${labName}-frr`));
        await assert.rejects(fs.stat(lab.dir), "the state directory is gone");
    });
});
