/**
 * The lab's topology, computed (purely) from its options with the package's own renderers:
 * an "internet" namespace routing between a control region (the ingress) and one region per
 * edge cluster, KVM hosts, one VM per host, the WireGuard plan, the FRR files and the EVPN
 * network template.
 *
 * Every namespace is named `<lab name>-<part>` (see naming.ts); devices live only inside the
 * lab's namespaces (none in the root namespace), so their names are the same in every lab and only
 * need to fit the kernel's limit.
 */
import type { EvpnNetworkTemplate } from "../../components/overlay/evpn-network";
import { leaseAt } from "../../components/overlay/evpn-network";
import type { FrrNodeFiles } from "../../components/overlay/frr-config";
import { planEvpnFabric } from "../../components/overlay/frr-config";
import type { OverlayMtu } from "../../components/overlay/mtu";
import { overlayMtu } from "../../components/overlay/mtu";
import type { WireGuardPlan, WireGuardTopology } from "../../components/overlay/wireguard-config";
import { validateOverlay } from "../../components/overlay/validation";
import { MAX_INTERFACE_NAME } from "../../components/overlay/vxlan-device";
import { labNamespace, validateLabName } from "./naming";

/** Options that shape the topology. */
export interface LabTopologyOptions {
    /** WireGuard layout. Default `"mesh"`. */
    topology?: WireGuardTopology;
    /** Number of edge clusters. Default 2. */
    clusters?: number;
    /** KVM hosts per cluster. Default 2. */
    hostsPerCluster?: number;
    /** VNI (VLAN_ID) of the EVPN network. Default 100. */
    vni?: number;
    /** MTU of the underlay links. Default 1500. */
    underlayMtu?: number;
    /**
     * Number of VMs, one per host on the first hosts of every cluster in turn (vm1 on the first
     * host of ec1, vm2 on the first of ec2 …), at most one per host. Default: one on every host (vmN on kvmN).
     */
    vms?: number;
    /**
     * Create the EVPN network's bridge and VXLAN device on every host, also those without a VM
     * (every host a VTEP with its type-3 route, as for a fabric benchmark). Default false: only
     * where a VM runs, as OpenNebula's driver does.
     */
    networkOnEveryHost?: boolean;
    /** The reflector accepts its clients from the wg subnet (dynamic neighbours) instead of listing them. Default false. */
    useListenRange?: boolean;
}

/** A region of the "internet": one bridge, one subnet, the internet namespace as its router. */
export interface LabRegion {
    name: string;
    /** Bridge in the internet namespace. */
    bridge: string;
    /** Underlay subnet prefix length. */
    prefixLength: number;
    /** The internet namespace's address in this region (the hosts' default gateway). */
    gateway: string;
}

/** A machine with its own network and mount namespace: the ingress or a KVM host. */
export interface LabNode {
    /** Node name (FRR hostname, WireGuard peer name). */
    name: string;
    /** `ingress` or `host`. */
    role: "ingress" | "host";
    /** Network namespace. */
    netns: string;
    /** Edge cluster (`ec1`, `ec2`, …) or `control` for the ingress. */
    cluster: string;
    /** Region name. */
    region: string;
    /** Underlay ("public") address. */
    underlayIp: string;
    /** Veth end in the internet namespace. */
    uplink: string;
}

/** A VM: a namespace whose eth0 is attached to its host's bridge. */
export interface LabVm {
    /** VM name. */
    name: string;
    /** OpenNebula-like VM id (the tap is `one-<id>-0`). */
    id: number;
    /** Network namespace. */
    netns: string;
    /** Host it starts on. */
    host: string;
    /** Lease in the EVPN network. */
    ip: string;
    /** MAC derived from the lease (`02:00:` + IP bytes). */
    mac: string;
}

/** Everything the lab builds. */
export interface LabTopology {
    /** The lab's name, the prefix of its namespaces (see naming.ts). */
    name: string;
    /** The internet namespace. */
    internetNetns: string;
    regions: LabRegion[];
    /** The ingress first, then the hosts. */
    nodes: LabNode[];
    vms: LabVm[];
    mtu: OverlayMtu;
    wireguard: WireGuardPlan;
    fabric: FrrNodeFiles[];
    network: EvpnNetworkTemplate;
    /** Whether every host gets the network's devices (see {@link LabTopologyOptions.networkOnEveryHost}). */
    networkOnEveryHost: boolean;
}

const WG_SUBNET = "192.168.0.0/24";
const EVPN_NETWORK = "172.17.2.0/24";

/**
 * Computes the topology of the lab `name`. Throws the package's validation errors for impossible
 * options, and when a device name would not fit the kernel's limit.
 */
