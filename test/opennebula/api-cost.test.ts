import * as assert from "assert";
import { measureOpenNebulaCalls } from "../../scripts/bench/opennebula-calls";

describe("OpenNebula API cost per lifecycle step (double's counters)", function () {
    it("refreshes every resource with exactly one call, and creates, updates and deletes with a handful", async function () {
        const rows = await measureOpenNebulaCalls();
        assert.deepStrictEqual(rows.map((r) => r.resource), ["Cluster", "Host", "Datastore", "VirtualNetwork", "VirtualNetworkTemplate"]);
        for (const row of rows) {
            assert.strictEqual(row.refresh, 1, `${row.resource}: a refresh with no change is one info call`);
            // Creating a host polls until it is MONITORED, so its count depends on timing: a handful, not a fixed number.
            for (const step of ["create", "update", "delete"] as const) {
                assert.ok(row[step] >= 1 && row[step] <= 8, `${row.resource} ${step}: ${row[step]} calls`);
            }
        }
    });
});
