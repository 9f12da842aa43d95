/**
 * Bad arguments of the overlay components: each is refused with an error naming the argument and
 * what is allowed, before any resource (not even the component) is registered.
 */
import { strict as assert } from "assert";
import type { EvpnFabricArgs } from "../../components/overlay/evpn-fabric";
import { EvpnFabric } from "../../components/overlay/evpn-fabric";
import type { EvpnPrivateNetworkArgs } from "../../components/overlay/evpn-private-network";
import { EvpnPrivateNetwork } from "../../components/overlay/evpn-private-network";
import type { RemoteNode } from "../../components/remote/ssh";
import type { WireGuardMeshArgs } from "../../components/overlay/wireguard-mesh";
import { WireGuardMesh, planMesh } from "../../components/overlay/wireguard-mesh";
import { ConfigError } from "../../components/validation";
import { runProgram } from "../support/pulumi-mocks";
import { SSH_KEY, seedNodes } from "./overlay-fixtures";

const [LONDON] = seedNodes().hosts;
const INGRESS = seedNodes().ingress;

interface Case {
    name: string;
    build: () => unknown;
    field: string;
    says: RegExp;
}

function mesh(overrides: Partial<WireGuardMeshArgs>): () => unknown {
    return () => new WireGuardMesh("overlay", { ...seedNodes(), ssh: { privateKey: SSH_KEY }, ...overrides } as WireGuardMeshArgs);
}

/** A mesh as the fabric sees it, planned but not created, so that a refused fabric leaves the program empty. */
function plannedMesh(overrides: Partial<WireGuardMeshArgs> = {}): WireGuardMesh {
    const args = { ...seedNodes(), ssh: { privateKey: SSH_KEY }, ...overrides };
    const layout = planMesh(args);
    return { plan: layout.settings, wireguardPlan: layout.wireguard, nodes: {}, ssh: args.ssh } as unknown as WireGuardMesh;
}

function fabric(overrides: Partial<EvpnFabricArgs>): () => unknown {
    return () => new EvpnFabric("fabric", { mesh: plannedMesh(), ...overrides } as EvpnFabricArgs);
}

function network(overrides: Partial<EvpnPrivateNetworkArgs>): () => unknown {
    return () =>
        new EvpnPrivateNetwork("private", { vlanId: 100, targets: [{ clusterIds: [100, 101] }], ...overrides } as EvpnPrivateNetworkArgs);
}

const host = (overrides: Partial<RemoteNode>): RemoteNode => ({ ...LONDON, ...overrides });

