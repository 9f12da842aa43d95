import * as assert from "assert";
import { clusterSizes } from "../../scripts/bench/fleet";
import type { BenchmarkRow } from "../../scripts/bench/index";
import type { EvaluationResult, ScaleResult } from "../../scripts/bench/scale";
import { SCALE_TARGETS, marginalCpuMsPerHost, measureEvaluation, measureInChild, medianRun, scaleRows } from "../../scripts/bench/scale";

/** Resources one more KVM host adds: droplet, 6 host-script commands, OpenNebula host, 3 WireGuard and 2 FRR commands. */
const PER_HOST = 1 + 6 + 1 + 3 + 2;

function result(kind: "fleet" | "flat" | "bare", hosts: number, cpuMs: number, extra: Partial<EvaluationResult> = {}): EvaluationResult {
    const resources = 13 * hosts + 23;
    return {
        spec: kind === "bare" ? { kind, resources } : { kind, hosts },
        resources,
        customResources: resources,
        types: {},
        wallMs: cpuMs,
        cpuMs,
        peakRssMiB: 100,
        retainedHeapMiB: 10,
        providerBytes: {},
        ...extra,
    };
}

function find(rows: BenchmarkRow[], metric: string): BenchmarkRow {
    const found = rows.find((row) => row.metric === metric);
    if (!found) throw new Error(`no row "${metric}" among ${rows.map((row) => row.metric).join(" | ")}`);
    return found;
}

