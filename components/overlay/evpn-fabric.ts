/**
 * `EvpnFabric`: FRR BGP-EVPN on every node of a {@link WireGuardMesh}. The ingress is the route
 * reflector (no VNIs of its own), the KVM hosts are its clients with `advertise-all-vni`; one
 * iBGP ASN, sessions over the wg addresses. Per node, one command installs FRR where it is
 * missing (`scripts/host/frr-install.sh`, in parallel with the mesh) and one writes the
 * configuration and reloads FRR (`scripts/host/frr-apply.sh`) once the node's WireGuard is up.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostCommand } from "../remote/host-command";
import type { HostScript } from "../remote/host-script";
import { hostScript } from "../remote/host-script";
import type { SshArgs } from "../remote/ssh";
import { checkSshArgs } from "../remote/ssh";
import type { Transform } from "../transform";
import { ConfigError, booleanOr, describe, oneOf } from "../validation";
import type { BgpTimers, FrrLogTarget, FrrNodeFiles } from "./frr-config";
import { frrScriptEnvironment, planEvpnFabric } from "./frr-config";
import type { WireGuardMesh } from "./wireguard-mesh";

/** Type token of {@link EvpnFabric}. */
export const EVPN_FABRIC_TYPE = "opennebula-edge:overlay:EvpnFabric";

/** How FRR is (re)loaded: `systemd` (real hosts), `direct` (no init system, the lab) or `none` (only write the files). */
export type FrrService = "systemd" | "direct" | "none";

/** Where FRR is installed from when it is missing. */
export interface FrrInstallOptions {
    /** `distribution`: the system's apt repositories. `frrouting`: deb.frrouting.org, as oneprovision did. Default `distribution`. */
    source?: "distribution" | "frrouting";
    /** Channel of deb.frrouting.org (`frr-stable`, `frr-10` …), only with `source: "frrouting"`. Default `frr-stable`. */
    channel?: string;
}

/** Arguments of {@link EvpnFabric}. Values that shape the configuration are plain and checked before anything is created. */
export interface EvpnFabricArgs {
    /** The WireGuard mesh whose nodes and addresses the fabric uses. Required. */
    mesh: WireGuardMesh;
    /** SSH access to the nodes. Default: the mesh's. */
    ssh?: SshArgs;
    /** The fabric's single ASN, 1–4294967295 except 23456. Default 65000. */
    asn?: number;
    /** Let the reflector accept clients from the whole wg subnet instead of listing each. Default false (listed). */
    useListenRange?: boolean;
    /** Where the daemons log. Default `file` (`/var/log/frr/<daemon>.log`). */
    log?: FrrLogTarget;
    /** BGP timers. Default keepalive 3, hold 9, connect-retry 2 seconds. */
    timers?: BgpTimers;
    /** bgpd `coalesce-time` in ms. Default 100. */
    coalesceTimeMs?: number;
    /** How FRR is (re)loaded. Default `systemd`. */
    service?: FrrService;
    /** Install FRR where it is missing (`false`: it must be there already). Default `{ source: "distribution" }`. */
    install?: FrrInstallOptions | false;
    /** Escape hatches: change the arguments or options of each kind of child command before it is created. Default none. */
    transform?: {
        /** `${name}-install-<key>`: frr-install.sh. */
        installCommand?: Transform<command.remote.CommandArgs>;
        /** `${name}-config-<key>`: frr-apply.sh. */
        configCommand?: Transform<command.remote.CommandArgs>;
    };
}

/** The FRR configuration of one node. */
export interface EvpnFabricNode {
    /** `reflector` (the ingress) or `client` (a KVM host). */
    role: "reflector" | "client";
    /** The rendered `/etc/frr/bgpd.conf`. */
    bgpdConf: string;
    /** The command that applied it: depend on it for whatever needs BGP on this node. */
    ready: command.remote.Command;
}

const SERVICES: readonly FrrService[] = ["systemd", "direct", "none"];
const SOURCES = ["distribution", "frrouting"] as const;

/**
 * BGP-EVPN over the mesh: route reflector on the ingress, clients on the KVM hosts.
 *
 * @example new EvpnFabric("fabric", { mesh }, { dependsOn: [firewall] })
 */
export class EvpnFabric extends pulumi.ComponentResource {
    /** The fabric's ASN. */
    readonly asn: number;
    /** The ingress's wg address: router-id, cluster-id and the clients' neighbour. */
    readonly reflectorAddress: string;
    /** Every node's configuration by key, the ingress first. */
    readonly nodes: Record<string, EvpnFabricNode>;

