/**
 * FRR configuration of the EVPN fabric: one iBGP ASN, the ingress as route reflector, the KVM
 * hosts as its clients, sessions over the wg addresses and only the `l2vpn evpn` family.
 *
 * The statements follow OpenNebula one-deploy's `frr/evpn` templates (peer-group `fabric`,
 * `capability extended-nexthop`, `route-reflector-client`, `advertise-all-vni` on the VTEPs),
 * plus short timers: with the FRR default connect-retry of 120 s a session that failed its first
 * attempt (peer not up yet, wg handshake pending) would stay down for two minutes.
 * The files are per-daemon (`bgpd.conf`, `zebra.conf`) with no integrated `frr.conf`, as
 * one-deploy leaves them.
 *
 * Large fleets: every client is in the one peer-group, so FRR puts them all in one update-group
 * and formats each UPDATE once for all of them; with dynamic neighbours the reflector's
 * `bgp listen limit` is raised from FRR's default of 100 to the size of the listen range, so
 * the 101st host is not silently refused.
 */
import { ConfigError, describe, integerIn, ipv4, ipv4Cidr, unique } from "../validation";
import { usableHostCount } from "./addressing";
import type { WireGuardNodePlan, WireGuardPlan } from "./wireguard-config";
import { nodeName } from "./wireguard-config";

/** Where a daemon logs. `file` writes `/var/log/frr/<daemon>.log`. Default `file`. */
export type FrrLogTarget = "file" | "syslog" | "stdout";

/** BGP timers in seconds. */
export interface BgpTimers {
    /** Keepalive interval. Default 3. */
    keepalive?: number;
    /** Hold time (0, or at least 3 and at least the keepalive). Default 9. */
    hold?: number;
    /** Seconds between connection attempts while a session is down. Default 2. */
    connectRetry?: number;
}

/** Options shared by both roles. */
export interface BgpCommonOptions {
    /** FRR `hostname` (the node name). */
    hostname: string;
    /** The node's wg address: BGP router-id and session source. */
    routerId: string;
    /** The fabric's single ASN, 1–4294967295 except 23456 (AS_TRANS). Default 65000. */
    asn?: number;
    /** Log destination. Default `file`. */
    log?: FrrLogTarget;
    /** Session timers. Defaults: keepalive 3, hold 9, connect-retry 2. */
    timers?: BgpTimers;
    /**
     * `coalesce-time` in ms: how long bgpd gathers routes before the first UPDATE to a newly
     * established peer. FRR's 1000 ms adds a second to every (re)convergence; the fabric is
     * small, so the default here is 100.
     */
    coalesceTimeMs?: number;
}

/** Options of the route reflector (the ingress). Give `clients` or `listenRange`, not both. */
export interface RouteReflectorOptions extends BgpCommonOptions {
    /** BGP cluster-id shared by all reflectors. Default: `routerId`. */
    clusterId?: string;
    /** wg addresses of the clients, listed as explicit neighbours (active on both sides). */
    clients?: readonly string[];
    /** Accept any client from this subnet (dynamic neighbours; the reflector stays passive). */
    listenRange?: string;
    /**
     * `bgp listen limit`: how many dynamic neighbours the listen range admits, 1–65535 (FRR's own
     * default of 100 refuses every further client). Only with `listenRange`. Default: every usable
     * address of the range (at most 65535), so it is never below the number of clients.
     */
    listenLimit?: number;
}

/** Options of a route-reflector client (a KVM host / VTEP). */
export interface RouteReflectorClientOptions extends BgpCommonOptions {
    /** wg addresses of the route reflectors. */
    reflectors: readonly string[];
}

/** The three files FRR needs on one node. */
export interface FrrFiles {
    /** `/etc/frr/bgpd.conf`. */
    bgpdConf: string;
    /** `/etc/frr/zebra.conf`. */
    zebraConf: string;
    /** `/etc/frr/daemons`. */
    daemons: string;
}

/** The FRR files of one node of the fabric. */
export interface FrrNodeFiles extends FrrFiles {
    /** Node name. */
    name: string;
    /** `reflector` (ingress) or `client` (KVM host). */
    role: "reflector" | "client";
}

