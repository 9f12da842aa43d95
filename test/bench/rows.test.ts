/** scripts/bench: the table format (every row with its target) and the lab benchmarks' rows and growth (pure). */
import * as assert from "assert";
import type { FabricSizeResult } from "../../scripts/bench/fabric";
import { fabricGrowth } from "../../scripts/bench/fabric";
import type { BenchmarkRow } from "../../scripts/bench/index";
import { NO_TARGET, fabricRows, formatTable, overlayRows } from "../../scripts/bench/index";
import type { OverlayBenchmarkResult } from "../../scripts/bench/overlay";
import { median, outage, sessionUpTimes } from "../../scripts/bench/overlay";

const OVERLAY: OverlayBenchmarkResult = {
    wireguardImplementation: "wireguard-go",
    kernelWireguardSkipped: "this kernel has no WireGuard module",
    wireguardMbps: 400,
    overlayMbps: 376,
    overlayToWireguardRatio: 0.94,
    wireguardCpuMsPerMB: { sender: 20, receiver: 22 },
    overlayCpuMsPerMB: { sender: 26, receiver: 24 },
    bgpStartToFirstReplyMs: 2050,
    bgpStartToFirstReplyMaxMs: 2100,
    convergenceSteps: { scriptsDone: 400, lastBgpdStarted: 300, sessionsUp: 1300, floodEntries: 1450, firstReply: 2050 },
    migrationRecoveryMs: 120,
    migrationRecoveryMaxMs: 180,
    migrationTotalMs: 240,
    labUpMs: 7000,
    samples: {
        overlayToWireguardRatio: [],
        wireguardMbps: [],
        overlayMbps: [],
        overlayBridgeNetfilterMbps: [],
        wireguardCpuMsPerMB: [],
        overlayCpuMsPerMB: [],
        convergence: [],
        migrationRecoveryMs: [],
        migrationTotalMs: [],
    },
};

function size(hosts: number, type3Ms: number): FabricSizeResult {
    return {
        hosts,
        sessionsMs: type3Ms - 100,
        type3Ms,
        type3AfterLastBgpdMs: 1200,
        listenLimit: 254,
        updateGroups: 1,
        samples: { sessionsMs: [], type3Ms: [], type3AfterLastBgpdMs: [] },
    };
}

