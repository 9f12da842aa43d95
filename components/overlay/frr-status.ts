/**
 * FRR's own report of BGP sessions (`vtysh -c 'show bgp l2vpn evpn summary json'`), parsed: used
 * by the lab, its tests and benchmarks, and by the Automation CLI's `status`.
 */

/** A BGP session as seen by one node. */
export interface BgpPeer {
    /** Neighbour address. */
    address: string;
    /** FSM state, e.g. `Established`, `Active`, `Connect`. */
    state: string;
    /** Prefixes received (EVPN routes), when reported. */
    prefixesReceived?: number;
}

/** The vtysh command whose output {@link parseBgpPeers} reads. */
export const BGP_SUMMARY_COMMAND = "show bgp l2vpn evpn summary json";

/** Parses `show bgp l2vpn evpn summary json`. */
export function parseBgpPeers(json: string): BgpPeer[] {
    const data = JSON.parse(json) as Record<string, unknown>;
    const peers = (data.peers ?? (data.l2VpnEvpn as Record<string, unknown> | undefined)?.peers ?? {}) as Record<
        string,
        Record<string, unknown>
    >;
    return Object.entries(peers).map(([address, peer]) => ({
        address,
        state: String(peer.state ?? ""),
        ...(typeof peer.pfxRcd === "number" ? { prefixesReceived: peer.pfxRcd } : {}),
    }));
}
