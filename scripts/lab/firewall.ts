/**
 * The host firewall of a lab node, as the components give it (`edgeFirewall`, rendered by
 * `firewallScript`): a KVM host gets an edge cluster host's allow-list — its cluster's underlay
 * subnet standing for the cloud-private range, and the overlay (WireGuard port, `wg0`, the wg
 * subnet); the ingress gets the overlay alone. Pure.
 */
import { edgeFirewall } from "../../components/edge/firewall-plan";
import { firewallScript } from "../../components/edge/host-scripts";
import type { HostScript } from "../../components/remote/host-script";
import type { LabTopology } from "./topology";

/** The firewall script of `nodeName`. `bootUnit` writes its boot unit (default false: the lab writes none unless asked). */
export function labFirewall(topology: LabTopology, nodeName: string, options: { bootUnit?: boolean } = {}): HostScript {
    const node = topology.nodes.find((candidate) => candidate.name === nodeName);
    if (node === undefined) throw new Error(`unknown lab node "${nodeName}"`);
    const region = topology.regions.find((candidate) => candidate.name === node.region)!;
    const wireguard = topology.wireguard.nodes[0];
    const privateRange = node.role === "host" ? `${region.gateway.replace(/\.254$/, ".0")}/${region.prefixLength}` : undefined;
    const overlay = { listenPort: wireguard.listenPort, interfaceName: wireguard.interfaceName, subnet: topology.wireguard.subnet };
    return firewallScript({ ...edgeFirewall({ privateRange, overlay }), bootUnit: options.bootUnit ?? false });
}
