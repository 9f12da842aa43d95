/**
 * The host configuration scripts of an edge host (`scripts/host/*.sh`) and the environment each
 * one reads, built from typed, validated inputs. Pure: no Pulumi, no network; it only reads the
 * script files.
 *
 * Every script takes its values from environment variables only, so callers never build shell
 * text from values. Two ways to run one over SSH with `@pulumi/command`'s `remote.Command`:
 *
 * - `create: "sudo bash -s"`, `stdin: toStdin(run)` — works on any host: the values travel in
 *   standard input as base64 data (see `scripts/host/env-loader.sh`);
 * - `create: "bash -s"`, `stdin: run.script`, `environment: run.environment` — only when the
 *   SSH server accepts those variables (`AcceptEnv`) and no `sudo` resets them.
 *
 * Every script that changes a host also undoes it: the same standard input with `ACTION=delete`
 * in the process environment, e.g. `delete: "sudo env ACTION=delete bash -s"` (`remote.Command`
 * sends the stored `stdin` to the delete command too). Scripts that write boot units do so when
 * their environment has `BOOT_UNITS=yes` (the renderers here ask for it by default).
 *
 * Suggested order on a host: {@link hostScriptSequence}.
 */
import type { HostScript } from "../remote/host-script";
import { hostScript } from "../remote/host-script";
import {
    ConfigError,
    addressOrCidr,
    booleanOr,
    describe,
    integerIn,
    interfaceName,
    ipv4,
    ipv4ToNumber,
    numberToIpv4,
    oneOf,
    sshPublicKeyLine,
    unique,
    withFieldPrefix,
} from "../validation";

/** OpenNebula versions whose repository the hosts can use. */
export const ONE_VERSIONS = ["6.10", "7.0"] as const;
/** An OpenNebula version from {@link ONE_VERSIONS}. */
export type OneVersion = (typeof ONE_VERSIONS)[number];

/** Hypervisors of an edge host: `kvm` (metal), `qemu` (KVM driver with emulation, for virtual instances), `lxc`. */
export const HYPERVISORS = ["kvm", "qemu", "lxc"] as const;
/** A hypervisor from {@link HYPERVISORS}. */
export type Hypervisor = (typeof HYPERVISORS)[number];

/** Firewall modes: `strict` rejects everything not allowed, `open` only adds the accept rules. */
export const FIREWALL_MODES = ["strict", "open"] as const;
/** A firewall mode from {@link FIREWALL_MODES}. */
export type FirewallMode = (typeof FIREWALL_MODES)[number];

/** Public access models: DigitalOcean port forwarding, Vultr routed public IPs, AWS / Scaleway NAT. */
export const PUBLIC_MODELS = ["portforward", "routed", "nat"] as const;
/** A public access model from {@link PUBLIC_MODELS}. */
export type PublicModel = (typeof PUBLIC_MODELS)[number];

// ---------------------------------------------------------------------------------------------
// Checks not in components/validation/ (each throws a ConfigError naming the field)

function port(field: string, value: unknown): number {
    return integerIn(field, value, 1, 65535);
}

/** A non-empty list of distinct IPv4 addresses. */
function ipv4List(field: string, value: unknown): string[] {
    if (!Array.isArray(value) || value.length === 0)
        throw new ConfigError(field, `must be a non-empty list of IPv4 addresses (got ${describe(value)})`);
    const list = value.map((item, i) => ipv4(`${field}[${i}]`, item));
    unique(list, (i) => `${field}[${i}]`, "address");
    return list;
}

function yesNo(value: boolean): string {
    return value ? "yes" : "no";
}

// ---------------------------------------------------------------------------------------------
// opennebula-repo.sh

/** Inputs of {@link opennebulaRepoScript}. */
export interface RepoScriptArgs {
    /** OpenNebula version of the apt repository. Default `"6.10"`. */
    version?: OneVersion;
}

