/**
 * Overlay benchmark on the local lab (real WireGuard, FRR and VXLAN in namespaces):
 *
 * - throughput: iperf3 TCP VM → VM across clusters (VXLAN over WireGuard) against host → host
 *   over WireGuard alone, on the same pair of hosts, back to back; target ratio ≥ 0.93 (the
 *   ceiling is 1318/1368 ≈ 0.963, the TCP payload per packet of the two paths). Besides Mbit/s,
 *   the CPU the sending and the receiving host's wireguard-go spend per MB, which includes the
 *   kernel's work in their threads (for the overlay: VXLAN, bridge, the VM's NIC) and depends far
 *   less on the load of a shared machine than throughput does. The overlay is measured with the
 *   hosts' br_netfilter hooks off, and (when the module is loaded) also on. When the lab runs
 *   another wireguard-go than the distribution's (setup.sh installs one with TUN offloads), each
 *   round also measures the distribution's on the same lab, back to back (the order alternating
 *   from round to round), so the two builds are compared in pairs;
 * - convergence: from starting bgpd on every node (with all sessions down, remote MACs gone and
 *   the guests' ARP caches empty) to the first VM → VM reply, and where the time goes: the host
 *   script, bgpd's start, the sessions, the flood entries (type-3 routes in the kernel);
 * - migration: the outage a VM on a third host sees while it pings the migrating VM every 20 ms
 *   (the longest gap between replies around the switch-over), and, as measured before, the time
 *   from the start of the whole migration to a reply.
 *
 * The lab uses kernel WireGuard where the kernel has the module, wireguard-go otherwise; the
 * result says which, and which wireguard-go (version, TUN offloads on or off).
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import type { MigrationTimes } from "../lab/lab";
import { Lab } from "../lab/lab";
import { LAB_RUN_VARIABLE, randomLabName } from "../lab/naming";
import { processCpuMs, processStartedAt, run, sleep, waitUntil } from "../lab/process";
import type { WireGuardInUse } from "../lab/wireguard-go";
import { formatWireGuardInUse } from "../lab/wireguard-go";

/** Options of {@link runOverlayBenchmark}. */
export interface OverlayBenchmarkOptions {
    /** Name of the lab the benchmark builds (and removes). Default a fresh `bench<6 hex digits>`. */
    labName?: string;
    /** Seconds per iperf3 run. Default 5. */
    iperfSeconds?: number;
    /** Throughput rounds (each: WireGuard, overlay, overlay with br_netfilter; and the baseline's WireGuard and overlay). Default 4. */
    throughputRounds?: number;
    /**
     * The wireguard-go program the lab runs (see {@link LabOptions.wireguardGo}). Default the lab's
     * choice: the one setup.sh installed when it is there.
     */
    wireguardGo?: string;
    /**
     * A second wireguard-go measured in pairs with the first, on the same lab; `false`: none.
     * Default `wireguard-go` on PATH (the distribution's) when it is another program than the lab's.
     */
    baselineWireguardGo?: string | false;
    /** Convergence measurements. Default 5. */
    convergenceRounds?: number;
    /** Migrations measured. Default 5. */
    migrations?: number;
    /** Progress messages. Default: none. */
    log?: (message: string) => void;
}

/** Where a convergence round spent its time: ms from the call that starts bgpd on every node. */
export interface ConvergenceSteps {
    /** The last node's host script (frr-apply.sh) returned. */
    scriptsDone: number;
    /** The last node's bgpd process started. */
    lastBgpdStarted: number;
    /** The reflector's last session came up (bgpd's log). */
    sessionsUp: number;
    /** Both hosts of the pinging VMs have the other's flood entry (type-3 route in the kernel). */
    floodEntries: number;
    /** The first VM → VM reply. */
    firstReply: number;
}

/** WireGuard and overlay throughput of a second wireguard-go, measured in pairs with the lab's own. */
export interface BaselineThroughput {
    /** Which WireGuard (as {@link OverlayBenchmarkResult.wireguardImplementation}). */
    wireguardImplementation: string;
    wireguardMbps: number;
    overlayMbps: number;
    /** Median over the rounds of overlay / WireGuard with this build. */
    overlayToWireguardRatio: number;
    /** Median over the pairs of the lab's build's overlay Mbit/s / this build's. */
    overlaySpeedup: number;
    /** The same for WireGuard alone. */
    wireguardSpeedup: number;
    /** CPU ms per MB, as {@link OverlayBenchmarkResult.wireguardCpuMsPerMB}. */
    wireguardCpuMsPerMB?: WireguardGoCpu;
    overlayCpuMsPerMB?: WireguardGoCpu;
}

