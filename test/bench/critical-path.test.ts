import * as assert from "assert";
import { criticalPathRows, measureCriticalPath } from "../../scripts/bench/critical-path";

describe("bench critical-path: deployment time in units of a per-resource delay", function () {
    this.timeout(120000);

    it("finds the same chain of resources for one host and for three, and the deployment takes at least that many delays", async function () {
        const one = await measureCriticalPath({ hosts: 1, delayMs: 100 });
        const three = await measureCriticalPath({ hosts: 3, delayMs: 100 });
        assert.strictEqual(three.criticalPath, one.criticalPath, "hosts are deployed side by side");
        // Machine → host scripts → OpenNebula host / WireGuard → FRR: well over ten resources in a row.
        assert.ok(one.criticalPath >= 10, `critical path ${one.criticalPath}`);
        for (const run of [one, three]) {
            assert.ok(
                run.wavesInDelays >= run.criticalPath,
                `${run.hosts} host(s): ${run.wavesInDelays} delays for a chain of ${run.criticalPath}`,
            );
            assert.ok(run.totalInDelays >= run.wavesInDelays - 1);
        }
    });

    it("flags a critical path that grows with the hosts", function () {
        const base = { delayMs: 100, resources: 1, totalInDelays: 15, wavesInDelays: 14 };
        const rows = criticalPathRows([
            { ...base, hosts: 1, criticalPath: 12 },
            { ...base, hosts: 10, criticalPath: 12 },
            { ...base, hosts: 100, criticalPath: 30, wavesInDelays: 32 },
        ]);
        const check = (metric: string) => rows.find((row) => row.metric === metric)!.met;
        assert.strictEqual(check("10 host(s): criticalPath() (custom resources)"), true);
        assert.strictEqual(check("100 host(s): criticalPath() (custom resources)"), false);
        assert.strictEqual(check("100 host(s): first to last creation / delay"), false);
    });
});