/** `opennebula-repo.sh`: OpenNebula's apt repository (Ubuntu 22.04/24.04, Debian 12). */
export function opennebulaRepoScript(args: RepoScriptArgs = {}): HostScript {
    const version = oneOf("version", args.version ?? "6.10", ONE_VERSIONS);
    return hostScript("opennebula-repo.sh", { ONE_VERSION: version });
}

// ---------------------------------------------------------------------------------------------
// opennebula-node.sh

/** Inputs of {@link opennebulaNodeScript}. */
export interface NodeScriptArgs {
    /** `kvm` (metal), `qemu` (virtual instances) or `lxc`. Required. */
    hypervisor: Hypervisor;
    /**
     * KVM only: set the nested-virtualization option of kvm_intel/kvm_amd. Default: leave the
     * module options alone (oneprovision's virtual provisions did not manage them either).
     */
    kvmNested?: boolean;
}

/** `opennebula-node.sh`: the opennebula-node-kvm or opennebula-node-lxc package, libvirt, AppArmor. */
export function opennebulaNodeScript(args: NodeScriptArgs): HostScript {
    const hypervisor = oneOf("hypervisor", args.hypervisor, HYPERVISORS);
    const environment: Record<string, string> = { HYPERVISOR: hypervisor };
    if (args.kvmNested !== undefined) {
        const nested = booleanOr("kvmNested", args.kvmNested, false);
        if (hypervisor !== "kvm") throw new ConfigError("kvmNested", `applies only to hypervisor kvm (got ${hypervisor})`);
        environment.KVM_NESTED = yesNo(nested);
    }
    return hostScript("opennebula-node.sh", environment);
}

// ---------------------------------------------------------------------------------------------
// oneadmin-key.sh

/** Inputs of {@link oneadminKeyScript}. */
export interface OneadminKeyScriptArgs {
    /** The front-end's oneadmin public key, one OpenSSH line (`ssh-ed25519 AAAA… comment`). Required. */
    publicKey: string;
    /** Set sshd `PasswordAuthentication no` and `PermitRootLogin prohibit-password`. Default `true`. */
    hardenSshd?: boolean;
}

/** `oneadmin-key.sh`: authorizes the front-end's oneadmin key on the host and hardens sshd. */
export function oneadminKeyScript(args: OneadminKeyScriptArgs): HostScript {
    const key = sshPublicKeyLine("publicKey", args.publicKey);
    return hostScript("oneadmin-key.sh", {
        ONEADMIN_PUBKEY: key,
        SSHD_HARDEN: yesNo(booleanOr("hardenSshd", args.hardenSshd, true)),
    });
}

// ---------------------------------------------------------------------------------------------
// firewall.sh

/** A port (or range `port`..`toPort`) to open in the host firewall. */
export interface FirewallPort {
    /** Port number, or first port of a range. */
    port: number;
    /** Last port of a range. Default: same as `port`. */
    toPort?: number;
    /** Default `"tcp"`. */
    protocol?: "tcp" | "udp";
}

/** A TCP port range. */
export interface PortRange {
    /** First port. */
    port: number;
    /** Last port. Default: same as `port`. */
    toPort?: number;
}

/** libvirt (plain and TLS): only from {@link FirewallScriptArgs.trustedSources}. */
export const LIBVIRT_PORTS = [16509, 16514] as const;
/** QEMU live migration: only from {@link FirewallScriptArgs.trustedSources}. */
export const MIGRATION_PORTS: Required<PortRange> = { port: 49152, toPort: 49215 };
/** OpenNebula's VNC consoles (VM n listens on 5900 + n): only from {@link FirewallScriptArgs.trustedSources}. */
export const DEFAULT_VNC_PORTS: Required<PortRange> = { port: 5900, toPort: 65535 };

/**
 * Inputs of {@link firewallScript} and {@link cloudFirewallRules}: one allow-list for the host
 * firewall and the restricted cloud firewall in front of it.
 */