/** Options of {@link planEvpnFabric}. */
export interface EvpnFabricOptions {
    /** The fabric's ASN. Default 65000. */
    asn?: number;
    /** Let the reflector accept clients from the whole wg subnet instead of listing them. Default false. */
    useListenRange?: boolean;
    /**
     * `bgp listen limit` with `useListenRange`, at least the number of hosts. Default: every usable
     * address of the wg subnet (at most 65535).
     */
    listenLimit?: number;
    /** Log destination of every daemon. Default `file`. */
    log?: FrrLogTarget;
    /** Session timers. */
    timers?: BgpTimers;
    /** `coalesce-time` in ms. Default 100. */
    coalesceTimeMs?: number;
}

const DEFAULT_ASN = 65000;
/** The largest `bgp listen limit` FRR accepts. */
export const MAX_LISTEN_LIMIT = 65535;
const AS_TRANS = 23456;
const PEER_GROUP = "fabric";

/** Renders `bgpd.conf` of the route reflector: cluster-id, clients in peer-group `fabric`, no VNIs of its own. */
export function renderReflectorBgpdConf(options: RouteReflectorOptions): string {
    const common = checkCommon(options);
    const clusterId = ipv4("clusterId", options.clusterId ?? common.routerId);
    const neighbours = reflectorNeighbours(options, common.routerId);
    return lines([
        ...header(common, "bgpd"),
        `router bgp ${common.asn}`,
        ` bgp router-id ${common.routerId}`,
        ` bgp cluster-id ${clusterId}`,
        ` coalesce-time ${common.coalesceTimeMs}`,
        " no bgp default ipv4-unicast",
        " bgp log-neighbor-changes",
        ...peerGroup(common),
        ...neighbours,
        " address-family l2vpn evpn",
        `  neighbor ${PEER_GROUP} activate`,
        `  neighbor ${PEER_GROUP} route-reflector-client`,
        " exit-address-family",
        "exit",
    ]);
}

/** Renders `bgpd.conf` of a route-reflector client: sessions to the reflectors and `advertise-all-vni`. */
export function renderClientBgpdConf(options: RouteReflectorClientOptions): string {
    const common = checkCommon(options);
    const reflectors = checkAddressList(options.reflectors, "reflectors");
    if (reflectors.length === 0) {
        throw new ConfigError("reflectors", "must list at least one route reflector address");
    }
    if (reflectors.includes(common.routerId)) {
        throw new ConfigError("reflectors", `contains the client's own address ${common.routerId}`);
    }
    return lines([
        ...header(common, "bgpd"),
        `router bgp ${common.asn}`,
        ` bgp router-id ${common.routerId}`,
        ` coalesce-time ${common.coalesceTimeMs}`,
        " no bgp default ipv4-unicast",
        " bgp log-neighbor-changes",
        ...peerGroup(common),
        ...reflectors.map((address) => ` neighbor ${address} peer-group ${PEER_GROUP}`),
        " address-family l2vpn evpn",
        `  neighbor ${PEER_GROUP} activate`,
        "  advertise-all-vni",
        " exit-address-family",
        "exit",
    ]);
}

/** Renders `zebra.conf`: hostname and logging only (zebra learns VNIs from the kernel). */
export function renderZebraConf(options: { hostname: string; log?: FrrLogTarget }): string {
    const hostname = nodeName("hostname", options.hostname);
    return lines(header({ hostname, log: checkLog(options.log ?? "file") }, "zebra"));
}

/**
 * Renders `/etc/frr/daemons` with `bgpd=yes` and every other routing daemon off (zebra always
 * runs). Options match Debian's defaults; staticd's vty port moves to 2620 as one-deploy does,
 * because its default 2616 collides with FireEdge.
 */