/** CPU ms the sending and the receiving host's wireguard-go spent per MB delivered (medians). */
export interface WireguardGoCpu {
    sender: number;
    receiver: number;
}

/** The measured numbers. Throughputs in Mbit/s, times in ms; medians over the rounds. */
export interface OverlayBenchmarkResult {
    /** `kernel WireGuard`, or which wireguard-go (version, program, TUN offloads on or off), as the lab's hosts run it. */
    wireguardImplementation: string;
    /** Why kernel WireGuard was not measured; absent when it was. */
    kernelWireguardSkipped?: string;
    /** Host → host TCP over wg0 only. */
    wireguardMbps: number;
    /** VM → VM TCP over VXLAN over wg0, same host pair. */
    overlayMbps: number;
    /** Median over the rounds of overlay / WireGuard throughput measured back to back. */
    overlayToWireguardRatio: number;
    /** CPU of the two hosts' wireguard-go per MB, WireGuard alone; absent with kernel WireGuard. */
    wireguardCpuMsPerMB?: WireguardGoCpu;
    /** The same for the overlay. */
    overlayCpuMsPerMB?: WireguardGoCpu;
    /** The distribution's wireguard-go on the same lab, in pairs; absent when there is none to compare. */
    baseline?: BaselineThroughput;
    /** VM → VM with the hosts' br_netfilter hooks on; absent when br_netfilter is not loaded. */
    overlayBridgeNetfilterMbps?: number;
    /** Its ratio to WireGuard alone (informational: host firewall cost, not overlay cost). */
    overlayBridgeNetfilterToWireguardRatio?: number;
    /** bgpd start → first VM → VM reply, median. */
    bgpStartToFirstReplyMs: number;
    /** The slowest of the convergence rounds. */
    bgpStartToFirstReplyMaxMs: number;
    /** Medians of each step of the convergence rounds. */
    convergenceSteps: ConvergenceSteps;
    /** The outage a VM on a third host saw during the migration (longest gap between replies), median. */
    migrationRecoveryMs: number;
    /** The slowest migration. */
    migrationRecoveryMaxMs: number;
    /** Start of the whole migration (network on the destination first) → first reply, median. */
    migrationTotalMs: number;
    /** `Lab.up` until every VM reached every other. */
    labUpMs: number;
    /** Every individual sample, for the record. */
    samples: {
        overlayToWireguardRatio: number[];
        wireguardMbps: number[];
        overlayMbps: number[];
        overlayBridgeNetfilterMbps: number[];
        wireguardCpuMsPerMB: WireguardGoCpu[];
        overlayCpuMsPerMB: WireguardGoCpu[];
        baseline?: {
            wireguardMbps: number[];
            overlayMbps: number[];
            wireguardCpuMsPerMB: WireguardGoCpu[];
            overlayCpuMsPerMB: WireguardGoCpu[];
        };
        convergence: ConvergenceSteps[];
        migrationRecoveryMs: number[];
        migrationTotalMs: number[];
    };
}

/** Targets of issue 13. */
export const OVERLAY_TARGETS = {
    overlayToWireguardRatio: 0.93,
    overlayRatioCeiling: 0.963,
    bgpStartToFirstReplyMs: 1500,
    migrationRecoveryMs: 300,
} as const;