export interface FirewallScriptArgs {
    /** `strict` rejects what is not allowed; `open` closes only the protected ports. Default `"strict"`. */
    mode?: FirewallMode;
    /** Limit the public services and the final reject to this interface. Default: all interfaces. */
    interface?: string;
    /** WireGuard UDP port, open to everyone (the overlay's `listenPort`). Default `51820`. */
    wireguardPort?: number;
    /** The overlay's WireGuard interface: VXLAN and BGP (179/tcp) are accepted on it and nowhere else. Default `"wg0"`. */
    overlayInterface?: string;
    /** UDP port of the VXLAN devices. Default `8472` (the kernel's, which OpenNebula's devices use). */
    vxlanPort?: number;
    /**
     * Who may reach libvirt (16509, 16514/tcp), live migration (49152–49215/tcp) and VNC
     * ({@link vncPorts}): IPv4/IPv6 addresses or CIDRs, e.g. the cluster's cloud-private range,
     * the front-end's address and the overlay subnet. Default none: those ports are closed to all.
     */
    trustedSources?: string[];
    /** The VNC consoles' ports, reachable from {@link trustedSources} only. Default 5900–65535. */
    vncPorts?: PortRange;
    /** More ports open to everyone. Default none. */
    extraPorts?: FirewallPort[];
    /** Apply the same rules to IPv6. Default `true`. */
    ipv6?: boolean;
    /** Write the boot unit that re-applies the firewall at every boot. Default `true`. */
    bootUnit?: boolean;
}

/** {@link FirewallScriptArgs}, checked, with every default filled in. */
interface CheckedFirewall {
    mode: FirewallMode;
    interface?: string;
    wireguardPort: number;
    overlayInterface: string;
    vxlanPort: number;
    trustedSources: string[];
    vncPorts: Required<PortRange>;
    extraPorts: Required<FirewallPort>[];
    ipv6: boolean;
    bootUnit: boolean;
}

function checkFirewall(args: FirewallScriptArgs): CheckedFirewall {
    const extra = args.extraPorts ?? [];
    if (!Array.isArray(extra))
        throw new ConfigError("extraPorts", `must be a list of { port, toPort?, protocol? } (got ${describe(extra)})`);
    const trusted = args.trustedSources ?? [];
    if (!Array.isArray(trusted))
        throw new ConfigError("trustedSources", `must be a list of IPv4/IPv6 addresses or CIDRs (got ${describe(trusted)})`);
    return {
        mode: oneOf("mode", args.mode ?? "strict", FIREWALL_MODES),
        interface: args.interface === undefined ? undefined : interfaceName("interface", args.interface),
        wireguardPort: port("wireguardPort", args.wireguardPort ?? 51820),
        overlayInterface: interfaceName("overlayInterface", args.overlayInterface ?? "wg0"),
        vxlanPort: port("vxlanPort", args.vxlanPort ?? 8472),
        trustedSources: [...new Set(trusted.map((source, i) => addressOrCidr(`trustedSources[${i}]`, source)))],
        vncPorts: portRange("vncPorts", args.vncPorts ?? DEFAULT_VNC_PORTS),
        extraPorts: extra.map((p, i) => ({
            ...portRange(`extraPorts[${i}]`, p),
            protocol: oneOf(`extraPorts[${i}].protocol`, p.protocol ?? "tcp", ["tcp", "udp"] as const),
        })),
        ipv6: booleanOr("ipv6", args.ipv6, true),
        bootUnit: booleanOr("bootUnit", args.bootUnit, true),
    };
}

/**
 * `firewall.sh`: the ONE-EDGE-INPUT chain and its boot unit. VXLAN and BGP only on the overlay
 * interface; libvirt, migration and VNC only from `trustedSources`; SSH, WireGuard and
 * `extraPorts` from everyone; in `strict` mode nothing else.
 */
