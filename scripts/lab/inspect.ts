/**
 * Parsers for FRR's JSON output (vtysh `… json`), used by the lab, its tests and the benchmark.
 */

export type { BgpPeer } from "../../components/overlay/frr-status";
export { parseBgpPeers } from "../../components/overlay/frr-status";

/** An EVPN route of the BGP table. */
export interface EvpnRoute {
    /** Route type: 2 (MAC/IP) or 3 (inclusive multicast, i.e. VTEP membership). */
    type: number;
    /** Route distinguisher. */
    rd: string;
    /** Full prefix text, e.g. `[2]:[0]:[48]:[02:00:ac:11:02:02]`. */
    prefix: string;
    /** MAC of a type-2 route. */
    mac?: string;
    /** Originating router IP of a type-3 route. */
    originator?: string;
    /** Next hop (the VTEP) of the best path. */
    nextHop: string;
}

/** Parses `show bgp l2vpn evpn json` into routes with the next hop of their best path. */
export function parseEvpnRoutes(json: string): EvpnRoute[] {
    const data = JSON.parse(json) as Record<string, unknown>;
    const routes: EvpnRoute[] = [];
    for (const [rd, value] of Object.entries(data)) {
        if (typeof value !== "object" || value === null || !("rd" in value)) {
            continue;
        }
        for (const [prefix, entry] of Object.entries(value as Record<string, unknown>)) {
            if (!prefix.startsWith("[") || typeof entry !== "object" || entry === null) {
                continue;
            }
            const route = toRoute(rd, prefix, entry as Record<string, unknown>);
            if (route !== undefined) {
                routes.push(route);
            }
        }
    }
    return routes;
}

function toRoute(rd: string, prefix: string, entry: Record<string, unknown>): EvpnRoute | undefined {
    const paths = ((entry.paths as unknown[][] | undefined) ?? []).flat() as Record<string, unknown>[];
    const best = paths.find((path) => path.bestpath !== undefined) ?? paths[0];
    if (best === undefined) {
        return undefined;
    }
    const nexthops = (best.nexthops as { ip?: string }[] | undefined) ?? [];
    const fields = prefix.slice(1, -1).split("]:[");
    const type = Number(fields[0]);
    return {
        type,
        rd,
        prefix,
        ...(type === 2 ? { mac: fields[3] } : {}),
        ...(type === 3 ? { originator: fields[3] } : {}),
        nextHop: nexthops[0]?.ip ?? "",
    };
}
