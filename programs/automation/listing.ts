/**
 * What `list` and `status` show, from the stack output `topology` (and, for `status`, the hosts'
 * state in OpenNebula and the BGP sessions of the route reflector): a listing as rows, as text,
 * as JSON, and the topology as a Mermaid diagram. Pure: reading outputs and asking OpenNebula
 * happen elsewhere (`status.ts`, `cli.ts`). The lab's topology draws the same way
 * ({@link labTopology}).
 */
import type { EdgeTopology } from "../main/topology";

/** What `status` learned besides the outputs; absent parts are shown as unknown. */
export interface EdgeStatus {
    /** OpenNebula host id → its state name (`MONITORED`, `ERROR` …), or `absent`. */
    hostStates?: Record<number, string>;
    /** WireGuard address of a node → the state of the route reflector's BGP session with it (`Established` …). */
    bgpSessions?: Record<string, string>;
    /** Why a part could not be read (e.g. `bgp: ingress 13.58.199.98 unreachable`). */
    problems?: string[];
}

/** One host in the listing. */
export interface ListedHost {
    cluster: string;
    cloud: string;
    region: string;
    clusterId?: number;
    host: string;
    publicIp: string;
    privateIp: string;
    hostId?: number;
    /** State in OpenNebula (status only). */
    state?: string;
    overlayAddress?: string;
    /** The route reflector's BGP session with it (status only). */
    bgp?: string;
    /** Public IPs this host carries. */
    publicIps: string[];
}

/** The listing: hosts, public IPs, overlay, EVPN network and router. */
export interface Listing {
    hosts: ListedHost[];
    /** Public IP → `<cluster>/<host>` that carries it. */
    publicIps: Record<string, string>;
    overlay?: EdgeTopology["overlay"] & { bgp?: string };
    privateNetwork?: EdgeTopology["privateNetwork"];
    router?: EdgeTopology["router"];
    problems: string[];
}

/** The listing of a topology, with what `status` learned when given. */
export function listing(topology: EdgeTopology, status: EdgeStatus = {}): Listing {
    const hosts: ListedHost[] = [];
    const publicIps: Record<string, string> = {};
    for (const [name, cluster] of Object.entries(topology.clusters)) {
        for (const [key, host] of Object.entries(cluster.hosts)) {
            const carried = Object.keys(cluster.publicIps).filter((ip) => cluster.publicIps[ip] === key);
            carried.forEach((ip) => (publicIps[ip] = `${name}/${key}`));
            hosts.push({
                cluster: name,
                cloud: cluster.cloud,
                region: cluster.region,
                clusterId: cluster.clusterId,
                host: key,
                publicIp: host.publicIp,
                privateIp: host.privateIp,
                hostId: host.hostId,
                ...(status.hostStates && host.hostId !== undefined ? { state: status.hostStates[host.hostId] ?? "absent" } : {}),
                overlayAddress: host.overlayAddress,
                ...(status.bgpSessions && host.overlayAddress ? { bgp: status.bgpSessions[host.overlayAddress] ?? "no session" } : {}),
                publicIps: carried,
            });
        }
    }
    return {
        hosts,
        publicIps,
        ...(topology.overlay ? { overlay: topology.overlay } : {}),
        ...(topology.privateNetwork ? { privateNetwork: topology.privateNetwork } : {}),
        ...(topology.router ? { router: topology.router } : {}),
        problems: status.problems ?? [],
    };
}

/** The listing as text: a table of hosts, then public IPs, overlay, EVPN network, router. */
export function formatListing(list: Listing): string {
    const withStatus = list.hosts.some((host) => host.state !== undefined || host.bgp !== undefined);
    const header = [
        "CLUSTER",
        "CLOUD",
        "REGION",
        "ONE CLUSTER",
        "HOST",
        "PUBLIC IP",
        "PRIVATE IP",
        "ONE HOST",
        ...(withStatus ? ["STATE"] : []),
        "OVERLAY",
        ...(withStatus ? ["BGP"] : []),
    ];
    const rows = list.hosts.map((host) => [
        host.cluster,
        host.cloud,
        host.region,
        text(host.clusterId),
        host.host,
        host.publicIp,
        host.privateIp,
        text(host.hostId),
        ...(withStatus ? [text(host.state)] : []),
        text(host.overlayAddress),
        ...(withStatus ? [text(host.bgp)] : []),
    ]);
    const lines = table([header, ...rows]);
    const ips = Object.entries(list.publicIps);
    if (ips.length > 0) lines.push("", ...table([["PUBLIC IP", "CARRIED BY"], ...ips]));
    if (list.overlay)
        lines.push(
            "",
            `overlay: ${list.overlay.topology} on ${list.overlay.subnet}, ingress ${list.overlay.ingress.key} ${list.overlay.ingress.publicIp} (wg ${list.overlay.ingress.address}, route reflector)`,
        );
    if (list.privateNetwork) {
        const network = list.privateNetwork;
        lines.push(
            `EVPN network: ${network.network}, VNI ${network.vlanId}${network.id !== undefined ? `, OpenNebula network ${network.id}` : ""}`,
        );
    }
    if (list.router) {
        const mappings = Object.entries(list.router.mappings).map(([publicIp, privateIp]) => `${publicIp} → ${privateIp}`);
        lines.push(
            `router: ${list.router.publicIp} on ${list.router.cluster}${mappings.length > 0 ? `; SDNAT ${mappings.join(", ")}` : ""}`,
        );
    }
    for (const problem of list.problems) lines.push(`! ${problem}`);
    return `${lines.join("\n")}\n`;
}

function text(value: unknown): string {
    return value === undefined ? "-" : String(value);
}