export function buildTopology(name: string, options: LabTopologyOptions = {}): LabTopology {
    validateLabName(name);
    const clusters = options.clusters ?? 2;
    const hostsPerCluster = options.hostsPerCluster ?? 2;
    if (!Number.isInteger(clusters) || clusters < 1 || clusters > 9) {
        throw new Error(`clusters: must be an integer from 1 to 9, got ${clusters}`);
    }
    if (!Number.isInteger(hostsPerCluster) || hostsPerCluster < 1 || hostsPerCluster > 9) {
        throw new Error(`hostsPerCluster: must be an integer from 1 to 9, got ${hostsPerCluster}`);
    }
    const regions: LabRegion[] = [
        { name: "control", bridge: "br-ctl", prefixLength: 24, gateway: "10.200.0.254" },
        ...range(clusters).map((c) => ({ name: `ec${c + 1}`, bridge: `br-ec${c + 1}`, prefixLength: 24, gateway: `10.20${c + 1}.0.254` })),
    ];
    const node = nodeOf(name);
    const ingress: LabNode = node("ingress", "ingress", "control", "control", "10.200.0.1");
    const hosts = range(clusters).flatMap((c) =>
        range(hostsPerCluster).map((h) =>
            node(`kvm${c * hostsPerCluster + h + 1}`, "host", `ec${c + 1}`, `ec${c + 1}`, `10.20${c + 1}.0.${h + 1}`),
        ),
    );
    const mtu = overlayMtu({ underlayMtu: options.underlayMtu ?? 1500 });
    const { wireguard, networks } = validateOverlay({
        wireguard: {
            ingress: { name: ingress.name, endpoint: ingress.underlayIp },
            hosts: hosts.map((host) => ({ name: host.name, endpoint: host.underlayIp })),
            subnet: WG_SUBNET,
            topology: options.topology ?? "mesh",
            mtu: mtu.wireguardMtu,
        },
        networks: [{ name: "lab-evpn", vlanId: options.vni ?? 100, network: EVPN_NETWORK, mtu: { underlayMtu: mtu.underlayMtu } }],
        otherSubnets: regions.map((region) => ({ field: `underlay ${region.name}`, cidr: `${region.gateway.replace(/\.254$/, ".0")}/24` })),
    });
    const network = networks[0];
    const vmCount = options.vms ?? hosts.length;
    if (!Number.isInteger(vmCount) || vmCount < 0 || vmCount > hosts.length) {
        throw new Error(`vms: must be an integer from 0 to the number of hosts (${hosts.length}), got ${vmCount}`);
    }
    const vmLeases = Number(network.AR.SIZE) - 1;
    if (vmCount > vmLeases) {
        throw new Error(`vms: at most ${vmLeases} VMs (lease 0 is the router's), got ${vmCount}`);
    }
    // Lease 0 is the virtual router's (the gateway); VMs take the following ones.
    const vms: LabVm[] = vmPlacement(hosts, clusters, hostsPerCluster, vmCount).map((host, index) => {
        const lease = leaseAt(network, index + 1);
        return {
            name: `vm${index + 1}`,
            id: index + 1,
            netns: labNamespace(name, `vm${index + 1}`),
            host: host.name,
            ip: lease.ip,
            mac: lease.mac,
        };
    });
    const topology: LabTopology = {
        name,
        internetNetns: labNamespace(name, "inet"),
        regions,
        nodes: [ingress, ...hosts],
        vms,
        mtu,
        wireguard,
        fabric: planEvpnFabric(wireguard, { log: "file", useListenRange: options.useListenRange ?? false }),
        network,
        networkOnEveryHost: options.networkOnEveryHost ?? false,
    };
    for (const device of labDeviceNames(topology)) {
        if (device.length > MAX_INTERFACE_NAME) {
            throw new Error(`device name "${device}" is longer than the kernel's ${MAX_INTERFACE_NAME} characters`);
        }
    }
    return topology;
}

/**
 * Every device name the lab itself gives (the VXLAN device and bridge are named, and checked, by
 * `planVxlanDevice`): the internet namespace's bridges and uplinks, each node's `eth0` and `wg0`,
 * each VM's `eth0` and its host-side `one-<id>-0`.
 */
export function labDeviceNames(topology: LabTopology): string[] {
    return [
        ...topology.regions.map((region) => region.bridge),
        ...topology.nodes.map((node) => node.uplink),
        "eth0",
        "wg0",
        ...topology.vms.map(tapOf),
    ];
}

/** The host-side end of a VM's NIC, named as OpenNebula names it: `one-<vm id>-<nic index>`. */
export function tapOf(vm: LabVm): string {
    return `one-${vm.id}-0`;
}

/** The hosts that get a VM, in VM order: the first host of every cluster, then the second … */
function vmPlacement(hosts: LabNode[], clusters: number, hostsPerCluster: number, count: number): LabNode[] {
    const order = range(hostsPerCluster).flatMap((h) => range(clusters).map((c) => hosts[c * hostsPerCluster + h]));
    return count === hosts.length ? hosts : order.slice(0, count);
}

function nodeOf(labName: string) {
    return (name: string, role: LabNode["role"], cluster: string, region: string, underlayIp: string): LabNode => ({
        name,
        role,
        netns: labNamespace(labName, name),
        cluster,
        region,
        underlayIp,
        uplink: `up-${name}`,
    });
}

function range(count: number): number[] {
    return Array.from({ length: count }, (_, index) => index);
}
