import * as assert from "assert";
import type { ApiCost } from "../../scripts/bench/api-cost";
import { apiCostRows, linearFit, measureApiCost } from "../../scripts/bench/api-cost";

describe("bench api-cost: XML-RPC calls of an edge cluster's lifecycle, driven through its dynamic providers", function () {
    this.timeout(120000);
    let one: ApiCost;
    let two: ApiCost;

    before(async function () {
        one = await measureApiCost(1);
        two = await measureApiCost(2);
    });

    it("creates every OpenNebula object of the edge cluster and leaves nothing behind after the destroy", function () {
        assert.deepStrictEqual(one.objectsByType, {
            "opennebula-edge:Cluster": 1,
            "opennebula-edge:ClusterMembership": 2,
            "opennebula-edge:Datastore": 2,
            "opennebula-edge:Host": 1,
            "opennebula-edge:VirtualNetwork": 1,
        });
        assert.strictEqual(two.objectsByType["opennebula-edge:Host"], 2);
        assert.strictEqual(one.objects, 7);
        assert.strictEqual(two.objects, 8);
        assert.strictEqual(one.leftAfterDestroy, 0);
        assert.strictEqual(two.leftAfterDestroy, 0);
    });

    it("counts the double's calls per step: a refresh reads each object once, an unchanged up calls nothing", function () {
        for (const cost of [one, two]) {
            assert.strictEqual(cost.refresh, cost.objects);
            assert.strictEqual(cost.upNoChange, 0);
        }
        assert.strictEqual(one.byMethod["one.host.allocate"], 1);
        assert.strictEqual(two.byMethod["one.host.allocate"], 2);
        assert.strictEqual(two.byMethod["one.host.delete"], 2);
        assert.strictEqual(two.byMethod["one.cluster.allocate"], 1, "one cluster whatever the number of hosts");
    });

    it("sizes the objects' state, serialized providers included", function () {
        assert.ok(one.providerBytes > 0 && one.providerBytes < one.stateBytes, `${one.providerBytes} of ${one.stateBytes} bytes`);
        assert.ok(two.stateBytes > one.stateBytes, "a second host adds its state");
        assert.ok(two.providerBytes > one.providerBytes, "every object carries its provider");
    });

    it("costs a second host one host's calls: allocate, offline, template, enable, and the monitoring reads", function () {
        // Waiting for MONITORED polls, so a host's create is 5 calls, or 6 when the first read is too early.
        assert.ok([5, 6].includes(two.create - one.create), `a second host cost ${two.create - one.create} create calls`);
        assert.strictEqual(two.refresh - one.refresh, 1);
        const sum = (cost: ApiCost) => cost.create + cost.refresh + cost.destroy;
        assert.strictEqual(
            Object.values(two.byMethod).reduce((a, b) => a + b, 0),
            sum(two),
            "byMethod adds up to the steps",
        );
    });

    it("fits calls to fixed + per host × N and notices growth faster than N", function () {
        assert.deepStrictEqual(linearFit([1, 10, 50], [16, 61, 261]), { fixed: 11, perHost: 5, linear: true });
        assert.strictEqual(linearFit([1, 10, 50], [1, 100, 2500]).linear, false, "quadratic");
        assert.strictEqual(linearFit([1, 10, 50], [11, 21, 60]).linear, true, "one poll of jitter is still linear");
    });

    it("flags a refresh that costs more than one call per object", function () {
        const rows = apiCostRows([{ ...one, refresh: one.objects + 3 }, two]);
        const refresh = rows.find((row) => row.metric === "1 host(s): refresh, no change")!;
        assert.strictEqual(refresh.met, false);
        assert.strictEqual(rows.find((row) => row.metric === "2 host(s): refresh, no change")!.met, true);
    });
});