/** Builds a lab, measures, and always tears the lab down. */
export async function runOverlayBenchmark(options: OverlayBenchmarkOptions = {}): Promise<OverlayBenchmarkResult> {
    const log = options.log ?? (() => undefined);
    const started = Date.now();
    const lab = await Lab.up({
        name: options.labName ?? randomLabName("bench"),
        wireguardGo: options.wireguardGo,
        log: (message) => log(`lab ${message}`),
    });
    const labUpMs = Date.now() - started;
    try {
        const inUse = await lab.wireguardInUse(lab.hosts[0].name);
        const implementation = await wireguardImplementation(lab, inUse);
        log(`WireGuard: ${implementation.wireguardImplementation}`);
        const baseline = await baselineProgram(options.baselineWireguardGo, inUse);
        const throughput = await measureThroughput(lab, {
            seconds: options.iperfSeconds ?? 5,
            rounds: options.throughputRounds ?? 4,
            baseline,
            log,
        });
        const convergence = await measureConvergence(lab, options.convergenceRounds ?? 5, log);
        const migration = await measureMigrations(lab, options.migrations ?? 5, log);
        // Each overlay run is paired with the WireGuard run just before it, so load changes on a
        // shared machine affect both sides of a ratio alike; the median ratio is reported.
        const ratios = pairRatios(throughput.overlay, throughput.wireguard);
        const netfilterRatios = pairRatios(throughput.overlayBridgeNetfilter, throughput.wireguard);
        const firstReplies = convergence.map((step) => step.firstReply);
        return {
            ...implementation,
            wireguardMbps: round(median(throughput.wireguard)),
            overlayMbps: round(median(throughput.overlay)),
            overlayToWireguardRatio: round(median(ratios), 3),
            ...(throughput.wireguardCpu.length > 0
                ? { wireguardCpuMsPerMB: medianCpu(throughput.wireguardCpu), overlayCpuMsPerMB: medianCpu(throughput.overlayCpu) }
                : {}),
            ...(throughput.baseline === undefined ? {} : { baseline: baselineResult(throughput.baseline, throughput) }),
            ...(netfilterRatios.length > 0
                ? {
                      overlayBridgeNetfilterMbps: round(median(throughput.overlayBridgeNetfilter)),
                      overlayBridgeNetfilterToWireguardRatio: round(median(netfilterRatios), 3),
                  }
                : {}),
            bgpStartToFirstReplyMs: median(firstReplies),
            bgpStartToFirstReplyMaxMs: Math.max(...firstReplies),
            convergenceSteps: medianSteps(convergence),
            migrationRecoveryMs: median(migration.recovery),
            migrationRecoveryMaxMs: Math.max(...migration.recovery),
            migrationTotalMs: median(migration.total),
            labUpMs,
            samples: {
                overlayToWireguardRatio: ratios.map((value) => round(value, 3)),
                wireguardMbps: throughput.wireguard.map((value) => round(value)),
                overlayMbps: throughput.overlay.map((value) => round(value)),
                overlayBridgeNetfilterMbps: throughput.overlayBridgeNetfilter.map((value) => round(value)),
                wireguardCpuMsPerMB: throughput.wireguardCpu,
                overlayCpuMsPerMB: throughput.overlayCpu,
                ...(throughput.baseline === undefined
                    ? {}
                    : {
                          baseline: {
                              wireguardMbps: throughput.baseline.wireguard.map((value) => round(value)),
                              overlayMbps: throughput.baseline.overlay.map((value) => round(value)),
                              wireguardCpuMsPerMB: throughput.baseline.wireguardCpu,
                              overlayCpuMsPerMB: throughput.baseline.overlayCpu,
                          },
                      }),
                convergence,
                migrationRecoveryMs: migration.recovery,
                migrationTotalMs: migration.total,
            },
        };
    } finally {
        await lab.down();
    }
}

/**
 * Which WireGuard the lab's hosts run (wireguard-up.sh takes the kernel's when `ip link add …
 * type wireguard` works), and why kernel WireGuard was not measured when it was not.
 */
async function wireguardImplementation(
    lab: Lab,
    inUse: WireGuardInUse,
): Promise<{ wireguardImplementation: string; kernelWireguardSkipped?: string }> {
    const wireguardImplementation = formatWireGuardInUse(inUse);
    if (inUse.implementation === "kernel") {
        return { wireguardImplementation };
    }
    const probe = await lab.exec(lab.hosts[0].name, ["ip", "link", "add", "wgprobe0", "type", "wireguard"]);
    if (probe.code === 0) {
        await lab.execOk(lab.hosts[0].name, ["ip", "link", "delete", "wgprobe0"]);
        return { wireguardImplementation, kernelWireguardSkipped: "the kernel has the module, but the hosts run wireguard-go" };
    }
    return {
        wireguardImplementation,
        kernelWireguardSkipped: `this kernel has no WireGuard module (${probe.stderr.trim() || "ip link add … type wireguard failed"})`,
    };
}

/**
 * The wireguard-go to compare with: `requested`, or by default `wireguard-go` on PATH when it is
 * another file than the one the hosts run; none with kernel WireGuard.
 */
