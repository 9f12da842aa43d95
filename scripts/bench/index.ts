/**
 * `npm run bench`: runs the benchmarks, prints a table and writes bench-results.json in the
 * package root. Benchmarks that cannot run here (e.g. the lab without root) are reported as
 * skipped with the reason.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { labPrerequisiteProblems, onPath, packageRoot } from "../lab/environment";
import { measureOpenNebulaCalls } from "./opennebula-calls";
import { OVERLAY_TARGETS, runOverlayBenchmark } from "./overlay";

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

/** Every benchmark `npm run bench` runs, in order (`npm run bench -- <name> …` runs only those named). */
export const BENCHMARKS: Benchmark[] = [openNebulaCallsBenchmark, overlayBenchmark];

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
        results[benchmark.name] = { rows: outcome.rows, raw: outcome.raw };
    }
    console.log(formatTable(rows));
    const file = path.join(packageRoot(), "bench-results.json");
    await fs.writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`);
    console.log(`\nwritten: ${file}`);
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(`bench: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
        process.exitCode = 1;
    });
}