export function renderDaemonsFile(): string {
    const off = [
        "ospfd",
        "ospf6d",
        "ripd",
        "ripngd",
        "isisd",
        "pimd",
        "pim6d",
        "ldpd",
        "nhrpd",
        "eigrpd",
        "babeld",
        "sharpd",
        "pbrd",
        "bfdd",
        "fabricd",
        "vrrpd",
        "pathd",
    ];
    return lines([
        "# Rendered by pulumi-opennebula-edge: zebra + bgpd for BGP EVPN",
        "bgpd=yes",
        ...off.map((daemon) => `${daemon}=no`),
        "vtysh_enable=yes",
        'frr_profile="traditional"',
        'zebra_options="  -A 127.0.0.1 -s 90000000"',
        'bgpd_options="   -A 127.0.0.1"',
        'staticd_options="-A 127.0.0.1 -P 2620"',
    ]);
}

/**
 * The FRR files of every node of a WireGuard plan: the ingress as route reflector (router-id and
 * cluster-id = its wg address), every host as client of it.
 */
export function planEvpnFabric(wireguard: WireGuardPlan, options: EvpnFabricOptions = {}): FrrNodeFiles[] {
    const ingress = wireguard.nodes.find((node) => node.role === "ingress");
    if (ingress === undefined) {
        throw new ConfigError("wireguard.nodes", "has no ingress node");
    }
    const hosts = wireguard.nodes.filter((node) => node.role === "host");
    const shared = { asn: options.asn, log: options.log, timers: options.timers, coalesceTimeMs: options.coalesceTimeMs };
    if (options.listenLimit !== undefined && !options.useListenRange) {
        throw new ConfigError("listenLimit", "applies only with useListenRange (dynamic neighbours)");
    }
    const daemons = renderDaemonsFile();
    const filesOf = (node: WireGuardNodePlan, bgpdConf: string): FrrNodeFiles => ({
        name: node.name,
        role: node === ingress ? "reflector" : "client",
        bgpdConf,
        zebraConf: renderZebraConf({ hostname: node.name, log: options.log }),
        daemons,
    });
    const reflector = renderReflectorBgpdConf({
        ...shared,
        hostname: ingress.name,
        routerId: ingress.address,
        ...(options.useListenRange
            ? { listenRange: wireguard.subnet, listenLimit: fabricListenLimit(wireguard.subnet, options.listenLimit, hosts.length) }
            : { clients: hosts.map((host) => host.address) }),
    });
    return [
        filesOf(ingress, reflector),
        ...hosts.map((host) =>
            filesOf(host, renderClientBgpdConf({ ...shared, hostname: host.name, routerId: host.address, reflectors: [ingress.address] })),
        ),
    ];
}

/**
 * The environment of `scripts/host/frr-apply.sh`: `FRR_BGPD_CONF`, `FRR_ZEBRA_CONF` and
 * `FRR_DAEMONS` (the rendered files).
 */
export function frrScriptEnvironment(files: FrrFiles): Record<string, string> {
    return { FRR_BGPD_CONF: files.bgpdConf, FRR_ZEBRA_CONF: files.zebraConf, FRR_DAEMONS: files.daemons };
}

interface CheckedCommon {
    hostname: string;
    routerId: string;
    asn: number;
    log: FrrLogTarget;
    timers: Required<BgpTimers>;
    coalesceTimeMs: number;
}

function checkCommon(options: BgpCommonOptions): CheckedCommon {
    const hostname = nodeName("hostname", options.hostname);
    const routerId = ipv4("routerId", options.routerId);
    if (routerId === "0.0.0.0") {
        throw new ConfigError("routerId", "must not be 0.0.0.0");
    }
    const asn = integerIn("asn", options.asn ?? DEFAULT_ASN, 1, 4294967295);
    if (asn === AS_TRANS) {
        throw new ConfigError("asn", "must not be 23456 (AS_TRANS, reserved for 4-byte ASN translation)");
    }
    return {
        hostname,
        routerId,
        asn,
        log: checkLog(options.log ?? "file"),
        timers: checkTimers(options.timers ?? {}),
        coalesceTimeMs: integerIn("coalesceTimeMs", options.coalesceTimeMs ?? 100, 0, 4294967295),
    };
}