/** Rows as columns padded to their widest cell. */
function table(rows: string[][]): string[] {
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    return rows.map((row) =>
        row
            .map((cell, column) => cell.padEnd(widths[column]))
            .join("  ")
            .trimEnd(),
    );
}

/**
 * The topology as a Mermaid flowchart: a box per edge cluster holding its hosts (and, from the
 * lab, their VMs), the ingress linked to every host over WireGuard, the public IPs pointing at the
 * host that carries them, the hosts on the EVPN network, and the router with its SDNAT mappings.
 */
export function topologyDiagram(topology: EdgeTopology): string {
    const lines = ["flowchart LR"];
    const id = (...parts: string[]) => parts.join("_").replace(/[^A-Za-z0-9]/g, "_");
    const hostIds: string[] = [];
    for (const [name, cluster] of Object.entries(topology.clusters)) {
        const title = `${name} · ${cluster.cloud} ${cluster.region}${cluster.clusterId !== undefined ? ` · cluster ${cluster.clusterId}` : ""}`;
        lines.push(`    subgraph ${id("cluster", name)}["${title}"]`);
        for (const [key, host] of Object.entries(cluster.hosts)) {
            const overlay = host.overlayAddress ? `<br/>wg ${host.overlayAddress}` : "";
            lines.push(`        ${id("host", name, key)}["${key}<br/>${host.publicIp} · ${host.privateIp}${overlay}"]`);
            hostIds.push(id("host", name, key));
        }
        for (const [vm, placed] of Object.entries(topology.privateNetwork?.vms ?? {})) {
            if (placed.host.startsWith(`${name}/`)) lines.push(`        ${id("vm", vm)}(["${vm}<br/>${placed.ip}"])`);
        }
        lines.push("    end");
    }
    if (topology.overlay) {
        const { ingress, topology: layout, subnet } = topology.overlay;
        lines.push(`    ${id("ingress")}{{"${ingress.key}<br/>${ingress.publicIp} · wg ${ingress.address}<br/>route reflector"}}`);
        for (const host of hostIds) lines.push(`    ${id("ingress")} ---|"WireGuard ${layout} ${subnet}"| ${host}`);
    }
    for (const [name, cluster] of Object.entries(topology.clusters)) {
        for (const [ip, key] of Object.entries(cluster.publicIps)) {
            lines.push(`    ${id("ip", ip)}(("${ip}")) --> ${id("host", name, key)}`);
        }
    }
    if (topology.privateNetwork) {
        const network = topology.privateNetwork;
        lines.push(`    ${id("evpn")}[["EVPN ${network.network} · VNI ${network.vlanId}"]]`);
        for (const host of hostIds) lines.push(`    ${host} -.- ${id("evpn")}`);
        for (const [vm, placed] of Object.entries(network.vms ?? {})) {
            const [cluster, host] = placed.host.split("/");
            lines.push(`    ${id("host", cluster, host)} --- ${id("vm", vm)}`);
        }
    }
    if (topology.router) {
        const router = topology.router;
        lines.push(`    ${id("router")}[/"router<br/>${router.publicIp}"/]`);
        lines.push(`    ${id("router")} --- ${id("evpn")}`);
        for (const [publicIp, privateIp] of Object.entries(router.mappings))
            lines.push(`    ${id("ip", publicIp)} -->|"SDNAT → ${privateIp}"| ${id("router")}`);
    }
    return `${lines.join("\n")}\n`;
}

/** What {@link labTopology} reads of the lab's topology (`scripts/lab/topology.ts`'s `LabTopology`). */
export interface LabTopologyShape {
    nodes: { name: string; role: "ingress" | "host"; cluster: string; underlayIp: string }[];
    vms: { name: string; host: string; ip: string }[];
    wireguard: { subnet: string; topology: string; nodes: { name: string; address: string }[] };
    network: { VLAN_ID: string; NETWORK_ADDRESS: string; NETWORK_MASK: string };
}

/** The lab's topology as the stack's: its regions are the clusters, its nodes' underlay addresses their public IPs. */
export function labTopology(lab: LabTopologyShape): EdgeTopology {
    const address = (node: string) => lab.wireguard.nodes.find((candidate) => candidate.name === node)?.address ?? "";
    const ingress = lab.nodes.find((node) => node.role === "ingress")!;
    const clusters: EdgeTopology["clusters"] = {};
    for (const node of lab.nodes.filter((candidate) => candidate.role === "host")) {
        clusters[node.cluster] ??= { cloud: "lab", region: node.cluster, hosts: {}, publicIps: {} };
        clusters[node.cluster].hosts[node.name] = {
            publicIp: node.underlayIp,
            privateIp: node.underlayIp,
            overlayNode: node.name,
            overlayAddress: address(node.name),
        };
    }
    const clusterOf = (host: string) => lab.nodes.find((node) => node.name === host)!.cluster;
    const prefix = lab.network.NETWORK_MASK.split(".").reduce(
        (bits, octet) => bits + Number(octet).toString(2).replace(/0/g, "").length,
        0,
    );
    return {
        clusters,
        overlay: {
            subnet: lab.wireguard.subnet,
            topology: lab.wireguard.topology,
            ingress: { key: ingress.name, publicIp: ingress.underlayIp, address: address(ingress.name) },
        },
        privateNetwork: {
            network: `${lab.network.NETWORK_ADDRESS}/${prefix}`,
            vlanId: Number(lab.network.VLAN_ID),
            vms: Object.fromEntries(lab.vms.map((vm) => [vm.name, { ip: vm.ip, host: `${clusterOf(vm.host)}/${vm.host}` }])),
        },
    };
}