export function firewallScript(args: FirewallScriptArgs = {}): HostScript {
    const firewall = checkFirewall(args);
    const environment: Record<string, string> = {
        FIREWALL_MODE: firewall.mode,
        FIREWALL_WIREGUARD_PORT: String(firewall.wireguardPort),
        FIREWALL_OVERLAY_INTERFACE: firewall.overlayInterface,
        FIREWALL_VXLAN_PORT: String(firewall.vxlanPort),
        FIREWALL_VNC_PORTS: rangeSpec(firewall.vncPorts),
        FIREWALL_IPV6: yesNo(firewall.ipv6),
        BOOT_UNITS: yesNo(firewall.bootUnit),
    };
    if (firewall.interface !== undefined) environment.FIREWALL_INTERFACE = firewall.interface;
    if (firewall.trustedSources.length > 0) environment.FIREWALL_TRUSTED_SOURCES = firewall.trustedSources.join(" ");
    if (firewall.extraPorts.length > 0)
        environment.FIREWALL_EXTRA_PORTS = firewall.extraPorts.map((p) => `${rangeSpec(p)}/${p.protocol}`).join(" ");
    return hostScript("firewall.sh", environment);
}

/** A rule of a restricted cloud firewall: traffic it lets in. */
export interface CloudFirewallRule {
    /** Stable name of the rule, e.g. `ssh`, `libvirt-tls`, `extra-port-0` (clouds with one resource per rule name them after it). */
    key: string;
    /** `tcp`, `udp` or `icmp`. */
    protocol: "tcp" | "udp" | "icmp";
    /** First port; absent for ICMP. */
    fromPort?: number;
    /** Last port; absent for ICMP. */
    toPort?: number;
    /** Source CIDRs; everyone is `0.0.0.0/0` (and `::/0` with IPv6). */
    sources: string[];
    /** What the rule is for, e.g. `"libvirt"`. */
    description: string;
}

/**
 * The inbound rules a restricted cloud firewall needs in front of a host whose firewall is
 * `firewallScript(args)`: SSH, WireGuard on its port, ICMP and `extraPorts` from everyone;
 * libvirt, live migration and VNC from `trustedSources` only (no rule when the list is empty).
 * VXLAN and BGP get no rule: they travel inside WireGuard, which the cloud sees as UDP to the
 * WireGuard port. Pure; throws like {@link firewallScript}, naming the field.
 */
export function cloudFirewallRules(args: FirewallScriptArgs = {}): CloudFirewallRule[] {
    const firewall = checkFirewall(args);
    const everyone = firewall.ipv6 ? ["0.0.0.0/0", "::/0"] : ["0.0.0.0/0"];
    const trusted = firewall.trustedSources;
    const rules: CloudFirewallRule[] = [
        { key: "ssh", protocol: "tcp", fromPort: 22, toPort: 22, sources: everyone, description: "SSH" },
        {
            key: "wireguard",
            protocol: "udp",
            fromPort: firewall.wireguardPort,
            toPort: firewall.wireguardPort,
            sources: everyone,
            description: "WireGuard",
        },
        { key: "icmp", protocol: "icmp", sources: everyone, description: "ICMP" },
        ...firewall.extraPorts.map((p, i): CloudFirewallRule => ({
            key: `extra-port-${i}`,
            protocol: p.protocol,
            fromPort: p.port,
            toPort: p.toPort,
            sources: everyone,
            description: `extra port ${rangeSpec(p)}/${p.protocol}`,
        })),
    ];
    if (trusted.length > 0) {
        const [libvirt, libvirtTls] = LIBVIRT_PORTS;
        rules.push(
            { key: "libvirt", protocol: "tcp", fromPort: libvirt, toPort: libvirt, sources: trusted, description: "libvirt" },
            { key: "libvirt-tls", protocol: "tcp", fromPort: libvirtTls, toPort: libvirtTls, sources: trusted, description: "libvirt TLS" },
            {
                key: "migration",
                protocol: "tcp",
                fromPort: MIGRATION_PORTS.port,
                toPort: MIGRATION_PORTS.toPort,
                sources: trusted,
                description: "live migration",
            },
            {
                key: "vnc",
                protocol: "tcp",
                fromPort: firewall.vncPorts.port,
                toPort: firewall.vncPorts.toPort,
                sources: trusted,
                description: "VNC consoles",
            },
        );
    }
    return rules;
}

