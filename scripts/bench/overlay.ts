/**
 * Overlay benchmark on the local lab (real wireguard-go, FRR and VXLAN in namespaces):
 *
 * - throughput: iperf3 TCP VM → VM across clusters (VXLAN over WireGuard) against host → host
 *   over WireGuard alone, on the same pair of hosts, interleaved; target ratio ≥ 0.85. The
 *   overlay is measured with the hosts' br_netfilter hooks off, and (when the module is loaded)
 *   also on: passing every bridged frame through iptables costs ~8 % more on this machine, a
 *   cost of host filtering rather than of the overlay;
 * - convergence: from starting bgpd on every node (with all sessions down, remote MACs gone and
 *   the guests' ARP caches empty) to the first VM → VM reply; target ≤ 3 s;
 * - migration: from starting a live migration to another host to the first reply from a VM
 *   on a third host.
 *
 * Absolute numbers depend on the machine (userspace WireGuard is CPU-bound); the ratios and
 * timings are what the targets apply to.
 */
import { Lab } from "../lab/lab";
import { randomLabName } from "../lab/naming";
import { waitUntil } from "../lab/process";

/** Options of {@link runOverlayBenchmark}. */
export interface OverlayBenchmarkOptions {
    /** Name of the lab the benchmark builds (and removes). Default a fresh `bench<6 hex digits>`. */
    labName?: string;
    /** Seconds per iperf3 run. Default 5. */
    iperfSeconds?: number;
    /** Throughput rounds (each: WireGuard, overlay, overlay with br_netfilter). Default 4. */
    throughputRounds?: number;
    /** Convergence measurements. Default 3. */
    convergenceRounds?: number;
    /** Migrations measured. Default 3. */
    migrations?: number;
    /** Progress messages. Default: none. */
    log?: (message: string) => void;
}

/** The measured numbers. Throughputs in Mbit/s, times in ms; medians over the rounds. */
export interface OverlayBenchmarkResult {
    /** Host → host TCP over wg0 only. */
    wireguardMbps: number;
    /** VM → VM TCP over VXLAN over wg0, same host pair. */
    overlayMbps: number;
    /** Median over the rounds of overlay / WireGuard throughput measured back to back (target ≥ 0.85). */
    overlayToWireguardRatio: number;
    /** VM → VM with the hosts' br_netfilter hooks on; absent when br_netfilter is not loaded. */
    overlayBridgeNetfilterMbps?: number;
    /** Its ratio to WireGuard alone (informational: host firewall cost, not overlay cost). */
    overlayBridgeNetfilterToWireguardRatio?: number;
    /** bgpd start → first VM → VM reply, median (target ≤ 3000). */
    bgpStartToFirstReplyMs: number;
    /** The slowest of the convergence rounds. */
    bgpStartToFirstReplyMaxMs: number;
    /** Migration start → first reply to the moved VM, median. */
    migrationRecoveryMs: number;
    /** The slowest migration. */
    migrationRecoveryMaxMs: number;
    /** `Lab.up` until every VM reached every other. */
    labUpMs: number;
    /** Every individual sample, for the record. */
    samples: {
        overlayToWireguardRatio: number[];
        wireguardMbps: number[];
        overlayMbps: number[];
        overlayBridgeNetfilterMbps: number[];
        bgpStartToFirstReplyMs: number[];
        migrationRecoveryMs: number[];
    };
}

/** Targets the results are checked against. */
export const OVERLAY_TARGETS = { overlayToWireguardRatio: 0.85, bgpStartToFirstReplyMs: 3000 } as const;

/** Builds a lab, measures, and always tears the lab down. */
export async function runOverlayBenchmark(options: OverlayBenchmarkOptions = {}): Promise<OverlayBenchmarkResult> {
    const log = options.log ?? (() => undefined);
    const started = Date.now();
    const lab = await Lab.up({ name: options.labName ?? randomLabName("bench"), log: (message) => log(`lab ${message}`) });
    const labUpMs = Date.now() - started;
    try {
        const throughput = await measureThroughput(lab, options.iperfSeconds ?? 5, options.throughputRounds ?? 4, log);
        const convergence = await measureConvergence(lab, options.convergenceRounds ?? 3, log);
        const migration = await measureMigrations(lab, options.migrations ?? 3, log);
        // Each overlay run is paired with the WireGuard run just before it, so load changes on a
        // shared machine affect both sides of a ratio alike; the median ratio is reported.
        const ratios = throughput.overlay.map((overlay, index) => overlay / throughput.wireguard[index]);
        const netfilterRatios = throughput.overlayBridgeNetfilter.map((overlay, index) => overlay / throughput.wireguard[index]);
        return {
            wireguardMbps: round(median(throughput.wireguard)),
            overlayMbps: round(median(throughput.overlay)),
            overlayToWireguardRatio: round(median(ratios), 3),
            ...(netfilterRatios.length > 0
                ? {
                      overlayBridgeNetfilterMbps: round(median(throughput.overlayBridgeNetfilter)),
                      overlayBridgeNetfilterToWireguardRatio: round(median(netfilterRatios), 3),
                  }
                : {}),
            bgpStartToFirstReplyMs: median(convergence),
            bgpStartToFirstReplyMaxMs: Math.max(...convergence),
            migrationRecoveryMs: median(migration),
            migrationRecoveryMaxMs: Math.max(...migration),
            labUpMs,
            samples: {
                overlayToWireguardRatio: ratios.map((value) => round(value, 3)),
                wireguardMbps: throughput.wireguard.map((value) => round(value)),
                overlayMbps: throughput.overlay.map((value) => round(value)),
                overlayBridgeNetfilterMbps: throughput.overlayBridgeNetfilter.map((value) => round(value)),
                bgpStartToFirstReplyMs: convergence,
                migrationRecoveryMs: migration,
            },
        };
    } finally {
        await lab.down();
    }
}