const CASES: Case[] = [
    // WireGuardMesh: nodes
    {
        name: "the ingress listed as a KVM host (same key)",
        build: mesh({ hosts: [LONDON, { ...INGRESS }] }),
        field: "hosts[1].key",
        says: /is the ingress's key; the ingress cannot also be a KVM host/,
    },
    {
        name: "the ingress listed as a KVM host (same public IP)",
        build: mesh({ hosts: [LONDON, host({ key: "kvm-x", publicIp: INGRESS.publicIp })] }),
        field: "hosts[1].publicIp",
        says: /13\.58\.199\.98 is the ingress's publicIp; the ingress cannot also be a KVM host/,
    },
    {
        name: "two hosts with one key",
        build: mesh({ hosts: [LONDON, host({ publicIp: "203.0.113.9" })] }),
        field: "hosts[1].key",
        says: /duplicate node key "kvm-london" \(already used by hosts\[0\]\.key\)/,
    },
    {
        name: "two hosts with one public IP",
        build: mesh({ hosts: [LONDON, host({ key: "kvm-y" })] }),
        field: "hosts[1].publicIp",
        says: /duplicate endpoint "18\.134\.246\.200" \(already used by hosts\[0\]\.publicIp\)/,
    },
    {
        name: "a key that is no valid name",
        build: mesh({ hosts: [host({ key: "kvm london" })] }),
        field: "hosts[0].key",
        says: /letters, digits, "\.", "_" or "-"/,
    },
    {
        name: "a public IP that is no address",
        build: mesh({ hosts: [host({ publicIp: "18.134.246.300:22" })] }),
        field: "hosts[0].publicIp",
        says: /IPv4 address, IPv6 address or DNS name without port/,
    },
    {
        name: "a public IP inside the wg subnet",
        build: mesh({ hosts: [host({ publicIp: "192.168.0.77" })] }),
        field: "hosts[0].publicIp",
        says: /lies inside subnet \(192\.168\.0\.0\/24\)/,
    },
    { name: "no KVM host", build: mesh({ hosts: [] }), field: "hosts", says: /at least one KVM host/ },
    { name: "no SSH user", build: mesh({ hosts: [host({ sshUser: "" })] }), field: "hosts[0].sshUser", says: /is required/ },
    { name: "no SSH key", build: mesh({ ssh: { privateKey: "" } }), field: "ssh.privateKey", says: /is required/ },
    {
        name: "an SSH port out of range",
        build: mesh({ ssh: { privateKey: SSH_KEY, port: 70000 } }),
        field: "ssh.port",
        says: /integer from 1 to 65535/,
    },
    // WireGuardMesh: nodes whose host firewall (an edge cluster's) would block the mesh
    {
        name: "a host whose firewall opens another WireGuard port",
        build: mesh({ hosts: [host({ firewall: { wireguardPort: 51821, overlayInterface: "wg0" } })] }),
        field: "listenPort",
        says: /is 51820, but the host firewall of hosts\[0\] \(kvm-london\) opens WireGuard on 51821: give its edge cluster overlay: \{ listenPort: 51820/,
    },
    {
        name: "a host whose firewall guards another interface",
        build: mesh({ hosts: [host({ firewall: { wireguardPort: 51820, overlayInterface: "wg1" } })] }),
        field: "interfaceName",
        says: /is wg0, but the host firewall of hosts\[0\] \(kvm-london\) accepts VXLAN and BGP on wg1/,
    },
    {
        name: "a host whose firewall trusts another overlay subnet",
        build: mesh({ hosts: [host({ firewall: { wireguardPort: 51820, overlayInterface: "wg0", overlaySubnet: "10.99.0.0/24" } })] }),
        field: "subnet",
        says: /is 192\.168\.0\.0\/24, but the host firewall of hosts\[0\] \(kvm-london\) trusts the overlay subnet 10\.99\.0\.0\/24/,
    },
    // WireGuardMesh: subnet, addresses, MTU, topology …
    {
        name: "a subnet too small for the nodes",
        build: mesh({ subnet: "192.168.0.0/30" }),
        field: "subnet",
        says: /has 2 usable addresses but the ingress and hosts need 3/,
    },
    {
        name: "a subnet with host bits",
        build: mesh({ subnet: "192.168.0.1/24" }),
        field: "subnet",
        says: /did you mean 192\.168\.0\.0\/24/,
    },
    {
        name: "two nodes pinned to one address",
        build: mesh({ addresses: { "kvm-london": "192.168.0.9", "kvm-ncalifornia": "192.168.0.9" } }),
        field: "addresses.kvm-ncalifornia",
        says: /duplicate address 192\.168\.0\.9 \(already used by addresses\.kvm-london\)/,
    },
    {
        name: "an address outside the subnet",
        build: mesh({ addresses: { "kvm-london": "10.0.0.2" } }),
        field: "addresses.kvm-london",
        says: /not a usable address of the subnet 192\.168\.0\.0\/24/,
    },
    {
        name: "an address for no node",
        build: mesh({ addresses: { "kvm-tokyo": "192.168.0.9" } }),
        field: "addresses.kvm-tokyo",
        says: /names no node of the overlay \(nodes: ingress, kvm-london, kvm-ncalifornia\)/,
    },
    {
        name: "an unknown topology",
        build: mesh({ topology: "star" as "mesh" }),
        field: "topology",
        says: /must be "mesh" or "hub" \(got "star"\)/,
    },
    { name: "an MTU under the IPv6 minimum", build: mesh({ mtu: 1000 }), field: "mtu", says: /integer from 1280 to 65455 \(got 1000\)/ },
    { name: "a port out of range", build: mesh({ listenPort: 0 }), field: "listenPort", says: /integer from 1 to 65535/ },
    {
        name: "an interface name too long for Linux",
        build: mesh({ interfaceName: "wireguard-overlay0" }),
        field: "interfaceName",
        says: /1 to 15 letters/,
    },
    {
        name: "an unknown WireGuard implementation",
        build: mesh({ implementation: "bsd" as "auto" }),
        field: "implementation",
        says: /must be one of auto, kernel, userspace \(got "bsd"\)/,
    },
    // EvpnFabric
    { name: "an ASN of 0", build: fabric({ asn: 0 }), field: "asn", says: /integer from 1 to 4294967295/ },
    { name: "AS_TRANS as ASN", build: fabric({ asn: 23456 }), field: "asn", says: /AS_TRANS/ },
    { name: "a hold time under 3 s", build: fabric({ timers: { hold: 2 } }), field: "timers.hold", says: /0 or at least 3/ },
    {
        name: "an unknown FRR service mode",
        build: fabric({ service: "sysv" as "systemd" }),
        field: "service",
        says: /must be one of systemd, direct, none \(got "sysv"\)/,
    },
    {
        name: "an unknown FRR source",
        build: fabric({ install: { source: "ppa" as "frrouting" } }),
        field: "install.source",
        says: /must be one of distribution, frrouting \(got "ppa"\)/,
    },
    {
        name: "an FRR channel that is no channel",
        build: fabric({ install: { source: "frrouting", channel: "latest; rm -rf /" } }),
        field: "install.channel",
        says: /"frr-stable" or a release line/,
    },
    { name: "no mesh", build: fabric({ mesh: undefined }), field: "mesh", says: /must be a WireGuardMesh/ },
    // EvpnPrivateNetwork
    { name: "VLAN ID 0", build: network({ vlanId: 0 }), field: "vlanId", says: /integer from 1 to 16777215 \(got 0\)/ },
    { name: "a VNI beyond 24 bits", build: network({ vlanId: 16777216 }), field: "vlanId", says: /integer from 1 to 16777215/ },
    {
        name: "an AR larger than its network",
        build: network({ addressRange: { size: 300 } }),
        field: "addressRange.size",
        says: /integer from 1 to 254 \(got 300\)/,
    },
    {
        name: "an AR running past the network's end",
        build: network({ addressRange: { ip: "172.17.2.250", size: 20 } }),
        field: "addressRange.size",
        says: /beyond the last usable address 172\.17\.2\.254/,
    },
    {
        name: "an AR outside the network",
        build: network({ addressRange: { ip: "172.17.3.1" } }),
        field: "addressRange.ip",
        says: /not a usable address of network 172\.17\.2\.0\/24/,
    },
    {
        name: "a network overlapping the wg subnet",
        build: network({ network: "192.168.0.0/16", mesh: plannedMesh() }),
        field: "network",
        says: /overlaps the mesh's wg subnet 192\.168\.0\.0\/24/,
    },
    {
        name: "a network overlapping another subnet",
        build: network({ otherSubnets: ["10.0.1.0/24", "172.17.0.0/16"] }),
        field: "network",
        says: /overlaps otherSubnets\[1\] \(172\.17\.0\.0\/16\)/,
    },
    {
        name: "a bad other subnet",
        build: network({ otherSubnets: ["10.0.1.0/33"] }),
        field: "otherSubnets[0]",
        says: /must be an IPv4 CIDR/,
    },
    {
        name: "an underlay MTU too small for IPv6 guests",
        build: network({ mtu: { underlayMtu: 1300 } }),
        field: "mtu.underlayMtu",
        says: /must be at least 1410 for guests using IPv6/,
    },
    {
        name: "a VXLAN MTU the mesh cannot carry",
        build: network({ mesh: plannedMesh({ mtu: 1400 }) }),
        field: "mtu",
        says: /VXLAN MTU 1370 needs a WireGuard MTU of at least 1420, but the mesh's is 1400/,
    },
    {
        name: "a PHYDEV that is not the mesh's interface",
        build: network({ phydev: "eth1", mesh: plannedMesh() }),
        field: "phydev",
        says: /"eth1" is not the mesh's interface "wg0"/,
    },
    { name: "no target", build: network({ targets: [] }), field: "targets", says: /at least one front-end/ },
    {
        name: "a target without clusters",
        build: network({ targets: [{ clusterIds: [] }] }),
        field: "targets[0].clusterIds",
        says: /at least one OpenNebula cluster ID/,
    },
    {
        name: "a cluster listed twice",
        build: network({ targets: [{ clusterIds: [100, 100] }] }),
        field: "targets[0].clusterIds[1]",
        says: /duplicate cluster ID "100"/,
    },
    {
        name: "a negative cluster ID",
        build: network({ targets: [{ clusterIds: [-1] }] }),
        field: "targets[0].clusterIds[0]",
        says: /integer from 0/,
    },
    {
        name: "two targets with one key",
        build: network({
            targets: [
                { key: "fe", clusterIds: [1] },
                { key: "fe", clusterIds: [2] },
            ],
        }),
        field: "targets[1].key",
        says: /duplicate target key "fe"/,
    },
    {
        name: "front-ends with overlapping ranges",
        build: network({ targets: [{ clusterIds: [1] }, { clusterIds: [2], addressRange: { ip: "172.17.2.10", size: 5 } }] }),
        field: "targets[1].addressRange",
        says: /leases 172\.17\.2\.10-172\.17\.2\.14 overlap those of targets\[0\] \(172\.17\.2\.1-172\.17\.2\.20\)/,
    },
    {
        name: "a derived range that no longer fits",
        build: network({ network: "172.17.2.0/27", targets: [{ clusterIds: [1] }, { clusterIds: [2] }] }),
        field: "targets[1].addressRange.size",
        says: /beyond the last usable address 172\.17\.2\.30.*derived because none was given/,
    },
    {
        name: "a gateway outside the network",
        build: network({ gateway: "10.0.0.1" }),
        field: "gateway",
        says: /not a usable address of network 172\.17\.2\.0\/24/,
    },
    { name: "a DNS server that is no address", build: network({ dns: ["one.one.one.one"] }), field: "dns[0]", says: /IPv4 address/ },
];

describe("overlay components refuse bad arguments before creating anything", function () {
    for (const example of CASES) {
        it(`${example.name} → ${example.field}`, async function () {
            let caught: unknown;
            const program = await runProgram(() => {
                try {
                    example.build();
                } catch (error) {
                    caught = error;
                }
            });
            assert.ok(caught instanceof ConfigError, `a ConfigError, got ${String(caught)}`);
            assert.equal(caught.field, example.field);
            assert.ok(caught.message.startsWith(`${example.field}: `), caught.message);
            assert.match(caught.message, example.says);
            assert.deepEqual(
                program.resources.map((resource) => resource.name),
                [],
                "nothing registered",
            );
        });
    }

    it("never echoes the SSH key in an error", async function () {
        try {
            new WireGuardMesh("overlay", { ...seedNodes(), ssh: { privateKey: SSH_KEY, port: 0 } });
            assert.fail("expected an error");
        } catch (error) {
            assert.ok(!String(error).includes("PRIVATE KEY"), String(error));
        }
    });
});