async function baselineProgram(requested: string | false | undefined, inUse: WireGuardInUse): Promise<string | undefined> {
    if (requested === false || inUse.implementation === "kernel") {
        return undefined;
    }
    if (requested !== undefined) {
        return requested;
    }
    const found = (await run(["sh", "-c", "command -v wireguard-go"])).stdout.trim();
    if (found === "") {
        return undefined;
    }
    const [distribution, running] = await Promise.all(
        [fs.realpath(found), fs.realpath(inUse.program?.path ?? "")].map((p) => p.catch(() => "")),
    );
    return distribution !== "" && distribution !== running ? distribution : undefined;
}

interface ThroughputSamples {
    wireguard: number[];
    overlay: number[];
    wireguardCpu: WireguardGoCpu[];
    overlayCpu: WireguardGoCpu[];
}

/**
 * vm1 (kvm1) → vm3 (kvm3) over the overlay and kvm1 → kvm3 over wg0, back to back per round.
 * The overlay runs with the hosts' br_netfilter hooks off (the overlay's own cost) and, when
 * br_netfilter is loaded, once more with them on (the cost a filtering host adds on top). With a
 * baseline wireguard-go, every round also measures WireGuard and the overlay with it, before or
 * after the lab's own (alternating, so that neither always runs first), and the lab ends on its own.
 */
async function measureThroughput(lab: Lab, options: { seconds: number; rounds: number; baseline?: string; log: (m: string) => void }) {
    const client = lab.vms[0];
    const server = vmInOtherCluster(lab, client.name);
    const serverWg = lab.topology.wireguard.nodes.find((node) => node.name === server.host);
    if (serverWg === undefined) {
        throw new Error(`no wg address for ${server.host}`);
    }
    const own = await lab.wireguardInUse(server.host);
    const ownProgram = own.program?.path;
    const samples = (): ThroughputSamples => ({ wireguard: [], overlay: [], wireguardCpu: [], overlayCpu: [] });
    const result = {
        ...samples(),
        overlayBridgeNetfilter: [] as number[],
        baseline: options.baseline === undefined ? undefined : { ...samples(), wireguardImplementation: "" },
    };
    const pair = async (into: ThroughputSamples) => {
        const wireguard = await withWireguardGoCost(lab, client.host, server.host, () =>
            iperf(lab, client.host, server.host, serverWg.address, options.seconds),
        );
        await lab.setBridgeNetfilter(false);
        const overlay = await withWireguardGoCost(lab, client.host, server.host, () =>
            iperf(lab, client.name, server.name, server.ip, options.seconds),
        );
        into.wireguard.push(wireguard.mbps);
        into.overlay.push(overlay.mbps);
        if (wireguard.cpu !== undefined && overlay.cpu !== undefined) {
            into.wireguardCpu.push(wireguard.cpu);
            into.overlayCpu.push(overlay.cpu);
        }
        return { wireguard, overlay };
    };
    const describeCost = (cpu?: WireguardGoCpu) =>
        cpu === undefined ? "" : ` (wireguard-go CPU per MB: sender ${cpu.sender} ms, receiver ${cpu.receiver} ms)`;
    for (let round = 1; round <= options.rounds; round += 1) {
        const baselineFirst = result.baseline !== undefined && round % 2 === 0;
        const measureBaseline = async () => {
            if (options.baseline === undefined || ownProgram === undefined || result.baseline === undefined) {
                return;
            }
            await lab.switchWireguardGo(options.baseline);
            result.baseline.wireguardImplementation = formatWireGuardInUse(await lab.wireguardInUse(server.host));
            const measured = await pair(result.baseline);
            options.log(
                `throughput round ${round}, ${result.baseline.wireguardImplementation}: wg ${measured.wireguard.mbps.toFixed(0)}${describeCost(measured.wireguard.cpu)}, overlay ${measured.overlay.mbps.toFixed(0)} Mbit/s${describeCost(measured.overlay.cpu)}`,
            );
            await lab.switchWireguardGo(ownProgram);
        };
        if (baselineFirst) {
            await measureBaseline();
        }
        const { wireguard, overlay } = await pair(result);
        if (await lab.setBridgeNetfilter(true)) {
            result.overlayBridgeNetfilter.push(await iperf(lab, client.name, server.name, server.ip, options.seconds));
        }
        const withNetfilter =
            result.overlayBridgeNetfilter.length === round
                ? `, with br_netfilter ${result.overlayBridgeNetfilter[round - 1].toFixed(0)}`
                : "";
        options.log(
            `throughput round ${round}: wg ${wireguard.mbps.toFixed(0)}${describeCost(wireguard.cpu)}, overlay ${overlay.mbps.toFixed(0)}${withNetfilter} Mbit/s${describeCost(overlay.cpu)}`,
        );
        if (!baselineFirst) {
            await measureBaseline();
        }
    }
    return result;
}

