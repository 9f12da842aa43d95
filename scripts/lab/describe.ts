/** The text `npm run lab` prints: what was built and what to try. */
import type { Lab } from "./lab";
import { defaultLabName } from "./naming";

/** Describes a running lab: nodes, VMs, and commands to try (ping, vtysh, bridge fdb, wg). */
export function describeLab(lab: Lab): string {
    const t = lab.topology;
    const clusterOf = (host: string) => lab.nodes.find((node) => node.name === host)?.cluster;
    const [first, second] = lab.vms;
    const far = lab.vms.find((vm) => clusterOf(vm.host) !== clusterOf(first.host)) ?? second;
    const enter = (node: string) => `nsenter -t ${lab.holderPid(node)} -m -n`;
    const wgAddress = (node: string) => t.wireguard.nodes.find((n) => n.name === node)?.address ?? "";
    const netnsWidth = Math.max(...[...lab.nodes, ...lab.vms].map((part) => part.netns.length));
    const npm = `npm run lab --${lab.name === defaultLabName() ? "" : ` --name ${lab.name}`}`;
    return [
        `Lab "${lab.name}", state in ${lab.dir} (WireGuard ${t.wireguard.topology}, VNI ${t.network.VLAN_ID}, MTU ${t.mtu.underlayMtu} → wg0 ${t.mtu.wireguardMtu} → vxlan ${t.mtu.vxlanMtu})`,
        "",
        "Nodes (netns; underlay IP; wg0):",
        ...lab.nodes.map((node) => {
            const role = node.role === "ingress" ? "route reflector" : `KVM host, ${node.cluster}`;
            return `  ${node.name.padEnd(8)} ${role.padEnd(20)} ${node.netns.padEnd(netnsWidth)} ${node.underlayIp.padEnd(11)} ${wgAddress(node.name)}`;
        }),
        "VMs (netns; IP; MAC; host):",
        ...lab.vms.map((vm) => `  ${vm.name.padEnd(8)} ${vm.netns.padEnd(netnsWidth)} ${vm.ip.padEnd(11)} ${vm.mac}  on ${vm.host}`),
        "",
        "Try:",
        `  ip netns exec ${first.netns} ping -c3 ${far.ip}                 # ${first.name} (${first.host}) → ${far.name} (${far.host})`,
        `  ip netns exec ${first.netns} ping -c1 -M do -s ${t.mtu.guestMtu - 28} ${far.ip}   # largest unfragmented packet`,
        `  ${enter("ingress")} vtysh -c 'show bgp l2vpn evpn summary'`,
        `  ${enter(first.host)} vtysh -c 'show bgp l2vpn evpn'`,
        `  ${enter(first.host)} vtysh -c 'show evpn vni detail'`,
        `  ${enter(first.host)} bridge fdb show dev wg0.${t.network.VLAN_ID}`,
        `  ${enter(first.host)} wg show`,
        `  ${npm} exec ${first.host} vtysh -c 'show evpn mac vni all'`,
        `  ${npm} status`,
        `  ${npm} down`,
    ].join("\n");
}