    constructor(name: string, args: EvpnFabricArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planFabric(args);
        super(EVPN_FABRIC_TYPE, name, {}, opts);
        const ssh = args.ssh ?? args.mesh.ssh;
        this.asn = plan.asn;
        this.reflectorAddress = args.mesh.wireguardPlan.nodes[0].address;
        this.nodes = {};
        // Every node runs the same install script: rendered once, shared by all.
        const install = plan.install === false ? undefined : installScript(plan.install);
        for (const files of plan.files) {
            const meshNode = args.mesh.nodes[files.name];
            const installed =
                install === undefined
                    ? []
                    : [
                          hostCommand(`${name}-install-${files.name}`, install, {
                              parent: this,
                              ssh,
                              node: meshNode.node,
                              transform: args.transform?.installCommand,
                          }),
                      ];
            const ready = hostCommand(`${name}-config-${files.name}`, applyScript(files, plan.service), {
                parent: this,
                ssh,
                node: meshNode.node,
                dependsOn: [...installed, meshNode.ready],
                transform: args.transform?.configCommand,
            });
            this.nodes[files.name] = { role: files.role, bgpdConf: files.bgpdConf, ready };
        }
        this.registerOutputs({
            asn: this.asn,
            reflectorAddress: this.reflectorAddress,
            nodes: Object.fromEntries(Object.entries(this.nodes).map(([key, node]) => [key, { role: node.role, bgpdConf: node.bgpdConf }])),
        });
    }
}

function installScript(options: FrrInstallOptions): HostScript {
    return hostScript("frr-install.sh", { FRR_SOURCE: options.source ?? "distribution", FRR_CHANNEL: options.channel ?? "frr-stable" });
}

function applyScript(files: FrrNodeFiles, service: FrrService): HostScript {
    return hostScript("frr-apply.sh", { ...frrScriptEnvironment(files), FRR_SERVICE: service });
}

// ---------------------------------------------------------------------------------------------
// Validation and planning (pure; runs before anything is created)

/** The checked arguments and every node's files. */
export interface EvpnFabricPlan {
    /** The ASN. */
    asn: number;
    /** How FRR is (re)loaded. */
    service: FrrService;
    /** Where FRR comes from, or false. */
    install: FrrInstallOptions | false;
    /** Per node, the ingress first. */
    files: FrrNodeFiles[];
}

/**
 * Checks the arguments and renders every node's FRR files.
 *
 * @throws ConfigError naming the argument, e.g. `mesh`, `asn`, `timers.hold`, `service`, `install.channel`.
 */
export function planFabric(args: EvpnFabricArgs): EvpnFabricPlan {
    if (args === undefined || args === null || typeof args !== "object") {
        throw new ConfigError("args", "are required: { mesh, … }");
    }
    // Structural, so that a mesh from another copy of this package works too.
    if (
        args.mesh === undefined ||
        args.mesh === null ||
        typeof args.mesh !== "object" ||
        args.mesh.wireguardPlan === undefined ||
        args.mesh.nodes === undefined
    ) {
        throw new ConfigError("mesh", `must be a WireGuardMesh (got ${describe(args.mesh)})`);
    }
    if (args.ssh !== undefined) {
        checkSshArgs(args.ssh);
    }
    const service = oneOf("service", args.service ?? "systemd", SERVICES);
    const install = checkInstall(args.install ?? {});
    booleanOr("useListenRange", args.useListenRange, false);
    const files = planEvpnFabric(args.mesh.wireguardPlan, {
        asn: args.asn,
        useListenRange: args.useListenRange,
        log: args.log,
        timers: args.timers,
        coalesceTimeMs: args.coalesceTimeMs,
    });
    return { asn: args.asn ?? 65000, service, install, files };
}

function checkInstall(value: FrrInstallOptions | false): FrrInstallOptions | false {
    if (value === false) {
        return false;
    }
    if (value === null || typeof value !== "object") {
        throw new ConfigError("install", `must be false or { source?, channel? } (got ${describe(value)})`);
    }
    if (value.source !== undefined) oneOf("install.source", value.source, SOURCES);
    if (value.channel !== undefined && !/^frr-(stable|[0-9]+(\.[0-9]+)?)$/.test(value.channel)) {
        throw new ConfigError(
            "install.channel",
            `must be "frr-stable" or a release line such as "frr-10" (got ${describe(value.channel)})`,
        );
    }
    return value;
}