/**
 * Runs `measure` and reports, next to its Mbit/s, the CPU time the sending and the receiving
 * host's wireguard-go used per MB the receiver delivered on wg0 (undefined with kernel
 * WireGuard, which has no process). Per MB rather than per packet: with TUN offloads, one packet
 * on wg0 may carry many.
 */
async function withWireguardGoCost(
    lab: Lab,
    sender: string,
    receiver: string,
    measure: () => Promise<number>,
): Promise<{ mbps: number; cpu?: WireguardGoCpu }> {
    const daemonOf = async (host: string) => (await lab.nodeProcesses(host)).find((process) => process.command === "wireguard-go");
    const [sending, receiving] = [await daemonOf(sender), await daemonOf(receiver)];
    if (sending === undefined || receiving === undefined) {
        return { mbps: await measure() };
    }
    const bytes = async () => Number((await lab.execOk(receiver, ["cat", "/sys/class/net/wg0/statistics/rx_bytes"])).trim());
    const snapshot = async () => ({
        sender: await processCpuMs(sending.pid),
        receiver: await processCpuMs(receiving.pid),
        bytes: await bytes(),
    });
    const before = await snapshot();
    const mbps = await measure();
    const after = await snapshot();
    const megabytes = Math.max(1, after.bytes - before.bytes) / 1e6;
    return {
        mbps,
        cpu: {
            sender: round((after.sender - before.sender) / megabytes, 2),
            receiver: round((after.receiver - before.receiver) / megabytes, 2),
        },
    };
}

/** The baseline's medians, and how much faster the lab's own build was, pair by pair. */
function baselineResult(baseline: ThroughputSamples & { wireguardImplementation: string }, own: ThroughputSamples): BaselineThroughput {
    return {
        wireguardImplementation: baseline.wireguardImplementation,
        wireguardMbps: round(median(baseline.wireguard)),
        overlayMbps: round(median(baseline.overlay)),
        overlayToWireguardRatio: round(median(pairRatios(baseline.overlay, baseline.wireguard)), 3),
        overlaySpeedup: round(median(pairRatios(own.overlay, baseline.overlay)), 3),
        wireguardSpeedup: round(median(pairRatios(own.wireguard, baseline.wireguard)), 3),
        ...(baseline.wireguardCpu.length > 0
            ? { wireguardCpuMsPerMB: medianCpu(baseline.wireguardCpu), overlayCpuMsPerMB: medianCpu(baseline.overlayCpu) }
            : {}),
    };
}

/** `numerators[i] / denominators[i]` for every pair. */
function pairRatios(numerators: readonly number[], denominators: readonly number[]): number[] {
    return numerators.map((value, index) => value / denominators[index]);
}

function medianCpu(samples: readonly WireguardGoCpu[]): WireguardGoCpu {
    return {
        sender: round(median(samples.map((sample) => sample.sender)), 2),
        receiver: round(median(samples.map((sample) => sample.receiver)), 2),
    };
}

/** One iperf3 TCP run; resolves with the receiver's Mbit/s. */
async function iperf(lab: Lab, from: string, to: string, address: string, seconds: number): Promise<number> {
    const server = await lab.startBackground(to, ["iperf3", "-s", "-1", "-p", "5201", "--forceflush"], /Server listening/);
    try {
        const output = await lab.execOk(from, ["iperf3", "-c", address, "-p", "5201", "-t", String(seconds), "-J"], {
            timeoutMs: (seconds + 30) * 1000,
        });
        const report = JSON.parse(output) as { end?: { sum_received?: { bits_per_second?: number } } };
        const bits = report.end?.sum_received?.bits_per_second;
        if (typeof bits !== "number") {
            throw new Error(`iperf3 ${from} → ${to} reported no throughput`);
        }
        return bits / 1e6;
    } finally {
        server.kill("SIGTERM");
    }
}

/**
 * Stops bgpd everywhere, waits until the hosts forgot the remote VTEPs and the guests their ARP
 * entries, then starts bgpd on every node at once (the FRR host script, as a reboot would) and
 * times the first reply vm1 → far VM, with the steps on the way.
 */
