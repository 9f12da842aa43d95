/**
 * What `status` asks besides the stack outputs: each host's state in OpenNebula (one
 * `one.hostpool.info` call) and, where the ingress is reachable over SSH, the route reflector's
 * BGP sessions (FRR's `show bgp l2vpn evpn summary json`). A part that cannot be read is reported
 * as a problem, never as a failure of the whole status.
 */
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OneClient } from "../../components/opennebula/client";
import type { OneConnection } from "../../components/opennebula/connection";
import { BGP_SUMMARY_COMMAND, parseBgpPeers } from "../../components/overlay/frr-status";
import { children, childInt, parseXml } from "../../components/opennebula/xml";
import type { EdgeTopology } from "../main/topology";
import type { EdgeStatus } from "./listing";

/** OpenNebula's host STATE numbers, by name (HOST_STATE in OpenNebula's Host.h). */
export const ONE_HOST_STATE_NAMES = [
    "INIT",
    "MONITORING_MONITORED",
    "MONITORED",
    "ERROR",
    "DISABLED",
    "MONITORING_ERROR",
    "MONITORING_INIT",
    "MONITORING_DISABLED",
    "OFFLINE",
] as const;

/** The state name of each of `hostIds` in OpenNebula (`absent` for a host that no longer exists). */
export async function openNebulaHostStates(connection: OneConnection, hostIds: number[]): Promise<Record<number, string>> {
    const pool = parseXml(String(await new OneClient(connection).call("one.hostpool.info")));
    const states = new Map(children(pool, "HOST").map((host) => [childInt(host, "ID"), childInt(host, "STATE")]));
    return Object.fromEntries(
        hostIds.map((id) => {
            const state = states.get(id);
            return [id, state === undefined ? "absent" : (ONE_HOST_STATE_NAMES[state] ?? `STATE ${state}`)];
        }),
    );
}

/** How to reach the ingress over SSH. */
export interface SshAccess {
    /** The private key (OpenSSH PEM); written to a private temporary file for `ssh`, removed after. */
    privateKey: string;
    /** SSH user. Default `root`. */
    user?: string;
    /** Seconds to wait for the connection. Default 10. */
    timeoutSeconds?: number;
}

/**
 * The route reflector's BGP sessions (neighbour address → state), read on the ingress with
 * `sudo vtysh` over SSH (`BatchMode`, the key from a 0600 temporary file, never on the command line).
 *
 * @throws Error saying why when the ingress cannot be reached or answers nothing FRR would.
 */
export function routeReflectorSessions(ingressIp: string, access: SshAccess): Record<string, string> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-status-"));
    const keyFile = path.join(dir, "key");
    try {
        fs.writeFileSync(keyFile, access.privateKey.endsWith("\n") ? access.privateKey : `${access.privateKey}\n`, { mode: 0o600 });
        const timeout = access.timeoutSeconds ?? 10;
        const result = childProcess.spawnSync(
            "ssh",
            [
                "-i",
                keyFile,
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=accept-new",
                "-o",
                `ConnectTimeout=${timeout}`,
                `${access.user ?? "root"}@${ingressIp}`,
                `sudo vtysh -c '${BGP_SUMMARY_COMMAND}'`,
            ],
            { encoding: "utf8", timeout: (timeout + 20) * 1000 },
        );
        if (result.error) throw new Error(`ssh: ${result.error.message}`);
        if (result.status !== 0)
            throw new Error(`ssh ${ingressIp} exited ${result.status}: ${result.stderr.trim().split("\n").pop() ?? ""}`);
        return Object.fromEntries(parseBgpPeers(result.stdout).map((peer) => [peer.address, peer.state]));
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** What `status` gathers: host states from OpenNebula and BGP sessions from the ingress, each when it can be read. */
export async function edgeStatus(topology: EdgeTopology, access: { connection?: OneConnection; ssh?: SshAccess }): Promise<EdgeStatus> {
    const status: EdgeStatus = { problems: [] };
    const hostIds = Object.values(topology.clusters).flatMap((cluster) =>
        Object.values(cluster.hosts).flatMap((host) => (host.hostId === undefined ? [] : [host.hostId])),
    );
    if (access.connection === undefined) {
        status.problems!.push("OpenNebula: no connection (the stack's opennebula-edge:opennebula and onePassword)");
    } else {
        try {
            status.hostStates = await openNebulaHostStates(access.connection, hostIds);
        } catch (error) {
            status.problems!.push(`OpenNebula: ${error instanceof Error ? error.message : String(error)}`);
        }
    }
    const ingress = topology.overlay?.ingress;
    if (ingress !== undefined) {
        if (access.ssh === undefined) {
            status.problems!.push("BGP: no SSH key for the ingress (give --ssh-key, or the stack's sshPrivateKey)");
        } else {
            try {
                status.bgpSessions = routeReflectorSessions(ingress.publicIp, access.ssh);
            } catch (error) {
                status.problems!.push(
                    `BGP: ingress ${ingress.publicIp} not reachable: ${error instanceof Error ? error.message : String(error)}`,
                );
            }
        }
    }
    return status;
}
