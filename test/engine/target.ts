/**
 * One engine target: a test double of its own (its own port, so hosts never share state), the
 * credentials file the host's environment points at (`ONE_XMLRPC`, `ONE_AUTH`: what a resource
 * without `connection` uses), a provider host, the engine stand-in over it, and a client for
 * setting up and inspecting the double.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OneClient } from "../../components/opennebula/client";
import type { DoubleOptions } from "../support/one-double";
import { OneDouble } from "../support/one-double";
import { Engine } from "./engine";
import { ProviderHost } from "./provider-host";

/** The OpenNebula versions the suite runs against (measured on real front-ends: reference "Measured on real front-ends"). */
export const VERSIONS = ["6.10.5", "7.0.2"] as const;

/** Timings for the double: short, so that waits cost milliseconds, yet asynchronous as in oned. */
export const ENGINE_DOUBLE_TIMINGS: DoubleOptions = {
    vnetCreateMs: 30,
    vnetDeleteMs: 30,
    hostMonitorMs: 30,
    imageReadyMs: 30,
    imageDeleteMs: 30,
    vmDeployMs: 30,
    vmActionMs: 20,
};

/**
 * Environment of every provider host: the double's endpoint and credentials, and polls capped at
 * 25 ms so that a create that needs as many polls as on real oned still takes milliseconds.
 */
function hostEnvironment(double: OneDouble, authFile: string): Record<string, string> {
    return { ONE_XMLRPC: double.endpoint, ONE_AUTH: authFile, ONE_EDGE_MAX_POLL_MS: "25" };
}

export interface EngineTarget {
    double: OneDouble;
    host: ProviderHost;
    engine: Engine;
    client: OneClient;
    /** The connection a resource's `connection` argument gives to reach the double. */
    connection: { endpoint: string; username: string; password: string };
    stop(): Promise<void>;
}

/** Starts a double of `version` and a provider host pointed at it. Call `stop` in an `after` hook. */
export async function startEngineTarget(version: string, options: DoubleOptions = {}): Promise<EngineTarget> {
    const double = await OneDouble.start({ ...ENGINE_DOUBLE_TIMINGS, ...options, version });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "poe-engine-"));
    const authFile = path.join(dir, "one_auth");
    fs.writeFileSync(authFile, `${double.username}:${double.password}\n`, { mode: 0o600 });
    const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
    const client = new OneClient(connection, { backoffMs: 10 });
    let host: ProviderHost | undefined;
    const stop = async () => {
        client.close();
        await host?.stop();
        await double.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    };
    try {
        host = await ProviderHost.start(hostEnvironment(double, authFile));
    } catch (err) {
        await stop();
        throw err;
    }
    return { double, host, engine: new Engine(host), client, connection, stop };
}

/** The objects the double holds besides its built-in ones, as `kind/id`. */
export function heldObjects(double: OneDouble): string[] {
    return double
        .objects()
        .filter((o) => !o.builtin)
        .map((o) => `${o.kind}/${o.id}`)
        .sort();
}

/** XML-RPC delete per kind, in an order that empties containers first. */
const DELETE_ORDER: [string, (client: OneClient, id: number) => Promise<unknown>][] = [
    ["vrouter", (client, id) => client.call("one.vrouter.delete", id)],
    ["vm", (client, id) => client.call("one.vm.action", "terminate-hard", id)],
    ["vmtemplate", (client, id) => client.call("one.template.delete", id)],
    ["image", (client, id) => client.call("one.image.delete", id)],
    ["vntemplate", (client, id) => client.call("one.vntemplate.delete", id)],
    ["vnet", (client, id) => client.call("one.vn.delete", id)],
    ["host", (client, id) => client.call("one.host.delete", id)],
    ["datastore", (client, id) => client.call("one.datastore.delete", id)],
    ["cluster", (client, id) => client.call("one.cluster.delete", id)],
];

/**
 * After a failed test: deletes what the engine still holds, then anything else the double holds
 * that was not there at `initial`, so the next test starts clean. Best effort, bounded to 10 s.
 */
export async function sweep(t: EngineTarget, initial: string[]): Promise<void> {
    await t.engine.destroyAll().catch(() => undefined);
    t.engine.state.clear();
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
        const extra = heldObjects(t.double).filter((o) => !initial.includes(o));
        if (extra.length === 0) return;
        for (const [kind, remove] of DELETE_ORDER) {
            for (const object of extra.filter((o) => o.startsWith(`${kind}/`)))
                await remove(t.client, Number(object.split("/")[1])).catch(() => undefined);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}
