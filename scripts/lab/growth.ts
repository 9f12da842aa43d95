/**
 * Growing a lab by one KVM host, the way a stack grows when a host is added to an edge cluster:
 * the new node, the WireGuard plan with it (every existing node keeps its address; in a mesh each
 * one gains a peer) and the FRR files with it (the reflector gains a client; the other clients'
 * files stay the same). Pure: computed from the running lab's topology with the package's own
 * renderers.
 */
import { planEvpnFabric } from "../../components/overlay/frr-config";
import { planWireGuard } from "../../components/overlay/wireguard-config";
import { labNamespace } from "./naming";
import type { LabNode, LabTopology } from "./topology";

/** The topology with one more KVM host in `cluster` (`ec1`, `ec2` …), and that host. */
export function withExtraHost(topology: LabTopology, cluster: string): { topology: LabTopology; node: LabNode } {
    const region = topology.regions.find((candidate) => candidate.name === cluster);
    if (region === undefined || cluster === "control") {
        throw new Error(
            `cluster: must be one of ${topology.regions
                .filter((r) => r.name !== "control")
                .map((r) => r.name)
                .join(", ")} (got "${cluster}")`,
        );
    }
    const hosts = topology.nodes.filter((node) => node.role === "host");
    const name = `kvm${hosts.length + 1}`;
    const inCluster = hosts.filter((node) => node.cluster === cluster).length;
    const underlayIp = region.gateway.replace(/\.254$/, `.${inCluster + 1}`);
    if (topology.nodes.some((node) => node.underlayIp === underlayIp)) {
        throw new Error(`${name}: the next underlay address of ${cluster}, ${underlayIp}, is taken`);
    }
    const node: LabNode = {
        name,
        role: "host",
        netns: labNamespace(topology.name, name),
        cluster,
        region: region.name,
        underlayIp,
        uplink: `up-${name}`,
    };

    const old = topology.wireguard;
    const [ingress, ...others] = old.nodes;
    const endpointOf = (nodeName: string) => topology.nodes.find((candidate) => candidate.name === nodeName)!.underlayIp;
    const wireguard = planWireGuard({
        ingress: { name: ingress.name, endpoint: endpointOf(ingress.name) },
        hosts: [...others.map((host) => ({ name: host.name, endpoint: endpointOf(host.name) })), { name, endpoint: underlayIp }],
        subnet: old.subnet,
        topology: old.topology,
        listenPort: ingress.listenPort,
        mtu: ingress.mtu,
        interfaceName: ingress.interfaceName,
        // Every existing node keeps its address.
        addresses: Object.fromEntries(old.nodes.map((plan) => [plan.name, plan.address])),
    });
    const reflector = topology.fabric.find((files) => files.role === "reflector")!;
    const fabric = planEvpnFabric(wireguard, { log: "file", useListenRange: /bgp listen range/.test(reflector.bgpdConf) });
    return { topology: { ...topology, nodes: [...topology.nodes, node], wireguard, fabric }, node };
}