function portRange(field: string, range: PortRange): Required<PortRange> {
    const first = port(`${field}.port`, range?.port);
    const last = range.toPort === undefined ? first : port(`${field}.toPort`, range.toPort);
    if (last < first) throw new ConfigError(`${field}.toPort`, `must not be below ${field}.port (got ${last} < ${first})`);
    return { port: first, toPort: last };
}

/** `port` or `first:last`, the way iptables prints it. */
function rangeSpec(range: Required<PortRange>): string {
    return range.toPort === range.port ? String(range.port) : `${range.port}:${range.toPort}`;
}

// ---------------------------------------------------------------------------------------------
// sysctl.sh

/** Inputs of {@link sysctlScript}. `net.ipv4.ip_forward=1` is always set. */
export interface SysctlScriptArgs {
    /** Send bridged traffic through iptables (br_netfilter; OpenNebula security groups need it). Default `true`. */
    bridgeNetfilter?: boolean;
    /** Blanket `net.ipv4.conf.all.proxy_arp=1`; no public model needs it. Default `false`. */
    proxyArp?: boolean;
}

/** `sysctl.sh`: IP forwarding and bridge netfilter, applied and persisted in /etc/sysctl.d. */
export function sysctlScript(args: SysctlScriptArgs = {}): HostScript {
    return hostScript("sysctl.sh", {
        SYSCTL_BRIDGE_NF: yesNo(booleanOr("bridgeNetfilter", args.bridgeNetfilter, true)),
        SYSCTL_PROXY_ARP: yesNo(booleanOr("proxyArp", args.proxyArp, false)),
    });
}

// ---------------------------------------------------------------------------------------------
// public-forwarding.sh

/** What all public models share. */
interface ForwardingCommon {
    /** The host's interface towards the cloud network, e.g. `"eth0"`. Required. */
    uplink: string;
    /** The VMs' bridge, created when missing. Default `"br0"`. */
    bridge?: string;
    /** Write the boot unit that re-applies the forwarding at every boot. Default `true`. */
    bootUnit?: boolean;
}

/** DigitalOcean: VMs get private leases, reachable by TCP port ranges on the host (nodeport). */
export interface PortForwardForwardingArgs extends ForwardingCommon {
    model: "portforward";
    /** The VMs' gateway, answered by the host on the bridge. Default `"192.168.23.1"`. */
    gateway?: string;
    /** Address of lease 0. Default `"192.168.23.2"`. */
    baseIp?: string;
    /** Number of leases forwarded (1..1000). Default `250` (oneprovision's AR size). */
    leases?: number;
    /** Ports of lease i are portStart + i*portSize + 1 … + portSize. Default `9000`. */
    portStart?: number;
    /** Ports per lease. Default `100`. */
    portSize?: number;
}

/** Vultr: each VM uses a reserved public IP itself, routed by the host. */
export interface RoutedForwardingArgs extends ForwardingCommon {
    model: "routed";
    /** The VMs' public addresses. Required, non-empty. */
    publicIps: string[];
    /** The VMs' gateways. Default: each address XOR 1, the /31 peer oneprovision's IPAM gave VMs. */
    gateways?: string[];
}

/** A public address and the private address of the VM that answers for it. */
export interface NatPair {
    publicIp: string;
    privateIp: string;
}

/**
 * AWS (`natBy: "cloud"`: the Elastic IP maps 1:1 to a secondary private IP of the instance,
 * used by the VM) or Scaleway (`natBy: "host"`: the flexible IP reaches the host, which DNATs it
 * to the VM's private IP and SNATs the replies).
 */
