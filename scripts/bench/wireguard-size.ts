/**
 * WireGuard configuration size per host for a full mesh and a hub, at 10, 100 and 1000 hosts,
 * from the package's own planner and renderer (`planWireGuard`, `renderWireGuardConfig`) and the
 * standard input the config command really sends (`toStdin` of `wireguard-up.sh`).
 *
 * Besides bytes and peers per node: how many nodes' configurations change when one host is added
 * (each is an SSH command that runs again), and the steady-state control traffic of the fleet —
 * keepalives (every 25 s per peer that sends them) and handshakes (every WireGuard session rekeys
 * every 2 minutes while it carries traffic, keepalives included).
 */
import { performance } from "node:perf_hooks";
import { readHostScript, toStdin } from "../../components/remote/host-script";
import type { WireGuardPlan, WireGuardTopology } from "../../components/overlay/wireguard-config";
import { planWireGuard, wireguardScriptEnvironment } from "../../components/overlay/wireguard-config";
import { benchPublicKey } from "./fleet";
import type { BenchmarkRow } from "./index";
import { round } from "./scale";

/** WireGuard's rekey interval (REKEY_AFTER_TIME), seconds. */
const REKEY_SECONDS = 120;

/** Sizes of one topology at one number of hosts. */
export interface WireGuardSize {
    topology: WireGuardTopology;
    hosts: number;
    /** Peers of a KVM host (the largest, should they differ). */
    peersPerHost: number;
    /** Peers of the ingress. */
    peersOfIngress: number;
    /** Bytes of a KVM host's rendered `wg setconf` file (the largest). */
    hostConfigBytes: number;
    /** Bytes of the ingress's file. */
    ingressConfigBytes: number;
    /** Bytes of a KVM host's config command's standard input (script + base64 environment). */
    hostStdinBytes: number;
    /** Bytes of every node's config command's standard input together: what one full run pushes over SSH. */
    totalStdinBytes: number;
    /** WireGuard sessions in the fleet (pairs of peers). */
    sessions: number;
    /** Nodes whose configuration changes when one more host joins (the new host included). */
    nodesChangedByOneMoreHost: number;
    /** Keepalive packets per second across the fleet. */
    keepalivesPerSecond: number;
    /** Handshakes per minute across the fleet with every session kept alive. */
    handshakesPerMinute: number;
    /** Planning and rendering every node, ms (informational). */
    renderMs: number;
}

/** The fleet as the planner sees it: an ingress and `hosts` hosts with distinct public addresses. */
function planFleet(topology: WireGuardTopology, hosts: number): WireGuardPlan {
    return planWireGuard({
        ingress: { name: "ingress", endpoint: "198.19.0.1" },
        hosts: Array.from({ length: hosts }, (_, i) => ({
            name: `host-${i}`,
            endpoint: `198.18.${Math.floor(i / 200)}.${10 + (i % 200)}`,
        })),
        subnet: "10.200.0.0/20",
        topology,
    });
}

/** Every node's rendered file and config-command stdin, by node name. */
function renderFleet(plan: WireGuardPlan): Map<string, { config: string; stdinBytes: number }> {
    const keys = Object.fromEntries(plan.nodes.map((node) => [node.name, benchPublicKey(node.name)]));
    const script = readHostScript("wireguard-up.sh");
    return new Map(
        plan.nodes.map((node) => {
            const environment = wireguardScriptEnvironment(node, keys);
            return [
                node.name,
                { config: environment.WG_CONFIG, stdinBytes: toStdin({ name: "wireguard-up.sh", script, environment }).length },
            ];
        }),
    );
}

/**
 * Plans and renders a fleet of `hosts` hosts (1–4000) in `topology`, and again with one more host,
 * and measures the sizes.
 */
export function measureWireGuardSize(topology: WireGuardTopology, hosts: number): WireGuardSize {
    const started = performance.now();
    const plan = planFleet(topology, hosts);
    const rendered = renderFleet(plan);
    const renderMs = performance.now() - started;
    const [ingress, ...hostNodes] = plan.nodes;
    const grown = renderFleet(planFleet(topology, hosts + 1));
    const changed = [...grown].filter(([name, { config }]) => rendered.get(name)?.config !== config).length;

    const keepalivesPerSecond = plan.nodes.reduce(
        (sum, node) => sum + node.peers.reduce((peers, peer) => peers + (peer.persistentKeepalive ? 1 / peer.persistentKeepalive : 0), 0),
        0,
    );
    const sessions = plan.nodes.reduce((sum, node) => sum + node.peers.length, 0) / 2;
    return {
        topology,
        hosts,
        peersPerHost: Math.max(...hostNodes.map((node) => node.peers.length)),
        peersOfIngress: ingress.peers.length,
        hostConfigBytes: Math.max(...hostNodes.map((node) => Buffer.byteLength(rendered.get(node.name)!.config))),
        ingressConfigBytes: Buffer.byteLength(rendered.get(ingress.name)!.config),
        hostStdinBytes: Math.max(...hostNodes.map((node) => rendered.get(node.name)!.stdinBytes)),
        totalStdinBytes: [...rendered.values()].reduce((sum, { stdinBytes }) => sum + stdinBytes, 0),
        sessions,
        nodesChangedByOneMoreHost: changed,
        keepalivesPerSecond,
        handshakesPerMinute: (sessions * 60) / REKEY_SECONDS,
        renderMs,
    };
}

/** Host counts of the routine run. */
export const WIREGUARD_SIZES = [10, 100, 1000];

/** Both topologies at every size. */
export function runWireGuardSizeBenchmark(sizes: number[] = WIREGUARD_SIZES): WireGuardSize[] {
    return (["mesh", "hub"] as const).flatMap((topology) => sizes.map((hosts) => measureWireGuardSize(topology, hosts)));
}

/** The table rows: per topology and size, the figures of {@link WireGuardSize}. */
export function wireguardSizeRows(results: WireGuardSize[]): BenchmarkRow[] {
    return results.flatMap((r): BenchmarkRow[] => {
        const row = (metric: string, value: number | string, unit: string): BenchmarkRow => ({
            benchmark: "wireguard-size",
            metric: `${r.topology} ${r.hosts}: ${metric}`,
            value,
            unit,
            target: "",
        });
        return [
            row("peers per host / of the ingress", `${r.peersPerHost} / ${r.peersOfIngress}`, ""),
            row(
                "config per host / of the ingress",
                `${round(r.hostConfigBytes / 1024, 1)} / ${round(r.ingressConfigBytes / 1024, 1)}`,
                "KiB",
            ),
            row("config command stdin per host", round(r.hostStdinBytes / 1024, 1), "KiB"),
            row("stdin pushed by one full run, all nodes", round(r.totalStdinBytes / 2 ** 20, 2), "MiB"),
            row("nodes reconfigured when one host joins", r.nodesChangedByOneMoreHost, ""),
            row("WireGuard sessions", r.sessions, ""),
            row("keepalives, whole fleet", round(r.keepalivesPerSecond, 1), "packets/s"),
            row("handshakes, whole fleet, sessions kept alive", round(r.handshakesPerMinute, 0), "per min"),
        ];
    });
}