describe("bench scale: program evaluation under mocks", function () {
    this.timeout(120000);

    it("spreads hosts over edge clusters of at most 50", function () {
        assert.deepStrictEqual(clusterSizes(1), [1]);
        assert.deepStrictEqual(clusterSizes(50), [50]);
        assert.deepStrictEqual(clusterSizes(120), [50, 50, 20]);
        assert.throws(() => clusterSizes(0), /hosts must be an integer from 1 to 2000, got 0/);
    });

    it("registers the fleet with the overlay: a fixed set of resources plus the same number per host", async function () {
        const [one, three] = [await measureEvaluation({ kind: "fleet", hosts: 1 }), await measureEvaluation({ kind: "fleet", hosts: 3 })];
        assert.strictEqual(three.resources - one.resources, 2 * PER_HOST);
        assert.strictEqual(three.types["command:remote:Command"] - one.types["command:remote:Command"], 2 * 11);
        assert.ok(one.customResources < one.resources, "components are counted but are not custom resources");
        assert.ok(one.cpuMs > 0 && one.wallMs > 0 && one.peakRssMiB > 0);
    });

    it("declares flat exactly the custom resources the fleet creates, over one cluster and over two", async function () {
        for (const hosts of [2, 51]) {
            const [fleet, flat] = [await measureEvaluation({ kind: "fleet", hosts }), await measureEvaluation({ kind: "flat", hosts })];
            assert.deepStrictEqual(flat.types, fleet.types, `${hosts} hosts`);
            assert.strictEqual(flat.resources, flat.customResources, "no components");
        }
    });

    it("records the serialized provider of every OpenNebula type as the engine receives it, small enough for the target", async function () {
        const fleet = await measureEvaluation({ kind: "fleet", hosts: 1 });
        const types = Object.keys(fleet.providerBytes)
            .map((type) => type.split(":").pop())
            .sort();
        assert.deepStrictEqual(types, ["Cluster", "ClusterMembership", "Datastore", "Host", "VirtualNetwork"]);
        for (const [type, bytes] of Object.entries(fleet.providerBytes)) {
            assert.ok(bytes > 500 && bytes <= SCALE_TARGETS.providerBytes, `${type}: ${bytes} bytes`);
        }
        assert.deepStrictEqual(
            (await measureEvaluation({ kind: "bare", resources: 3 })).providerBytes,
            {},
            "no dynamic resources, no providers",
        );
    });

    it("registers exactly the bare resources asked for", async function () {
        const bare = await measureEvaluation({ kind: "bare", resources: 25 });
        assert.strictEqual(bare.resources, 25);
        assert.deepStrictEqual(bare.types, { "bench:index:Bare": 25 });
    });

    it("measures in a fresh node process, with the heap retained after a full GC", async function () {
        const child = await measureInChild({ kind: "bare", resources: 10 });
        assert.strictEqual(child.resources, 10);
        assert.ok(Number.isFinite(child.retainedHeapMiB) && child.retainedHeapMiB > 0, `retained ${child.retainedHeapMiB} MiB`);
    });

    it("derives CPU per host, per added host and the overhead, and flags growth faster than linear", function () {
        const sizes = [1, 10, 100, 1000];
        const linear: ScaleResult = {
            fleet: sizes.map((n) => result("fleet", n, 3000 + 30 * (n - 1))),
            bare: sizes.map((n) => result("bare", n, 2 * n)),
            flat: sizes.map((n) => result("flat", n, 2900 + 28 * (n - 1))),
        };
        assert.deepStrictEqual(marginalCpuMsPerHost(linear.fleet), [undefined, 30, 30, 30]);
        const rows = scaleRows(linear);
        assert.strictEqual(find(rows, "CPU per added host, 1000 / 100 hosts").value, 1);
        assert.strictEqual(find(rows, "CPU per added host, 1000 / 100 hosts").met, true);
        assert.strictEqual(find(rows, "CPU per host, 1000 / 100 hosts").value, Math.round((32970 / 1000 / (5970 / 100)) * 100) / 100);
        assert.strictEqual(find(rows, "CPU per host, 1000 / 100 hosts").met, true, "the fixed cost spreads over more hosts");
        const overhead = find(rows, "1000 host(s): CPU fleet / flat (component overhead)");
        assert.strictEqual(overhead.value, Math.round(((3000 + 30 * 999) / (2900 + 28 * 999)) * 100) / 100);
        assert.strictEqual(overhead.met, true);
        assert.strictEqual(find(rows, "1000 host(s): wall time").target, `≤ ${SCALE_TARGETS.wallSecondsAt1000}`);
        assert.strictEqual(find(rows, "1000 host(s): wall time").met, false, "32.97 s");
        assert.strictEqual(find(rows, "1000 host(s): peak RSS").met, true);
        assert.strictEqual(find(rows, "100 host(s): wall time").target, "", "the wall and memory targets are for 1000 hosts");

        const quadratic: ScaleResult = { ...linear, fleet: sizes.map((n) => result("fleet", n, 3000 + 0.3 * (n - 1) ** 2)) };
        const quadraticRows = scaleRows(quadratic);
        assert.strictEqual(find(quadraticRows, "CPU per added host, 1000 / 100 hosts").met, false);
        assert.strictEqual(find(quadraticRows, "CPU per host, 1000 / 100 hosts").met, false);
        assert.strictEqual(find(quadraticRows, "1000 host(s): CPU fleet / flat (component overhead)").met, false);
    });

    it("keeps the run with the median CPU time of several rounds", function () {
        const runs = [900, 700, 2000].map((cpuMs) => result("fleet", 10, cpuMs));
        assert.strictEqual(medianRun(runs), runs[0]);
        assert.strictEqual(medianRun([runs[1]]), runs[1]);
    });

    it("flags the component overhead at any size, and a provider text over 16 KB", function () {
        const sizes = [1, 10, 100, 1000];
        const heavyAt100: ScaleResult = {
            fleet: sizes.map((n) =>
                result("fleet", n, n === 100 ? 1200 : 1000, {
                    providerBytes: { "pulumi-nodejs:dynamic/opennebula-edge:Host": n === 10 ? 90_000 : 2_600 },
                }),
            ),
            bare: sizes.map((n) => result("bare", n, 10)),
            flat: sizes.map((n) => result("flat", n, 1000)),
        };
        const rows = scaleRows(heavyAt100);
        assert.strictEqual(find(rows, "100 host(s): CPU fleet / flat (component overhead)").met, false);
        assert.strictEqual(find(rows, "1000 host(s): CPU fleet / flat (component overhead)").met, true);
        const provider = find(rows, "__provider per OpenNebula object, largest type (Host)");
        assert.deepStrictEqual([provider.value, provider.unit, provider.met], [90, "KB", false]);
    });
});