async function measureConvergence(lab: Lab, rounds: number, log: (m: string) => void): Promise<ConvergenceSteps[]> {
    const vni = lab.topology.network.VLAN_ID;
    const from = lab.vms[0];
    const to = vmInOtherCluster(lab, from.name);
    const wgAddress = (host: string) => lab.topology.wireguard.nodes.find((node) => node.name === host)?.address ?? host;
    const samples: ConvergenceSteps[] = [];
    for (let round = 1; round <= rounds; round += 1) {
        await Promise.all(lab.nodes.map((node) => lab.stopBgpd(node.name)));
        await waitUntil(
            "the hosts to drop every remote flood entry",
            async () => {
                for (const host of lab.hosts) {
                    const fdb = await lab.execOk(host.name, ["bridge", "fdb", "show", "dev", `wg0.${vni}`]);
                    if (/^00:00:00:00:00:00 dst/m.test(fdb)) {
                        return false;
                    }
                }
                return true;
            },
            30_000,
        );
        await Promise.all(lab.vms.map((vm) => lab.execOk(vm.name, ["ip", "neigh", "flush", "dev", "eth0"])));
        await Promise.all(lab.nodes.map((node) => lab.execOk(node.name, ["truncate", "-s", "0", "/var/log/frr/bgpd.log"])));
        const reply = lab.firstReply(from.name, to.name, 60_000);
        const t0 = Date.now();
        const floodEntries = waitUntil(
            "both hosts to flood to each other",
            async () => {
                const [a, b] = await Promise.all([
                    lab.execOk(from.host, ["bridge", "fdb", "show", "dev", `wg0.${vni}`]),
                    lab.execOk(to.host, ["bridge", "fdb", "show", "dev", `wg0.${vni}`]),
                ]);
                return (
                    a.includes(`00:00:00:00:00:00 dst ${wgAddress(to.host)} `) &&
                    b.includes(`00:00:00:00:00:00 dst ${wgAddress(from.host)} `)
                );
            },
            60_000,
            50,
        ).then(() => Date.now() - t0);
        const scripts = await Promise.all(
            lab.nodes.map(async (node) => {
                await lab.startBgpd(node.name);
                return Date.now() - t0;
            }),
        );
        const replyMs = await reply;
        const bgpdStarts = await Promise.all(
            lab.nodes.map(
                async (node) => (await processStartedAt(Number((await lab.execOk(node.name, ["cat", "/run/frr/bgpd.pid"])).trim()))) - t0,
            ),
        );
        const steps: ConvergenceSteps = {
            scriptsDone: Math.max(...scripts),
            lastBgpdStarted: Math.max(...bgpdStarts),
            sessionsUp: (await lastSessionUp(lab, lab.nodes[0].name)) - t0,
            floodEntries: await floodEntries,
            firstReply: replyMs,
        };
        samples.push(steps);
        log(
            `convergence round ${round}: ${Object.entries(steps)
                .map(([step, ms]) => `${step} ${ms} ms`)
                .join(", ")}`,
        );
    }
    return samples;
}

/** The time of the last "%ADJCHANGE … Up" line in a node's bgpd log. */
async function lastSessionUp(lab: Lab, node: string): Promise<number> {
    const times = sessionUpTimes(await lab.execOk(node, ["cat", "/var/log/frr/bgpd.log"]));
    if (times.length === 0) {
        throw new Error(`${node}: no session came up in its bgpd log`);
    }
    return Math.max(...times);
}

/** The times (epoch ms) of the "%ADJCHANGE … Up" lines of a bgpd log (FRR logs local time with ms). */
export function sessionUpTimes(logText: string): number[] {
    return logText
        .split("\n")
        .filter((line) => /%ADJCHANGE: neighbor .* Up$/.test(line))
        .map((line) => /^(\d+)\/(\d+)\/(\d+) (\d+):(\d+):(\d+)\.(\d+)/.exec(line))
        .filter((match): match is RegExpExecArray => match !== null)
        .map(([, y, mo, d, h, mi, s, ms]) => new Date(+y, +mo - 1, +d, +h, +mi, +s, +ms).getTime());
}

/**
 * Migrates vm1 from host to host while a VM on a third host pings it every 20 ms; a migration's
 * recovery is the outage that VM saw. The total is from the start of the migration (the
 * destination's network first) to a reply after it, as measured before.
 */