export interface NatForwardingArgs extends ForwardingCommon {
    model: "nat";
    /** Who translates public ↔ private. Default `"host"`. */
    natBy?: "host" | "cloud";
    /** Required, non-empty. */
    pairs: NatPair[];
    /** The VMs' gateways. Default: each private address XOR 1 (the /31 peer). */
    gateways?: string[];
}

/** Inputs of {@link publicForwardingScript}, one shape per public model. */
export type PublicForwardingArgs = PortForwardForwardingArgs | RoutedForwardingArgs | NatForwardingArgs;

/** `public-forwarding.sh`: routes, proxy ARP and NAT that make the VMs publicly reachable. */
export function publicForwardingScript(args: PublicForwardingArgs): HostScript {
    const model = oneOf("model", args?.model, PUBLIC_MODELS);
    const common = {
        PUBLIC_MODEL: model,
        UPLINK: interfaceName("uplink", args.uplink),
        BRIDGE: interfaceName("bridge", args.bridge ?? "br0"),
        BOOT_UNITS: yesNo(booleanOr("bootUnit", args.bootUnit, true)),
    };
    if (common.UPLINK === common.BRIDGE) throw new ConfigError("bridge", `must be another interface than uplink (both ${common.UPLINK})`);
    let modelEnvironment: { environment: Record<string, string>; vmIps: string[]; gateways: string[] };
    switch (model) {
        case "portforward":
            modelEnvironment = portForwardEnvironment(args as PortForwardForwardingArgs);
            break;
        case "routed":
            modelEnvironment = routedEnvironment(args as RoutedForwardingArgs);
            break;
        case "nat":
            modelEnvironment = natEnvironment(args as NatForwardingArgs);
            break;
    }
    const clash = modelEnvironment.gateways.find((gateway) => modelEnvironment.vmIps.includes(gateway));
    if (clash !== undefined) {
        throw new ConfigError(
            "gateways",
            `${clash} is also a VM address (two VM addresses share a /31?); pass gateways that are not VM addresses`,
        );
    }
    return hostScript("public-forwarding.sh", {
        ...common,
        GATEWAY: modelEnvironment.gateways.join(" "),
        ...modelEnvironment.environment,
    });
}

function portForwardEnvironment(args: PortForwardForwardingArgs) {
    const gateway = ipv4("gateway", args.gateway ?? "192.168.23.1");
    const baseIp = ipv4("baseIp", args.baseIp ?? "192.168.23.2");
    const leases = integerIn("leases", args.leases ?? 250, 1, 1000);
    const portStart = integerIn("portStart", args.portStart ?? 9000, 0, 65534);
    const portSize = integerIn("portSize", args.portSize ?? 100, 1, 65535);
    if (portStart + leases * portSize > 65535) {
        throw new ConfigError(
            "portSize",
            `portStart + leases * portSize must stay within 65535 (got ${portStart} + ${leases} * ${portSize})`,
        );
    }
    const first = ipv4ToNumber(baseIp);
    if (first + leases - 1 > 0xffffffff) throw new ConfigError("leases", `baseIp + leases goes past 255.255.255.255`);
    const vmIps = Array.from({ length: leases }, (_, i) => numberToIpv4(first + i));
    return {
        environment: { BASE_IP: baseIp, LEASES: String(leases), PORT_START: String(portStart), PORT_SIZE: String(portSize) },
        vmIps,
        gateways: [gateway],
    };
}

function routedEnvironment(args: RoutedForwardingArgs) {
    const publicIps = ipv4List("publicIps", args.publicIps);
    return {
        environment: { PUBLIC_IPS: publicIps.join(" ") },
        vmIps: publicIps,
        gateways: gatewaysFor(args.gateways, publicIps),
    };
}