/**
 * vm1 (kvm1) → vm3 (kvm3) over the overlay and kvm1 → kvm3 over wg0, back to back per round.
 * The overlay runs with the hosts' br_netfilter hooks off (the overlay's own cost) and, when
 * br_netfilter is loaded, once more with them on (the cost a filtering host adds on top).
 */
async function measureThroughput(lab: Lab, seconds: number, rounds: number, log: (m: string) => void) {
    const client = lab.vms[0];
    const server = vmInOtherCluster(lab, client.name);
    const serverWg = lab.topology.wireguard.nodes.find((node) => node.name === server.host);
    if (serverWg === undefined) {
        throw new Error(`no wg address for ${server.host}`);
    }
    const wireguard: number[] = [];
    const overlay: number[] = [];
    const overlayBridgeNetfilter: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
        wireguard.push(await iperf(lab, client.host, server.host, serverWg.address, seconds));
        await lab.setBridgeNetfilter(false);
        overlay.push(await iperf(lab, client.name, server.name, server.ip, seconds));
        if (await lab.setBridgeNetfilter(true)) {
            overlayBridgeNetfilter.push(await iperf(lab, client.name, server.name, server.ip, seconds));
        }
        const withNetfilter = overlayBridgeNetfilter.length === round ? `, with br_netfilter ${overlayBridgeNetfilter[round - 1].toFixed(0)}` : "";
        log(`throughput round ${round}: wg ${wireguard[round - 1].toFixed(0)} Mbit/s, overlay ${overlay[round - 1].toFixed(0)}${withNetfilter} Mbit/s`);
    }
    return { wireguard, overlay, overlayBridgeNetfilter };
}

/** One iperf3 TCP run; resolves with the receiver's Mbit/s. */
async function iperf(lab: Lab, from: string, to: string, address: string, seconds: number): Promise<number> {
    const server = await lab.startBackground(to, ["iperf3", "-s", "-1", "-p", "5201", "--forceflush"], /Server listening/);
    try {
        const output = await lab.execOk(from, ["iperf3", "-c", address, "-p", "5201", "-t", String(seconds), "-J"], { timeoutMs: (seconds + 30) * 1000 });
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
 * entries, then starts bgpd on every node at once and times the first reply vm1 → far VM.
 */
async function measureConvergence(lab: Lab, rounds: number, log: (m: string) => void): Promise<number[]> {
    const vni = lab.topology.network.VLAN_ID;
    const from = lab.vms[0];
    const to = vmInOtherCluster(lab, from.name);
    const samples: number[] = [];
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
        const reply = lab.firstReply(from.name, to.name, 60_000);
        await Promise.all(lab.nodes.map((node) => lab.startBgpd(node.name)));
        samples.push(await reply);
        log(`convergence round ${round}: first ${from.name} → ${to.name} reply ${samples.at(-1)} ms after bgpd start`);
    }
    return samples;
}

/** Migrates vm1 from host to host, timing the first reply from a VM on a third host. */
async function measureMigrations(lab: Lab, count: number, log: (m: string) => void): Promise<number[]> {
    const moving = lab.vms[0];
    // kvm1 → kvm4 (other cluster) → kvm3 → kvm2 (back to its own cluster) …
    const route = lab.hosts.map((host) => host.name).filter((name) => name !== moving.host).reverse();
    const samples: number[] = [];
    for (let i = 0; i < count; i += 1) {
        const current = lab.vms[0].host;
        const target = route[i % route.length];
        const observer = lab.vms.find((vm) => vm.name !== moving.name && vm.host !== current && vm.host !== target);
        if (observer === undefined) {
            throw new Error("the benchmark needs a VM on a third host");
        }
        const started = Date.now();
        await lab.migrateVm(moving.name, target);
        await lab.firstReply(observer.name, moving.name, 60_000);
        samples.push(Date.now() - started);
        log(`migration ${current} → ${target}: ${observer.name} reached ${moving.name} ${samples.at(-1)} ms after the migration started`);
    }
    return samples;
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

function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function round(value: number, digits = 1): number {
    const factor = 10 ** digits;
    return Math.round(value * factor) / factor;
}
