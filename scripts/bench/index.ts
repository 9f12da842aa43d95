/**
 * `npm run bench`: runs the benchmarks, prints a table and writes bench-results.json in the
 * package root (`npm run bench -- scale api-cost` runs only those named; the file keeps the other
 * benchmarks' last results, each with its date). Benchmarks that cannot run here (e.g. the lab
 * without root) are reported as skipped with the reason.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { labPrerequisiteProblems, onPath, packageRoot } from "../lab/environment";
import { apiCostRows, runApiCostBenchmark } from "./api-cost";
import { criticalPathRows, runCriticalPathBenchmark } from "./critical-path";
import { measureOpenNebulaCalls } from "./opennebula-calls";
import { OVERLAY_TARGETS, runOverlayBenchmark } from "./overlay";
import { runScaleBenchmark, scaleRows } from "./scale";
import { runWireGuardSizeBenchmark, wireguardSizeRows } from "./wireguard-size";

/** One line of the results table. */
export interface BenchmarkRow {
    benchmark: string;
    metric: string;
    value: number | string;
    unit: string;
    /** e.g. "≥ 0.85"; empty when the metric has no target. */
    target: string;
    /** true/false when there is a target, undefined otherwise. */
    met?: boolean;
}

/** A benchmark: a name and a function that measures and returns its rows and raw results. */
export interface Benchmark {
    name: string;
    /** Why it cannot run here, or undefined when it can. */
    skipReason(): string | undefined;
    run(log: (message: string) => void): Promise<{ rows: BenchmarkRow[]; raw: unknown }>;
}

/** The overlay benchmark (lab: WireGuard + FRR EVPN + VXLAN). */
export const overlayBenchmark: Benchmark = {
    name: "overlay",
    skipReason() {
        const problems = labPrerequisiteProblems();
        if (!onPath("iperf3")) {
            problems.push("missing: iperf3 (Debian package iperf3)");
        }
        return problems.length > 0 ? problems.join("; ") : undefined;
    },
    async run(log) {
        const result = await runOverlayBenchmark({ log });
        const row = (metric: string, value: number, unit: string, target = "", met?: boolean): BenchmarkRow => ({ benchmark: "overlay", metric, value, unit, target, met });
        return {
            raw: result,
            rows: [
                row("WireGuard host → host (wireguard-go)", result.wireguardMbps, "Mbit/s"),
                row("overlay VM → VM (VXLAN over WireGuard)", result.overlayMbps, "Mbit/s"),
                row("overlay / WireGuard", result.overlayToWireguardRatio, "", `≥ ${OVERLAY_TARGETS.overlayToWireguardRatio}`, result.overlayToWireguardRatio >= OVERLAY_TARGETS.overlayToWireguardRatio),
                ...(result.overlayBridgeNetfilterToWireguardRatio === undefined
                    ? []
                    : [
                          row("overlay VM → VM, hosts' br_netfilter on", result.overlayBridgeNetfilterMbps ?? 0, "Mbit/s"),
                          row("overlay (br_netfilter on) / WireGuard", result.overlayBridgeNetfilterToWireguardRatio, ""),
                      ]),
                row("bgpd start → first VM reply (median)", result.bgpStartToFirstReplyMs, "ms", `≤ ${OVERLAY_TARGETS.bgpStartToFirstReplyMs}`, result.bgpStartToFirstReplyMs <= OVERLAY_TARGETS.bgpStartToFirstReplyMs),
                row("bgpd start → first VM reply (max)", result.bgpStartToFirstReplyMaxMs, "ms"),
                row("migration → connectivity back (median)", result.migrationRecoveryMs, "ms"),
                row("migration → connectivity back (max)", result.migrationRecoveryMaxMs, "ms"),
                row("lab up (4 hosts, 4 VMs, converged)", result.labUpMs, "ms"),
            ],
        };
    },
};

/** XML-RPC calls per lifecycle step of every OpenNebula resource, from the test double's counters. */
export const openNebulaCallsBenchmark: Benchmark = {
    name: "opennebula-calls",
    skipReason: () => undefined,
    async run() {
        const calls = await measureOpenNebulaCalls();
        const rows = calls.flatMap(({ resource, ...steps }) =>
            Object.entries(steps).map(([step, count]): BenchmarkRow => ({
                benchmark: "opennebula-calls", metric: `${resource} ${step}`, value: count, unit: "calls",
                ...(step === "refresh" ? { target: "= 1", met: count === 1 } : { target: "" }),
            })));
        return { rows, raw: calls };
    },
};