function natEnvironment(args: NatForwardingArgs) {
    const natBy = oneOf("natBy", args.natBy ?? "host", ["host", "cloud"] as const);
    if (!Array.isArray(args.pairs) || args.pairs.length === 0) {
        throw new ConfigError("pairs", `must be a non-empty list of { publicIp, privateIp } (got ${describe(args.pairs)})`);
    }
    const pairs = args.pairs.map((pair, i) => {
        const publicIp = ipv4(`pairs[${i}].publicIp`, pair?.publicIp);
        const privateIp = ipv4(`pairs[${i}].privateIp`, pair.privateIp);
        if (publicIp === privateIp) throw new ConfigError(`pairs[${i}]`, `maps ${publicIp} to itself; use model "routed"`);
        return { publicIp, privateIp };
    });
    ipv4List(
        "pairs[].publicIp",
        pairs.map((p) => p.publicIp),
    );
    const privateIps = ipv4List(
        "pairs[].privateIp",
        pairs.map((p) => p.privateIp),
    );
    return {
        environment: { NAT_BY: natBy, NAT_PAIRS: pairs.map((p) => `${p.publicIp}=${p.privateIp}`).join(" ") },
        vmIps: natBy === "host" ? [...privateIps, ...pairs.map((p) => p.publicIp)] : privateIps,
        gateways: gatewaysFor(args.gateways, privateIps),
    };
}

/** Explicit gateways, or the /31 peer (address XOR 1) of each VM address, without repeats. */
function gatewaysFor(explicit: string[] | undefined, vmIps: string[]): string[] {
    if (explicit !== undefined) return ipv4List("gateways", explicit);
    return [...new Set(vmIps.map((ip) => numberToIpv4((ipv4ToNumber(ip) ^ 1) >>> 0)))];
}

// ---------------------------------------------------------------------------------------------
// onevm port-forward

// What `onevm port-forward` answers lives with OpenNebula's address ranges; re-exported here.
export { PortForwardQuery, portForward } from "../opennebula/port-forward";

// ---------------------------------------------------------------------------------------------
// All of it, in order

/** Inputs of {@link hostScriptSequence}: the inputs of each script, by script. */
export interface HostScriptSequenceArgs {
    /** Default: {@link opennebulaRepoScript} defaults (6.10). */
    repo?: RepoScriptArgs;
    /** Required (the hypervisor has no default). */
    node: NodeScriptArgs;
    /** Required (the front-end's key). */
    oneadminKey: OneadminKeyScriptArgs;
    /** Default: {@link sysctlScript} defaults. */
    sysctl?: SysctlScriptArgs;
    /** Default: {@link firewallScript} defaults (strict). */
    firewall?: FirewallScriptArgs;
    /** Public access model of this host; omit when the host forwards nothing. */
    publicForwarding?: PublicForwardingArgs;
}

/**
 * The host scripts in the order they must run: repository → node package → oneadmin key →
 * sysctls → firewall → public forwarding (which needs IP forwarding from sysctl.sh). Errors are
 * prefixed with the part they come from, e.g. `firewall.mode must be one of strict, open …`.
 */
export function hostScriptSequence(args: HostScriptSequenceArgs): HostScript[] {
    const sequence = [
        within("repo", () => opennebulaRepoScript(args.repo)),
        within("node", () => opennebulaNodeScript(args.node ?? ({} as NodeScriptArgs))),
        within("oneadminKey", () => oneadminKeyScript(args.oneadminKey ?? ({} as OneadminKeyScriptArgs))),
        within("sysctl", () => sysctlScript(args.sysctl)),
        within("firewall", () => firewallScript(args.firewall)),
    ];
    if (args.publicForwarding !== undefined) {
        const forwarding = args.publicForwarding;
        sequence.push(within("publicForwarding", () => publicForwardingScript(forwarding)));
    }
    return sequence;
}

function within<T>(part: string, build: () => T): T {
    return withFieldPrefix(`${part}.`, build);
}