describe("bench rows and table", function () {
    it("prints every row with its target, and context rows as such", function () {
        const rows: BenchmarkRow[] = [
            { benchmark: "overlay", metric: "ratio", value: 0.94, unit: "", target: "≥ 0.93", met: true },
            { benchmark: "overlay", metric: "first reply", value: 2050, unit: "ms", target: "≤ 1500", met: false },
            { benchmark: "overlay", metric: "Mbit/s", value: 400, unit: "Mbit/s", target: "" },
        ];
        const lines = formatTable(rows).split("\n");
        assert.equal(lines.length, 5);
        assert.match(lines[2], /ratio +0\.94 +≥ 0\.93 +ok$/);
        assert.match(lines[3], /first reply +2050 ms +≤ 1500 +MISSED$/);
        assert.ok(lines[4].trimEnd().endsWith(NO_TARGET), lines[4]);
    });

    it("gives the overlay's rows the issue's targets and judges them", function () {
        const rows = overlayRows(OVERLAY);
        const byMetric = (pattern: RegExp) => {
            const found = rows.find((row) => pattern.test(row.metric));
            assert.ok(found, `a row matching ${pattern}`);
            return found;
        };
        assert.deepEqual(
            [byMetric(/^overlay \/ WireGuard/).target, byMetric(/^overlay \/ WireGuard/).met],
            ["≥ 0.93 (ceiling 0.963)", true],
        );
        assert.deepEqual([byMetric(/first VM reply \(median\)/).target, byMetric(/first VM reply \(median\)/).met], ["≤ 1500", false]);
        assert.deepEqual(
            [byMetric(/outage seen by a pinging VM \(median\)/).target, byMetric(/outage seen by a pinging VM \(median\)/).met],
            ["≤ 300", true],
        );
        assert.equal(byMetric(/^kernel WireGuard/).value, "skipped: this kernel has no WireGuard module");
        assert.equal(byMetric(/of which: reflector's sessions up/).value, 1300);
        assert.ok(!rows.some((row) => /br_netfilter on/.test(row.metric)), "no br_netfilter rows when it was not measured");
    });

    it("reports the fabric's time per added host and judges growth against linear", function () {
        const linear = fabricGrowth([size(8, 2000), size(16, 2800), size(32, 4400)]);
        assert.deepEqual(linear.perHostMs, [100, 100]);
        assert.equal(linear.ratio, 1);
        const quadratic = fabricGrowth([size(8, 64 * 10), size(16, 256 * 10), size(32, 1024 * 10)]);
        assert.ok(quadratic.ratio > 1.9, `quadratic growth shows: ${quadratic.ratio}`);
        const rows = fabricRows([size(8, 2000), size(16, 2800), { ...size(32, 4800), listenLimit: 20 }]);
        const growthRow = rows.find((row) => row.metric === "type-3 everywhere: per added host, last step / first step");
        assert.ok(growthRow);
        assert.deepEqual([growthRow.value, growthRow.target, growthRow.met], [1.25, "≤ 1.1 (linear)", false]);
        assert.ok(
            rows.some((row) => row.metric === "32 hosts: reflector's bgp listen limit" && row.met === false),
            "a listen limit below the fleet is MISSED",
        );
        assert.ok(rows.some((row) => row.metric === "8 hosts: update-groups on the reflector" && row.met === true));
        assert.equal(rows.at(-1)?.metric, "the same after the last bgpd: per added host, last step / first step");
        assert.equal(rows.at(-1)?.met, true, "a constant protocol time is at most linear");
    });

    it("measures a migration's outage as the longest gap between a pinging VM's replies around the switch-over", function () {
        const every20 = (from: number, to: number) => Array.from({ length: (to - from) / 20 + 1 }, (_, i) => from + i * 20);
        const replies = [...every20(0, 1000), ...every20(1180, 2200), ...every20(3000, 3100)];
        assert.equal(
            outage(replies, { pausedAt: 990, resumedAt: 1100 }),
            180,
            "the gap after the pause, not the later one outside the window",
        );
        assert.equal(outage(every20(0, 2000), { pausedAt: 990, resumedAt: 1100 }), 20, "no outage: one ping interval");
        assert.throws(() => outage(every20(0, 1000), { pausedAt: 990, resumedAt: 1100 }), /no reply after the migration/);
    });

    it("reads when sessions came up from a bgpd log with millisecond timestamps", function () {
        const log = [
            "2026/12/07 02:14:51.838 BGP: [N9HHH-F8H1M] %ADJCHANGE: neighbor 192.168.0.1(ingress) in vrf default Up",
            "2026/12/07 02:14:51.941 BGP: [M59KS-A3ZXZ] bgp_update_receive: rcvd End-of-RIB for L2VPN EVPN from 192.168.0.1 in vrf default",
            "2026/12/07 02:14:52.005 BGP: [N9HHH-F8H1M] %ADJCHANGE: neighbor 192.168.0.3(kvm2) in vrf default Down Peer closed the session",
            "2026/12/07 02:14:53.120 BGP: [N9HHH-F8H1M] %ADJCHANGE: neighbor 192.168.0.3(kvm2) in vrf default Up",
        ].join("\n");
        const times = sessionUpTimes(log);
        assert.equal(times.length, 2);
        assert.equal(times[1] - times[0], 1282);
        assert.equal(new Date(times[0]).getMilliseconds(), 838);
    });

    it("takes medians of odd and even counts", function () {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 3, 2]), 2.5);
    });
});
