import * as assert from "assert";
import { measureOpenNebulaCalls } from "../../scripts/bench/opennebula-calls";

describe("OpenNebula API cost per lifecycle step (double's counters)", function () {
    it("refreshes every resource with one call per OpenNebula object, and creates, updates and deletes with a handful", async function () {
        const rows = await measureOpenNebulaCalls();
        // One info call per OpenNebula object behind the resource: an exported app is an image and a
        // VM template; the measured router has one VM.
        const objects: Record<string, number> = { MarketplaceApp: 2, VirtualRouter: 2 };
        assert.deepStrictEqual(
            rows.map((r) => r.resource),
            [
                "Cluster",
                "Host",
                "Datastore",
                "VirtualNetwork",
                "VirtualNetworkTemplate",
                "MarketplaceApp",
                "VirtualMachine",
                "VirtualRouter",
            ],
        );
        for (const row of rows) {
            assert.strictEqual(
                row.refresh,
                objects[row.resource] ?? 1,
                `${row.resource}: a refresh with no change is one info call per object`,
            );
            // Creating a host polls until it is MONITORED, so its count depends on timing: a handful, not a fixed number.
            for (const step of ["create", "update", "delete"] as const) {
                assert.ok(row[step] >= 1 && row[step] <= 8, `${row.resource} ${step}: ${row[step]} calls`);
            }
        }
    });
});