function checkTimers(timers: BgpTimers): Required<BgpTimers> {
    const keepalive = integerIn("timers.keepalive", timers.keepalive ?? 3, 0, 65535);
    const hold = integerIn("timers.hold", timers.hold ?? 9, 0, 65535);
    if (hold !== 0 && (hold < 3 || hold < keepalive)) {
        throw new ConfigError("timers.hold", `must be 0 or at least 3 and at least timers.keepalive (${keepalive}), got ${hold}`);
    }
    const connectRetry = integerIn("timers.connectRetry", timers.connectRetry ?? 2, 1, 65535);
    return { keepalive, hold, connectRetry };
}

function checkLog(value: unknown): FrrLogTarget {
    if (value !== "file" && value !== "syslog" && value !== "stdout") {
        throw new ConfigError("log", `must be "file", "syslog" or "stdout" (got ${describe(value)})`);
    }
    return value;
}

function checkAddressList(values: unknown, field: string): string[] {
    if (!Array.isArray(values)) {
        throw new ConfigError(field, `must be a list of IPv4 addresses (got ${describe(values)})`);
    }
    const addresses = values.map((value, index) => ipv4(`${field}[${index}]`, value));
    unique(addresses, (index) => `${field}[${index}]`, "address");
    return addresses;
}

function reflectorNeighbours(options: RouteReflectorOptions, routerId: string): string[] {
    if ((options.clients === undefined) === (options.listenRange === undefined)) {
        throw new ConfigError(
            "clients",
            "give either clients (explicit neighbours) or listenRange (dynamic neighbours), exactly one of them",
        );
    }
    if (options.listenRange !== undefined) {
        const range = ipv4Cidr("listenRange", options.listenRange);
        const limit = options.listenLimit ?? defaultListenLimit(range.cidr);
        return [
            ` bgp listen limit ${integerIn("listenLimit", limit, 1, MAX_LISTEN_LIMIT)}`,
            ` bgp listen range ${range.cidr} peer-group ${PEER_GROUP}`,
        ];
    }
    if (options.listenLimit !== undefined) {
        throw new ConfigError("listenLimit", "applies only to dynamic neighbours (listenRange)");
    }
    const clients = checkAddressList(options.clients, "clients");
    const own = clients.indexOf(routerId);
    if (own >= 0) {
        throw new ConfigError(`clients[${own}]`, `is the reflector's own address ${routerId}`);
    }
    return clients.map((address) => ` neighbor ${address} peer-group ${PEER_GROUP}`);
}

/** Every usable address of the range may be a client, up to FRR's maximum. */
function defaultListenLimit(range: string): number {
    return Math.min(usableHostCount(ipv4Cidr("listenRange", range)), MAX_LISTEN_LIMIT);
}

/** The listen limit of a fabric: the given or default one, refused when the fleet does not fit. */
function fabricListenLimit(subnet: string, listenLimit: number | undefined, hosts: number): number {
    const limit = integerIn("listenLimit", listenLimit ?? defaultListenLimit(subnet), 1, MAX_LISTEN_LIMIT);
    if (limit < hosts) {
        throw new ConfigError(
            "listenLimit",
            `must be at least the number of hosts (${hosts}), got ${limit}: the reflector would refuse the others`,
        );
    }
    return limit;
}

function peerGroup(common: CheckedCommon): string[] {
    const { keepalive, hold, connectRetry } = common.timers;
    return [
        ` neighbor ${PEER_GROUP} peer-group`,
        ` neighbor ${PEER_GROUP} remote-as ${common.asn}`,
        ` neighbor ${PEER_GROUP} capability extended-nexthop`,
        ` neighbor ${PEER_GROUP} update-source ${common.routerId}`,
        ` neighbor ${PEER_GROUP} timers ${keepalive} ${hold}`,
        ` neighbor ${PEER_GROUP} timers connect ${connectRetry}`,
    ];
}

function header(common: { hostname: string; log: FrrLogTarget }, daemon: string): string[] {
    const destination = { file: `file /var/log/frr/${daemon}.log`, syslog: "syslog", stdout: "stdout" }[common.log];
    return [
        "! Rendered by pulumi-opennebula-edge",
        "frr defaults traditional",
        `hostname ${common.hostname}`,
        `log ${destination} informational`,
        "log timestamp precision 3",
        "!",
    ];
}

function lines(statements: readonly string[]): string {
    return `${statements.join("\n")}\n`;
}