async function measureMigrations(lab: Lab, count: number, log: (m: string) => void): Promise<{ recovery: number[]; total: number[] }> {
    const moving = lab.vms[0];
    // kvm1 → kvm4 (other cluster) → kvm3 → kvm2 (back to its own cluster) …
    const route = lab.hosts
        .map((host) => host.name)
        .filter((name) => name !== moving.host)
        .reverse();
    const recovery: number[] = [];
    const total: number[] = [];
    for (let i = 0; i < count; i += 1) {
        const current = lab.vms[0].host;
        const target = route[i % route.length];
        const observer = lab.vms.find((vm) => vm.name !== moving.name && vm.host !== current && vm.host !== target);
        if (observer === undefined) {
            throw new Error("the benchmark needs a VM on a third host");
        }
        const pings = pingWithTimestamps(lab, observer.name, moving.ip);
        await sleep(300);
        const started = Date.now();
        const times = await lab.migrateVm(moving.name, target);
        await lab.firstReply(observer.name, moving.name, 60_000);
        total.push(Date.now() - started);
        await sleep(200);
        recovery.push(outage(await stopPings(pings), times));
        log(
            `migration ${current} → ${target}: ${observer.name} lost ${moving.name} for ${recovery.at(-1)} ms (${total.at(-1)} ms from the start of the migration to a reply)`,
        );
    }
    return { recovery, total };
}

/**
 * The outage a migration caused, as the pinging VM saw it: the longest gap between two replies
 * around the switch-over (a ping goes out every 20 ms, so a gap includes up to 20 ms of waiting
 * for the next ping). The switch-over lies between `pausedAt`, when the command that moves the
 * NIC was started, and `resumedAt`, when the command that attaches it on the destination ended.
 */
export function outage(replies: readonly number[], times: MigrationTimes): number {
    let longest = 0;
    for (let i = 1; i < replies.length; i += 1) {
        if (replies[i] > times.pausedAt && replies[i - 1] < times.resumedAt + 1000) {
            longest = Math.max(longest, replies[i] - replies[i - 1]);
        }
    }
    if (replies.length === 0 || replies[replies.length - 1] <= times.resumedAt) {
        throw new Error("the pinging VM got no reply after the migration");
    }
    return Math.round(longest);
}

/** A ping every 20 ms from a VM, printing each reply's arrival time (`ping -D`). */
function pingWithTimestamps(lab: Lab, fromVm: string, address: string): { child: ChildProcess; output: Promise<string> } {
    const [command, ...args] = [...lab.enterArgv(fromVm), "ping", "-D", "-n", "-i", "0.02", "-W", "1", address];
    const child = spawn(command, args, {
        stdio: ["ignore", "pipe", "ignore"],
        env: { ...process.env, [LAB_RUN_VARIABLE]: lab.name },
    });
    const output = new Promise<string>((resolve) => {
        let text = "";
        child.stdout?.on("data", (chunk: Buffer) => (text += chunk.toString()));
        child.on("close", () => resolve(text));
    });
    return { child, output };
}

/** Stops the ping (SIGINT: it flushes its output) and returns its reply times in epoch ms. */
async function stopPings(pings: { child: ChildProcess; output: Promise<string> }): Promise<number[]> {
    pings.child.kill("SIGINT");
    const text = await pings.output;
    return [...text.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((match) => Number(match[1]) * 1000);
}

/** A VM whose host is in another edge cluster than `name`'s host. */
function vmInOtherCluster(lab: Lab, name: string) {
    const clusterOf = (host: string) => lab.nodes.find((node) => node.name === host)?.cluster;
    const vm = lab.vms.find((candidate) => candidate.name === name);
    const other = lab.vms.find((candidate) => vm !== undefined && clusterOf(candidate.host) !== clusterOf(vm.host));
    if (other === undefined) {
        throw new Error(`the benchmark needs a VM in another cluster than ${name}'s`);
    }
    return other;
}

function medianSteps(samples: readonly ConvergenceSteps[]): ConvergenceSteps {
    const of = (step: keyof ConvergenceSteps) => median(samples.map((sample) => sample[step]));
    return {
        scriptsDone: of("scriptsDone"),
        lastBgpdStarted: of("lastBgpdStarted"),
        sessionsUp: of("sessionsUp"),
        floodEntries: of("floodEntries"),
        firstReply: of("firstReply"),
    };
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number, digits = 1): number {
    const factor = 10 ** digits;
    return Math.round(value * factor) / factor;
}