/** Program evaluation under mocks for 1 to 1000 hosts, against bare resources and the same resources declared flat (scale.ts). */
export const scaleBenchmark: Benchmark = {
    name: "scale",
    skipReason: () => undefined,
    async run(log) {
        const result = await runScaleBenchmark({ log });
        return { rows: scaleRows(result), raw: result };
    },
};

/** Deployment time in units of a per-resource delay, for 1, 10 and 100 hosts (critical-path.ts). */
export const criticalPathBenchmark: Benchmark = {
    name: "critical-path",
    skipReason: () => undefined,
    async run(log) {
        const results = await runCriticalPathBenchmark({ log });
        return { rows: criticalPathRows(results), raw: results };
    },
};

/** XML-RPC calls to create, refresh, re-apply and destroy an edge cluster of N hosts (api-cost.ts). */
export const apiCostBenchmark: Benchmark = {
    name: "api-cost",
    skipReason: () => undefined,
    async run(log) {
        const results = await runApiCostBenchmark({ log });
        return { rows: apiCostRows(results), raw: results };
    },
};

/** WireGuard configuration size per host, full mesh against hub (wireguard-size.ts). */
export const wireguardSizeBenchmark: Benchmark = {
    name: "wireguard-size",
    skipReason: () => undefined,
    async run() {
        const results = runWireGuardSizeBenchmark();
        return { rows: wireguardSizeRows(results), raw: results };
    },
};

/** Every benchmark `npm run bench` runs, in order (`npm run bench -- <name> …` runs only those named). */
export const BENCHMARKS: Benchmark[] = [
    openNebulaCallsBenchmark, apiCostBenchmark, wireguardSizeBenchmark, criticalPathBenchmark, scaleBenchmark, overlayBenchmark,
];

/** Formats rows as an aligned text table. */
export function formatTable(rows: readonly BenchmarkRow[]): string {
    const cells = rows.map((r) => [r.benchmark, r.metric, `${r.value}${r.unit ? ` ${r.unit}` : ""}`, r.target, r.met === undefined ? "" : r.met ? "ok" : "MISSED"]);
    const header = ["benchmark", "metric", "value", "target", ""];
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => c.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(): Promise<void> {
    const log = (message: string) => console.error(`bench: ${message}`);
    const rows: BenchmarkRow[] = [];
    const results: Record<string, unknown> = {};
    const wanted = process.argv.slice(2);
    const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name));
    if (unknown.length > 0) throw new Error(`unknown benchmark(s) ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
    for (const benchmark of BENCHMARKS.filter((b) => wanted.length === 0 || wanted.includes(b.name))) {
        const skip = benchmark.skipReason();
        if (skip !== undefined) {
            log(`${benchmark.name} skipped: ${skip}`);
            results[benchmark.name] = { skipped: skip };
            continue;
        }
        const started = Date.now();
        const outcome = await benchmark.run(log);
        log(`${benchmark.name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
        rows.push(...outcome.rows);
        results[benchmark.name] = { date: new Date().toISOString(), rows: outcome.rows, raw: outcome.raw };
    }
    console.log(formatTable(rows));
    const file = path.join(packageRoot(), "bench-results.json");
    // A run of some benchmarks keeps the other benchmarks' last results.
    const previous = await readPreviousResults(file);
    const merged = { ...previous, ...results };
    await fs.writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), results: merged }, null, 2)}\n`);
    console.log(`\nwritten: ${file}`);
}

/** The `results` of an earlier bench-results.json, or none when there is no readable one. */
async function readPreviousResults(file: string): Promise<Record<string, unknown>> {
    try {
        const previous = JSON.parse(await fs.readFile(file, "utf8")) as { date?: string; results?: Record<string, { date?: string }> };
        // Entries written before results carried their own date get the file's.
        return Object.fromEntries(Object.entries(previous.results ?? {}).map(([name, result]) => [name, { date: previous.date, ...result }]));
    } catch {
        return {};
    }
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        process.exitCode = 1;
    });
}
