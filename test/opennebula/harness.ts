import * as assert from "assert";
import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../../components/opennebula/client";
import type { OneConnection } from "../../components/opennebula/connection";
import { resolveConnection } from "../../components/opennebula/connection";
import { OneDouble } from "../support/one-double";

/**
 * Where the OpenNebula suites run: the test double, or a real front-end when ONE_XMLRPC and ONE_AUTH
 * are both set. Every object a suite creates carries the run's prefix, so a real front-end can be
 * left exactly as it was found.
 */
export interface OneTarget {
    kind: "double" | "real";
    connection: OneConnection;
    client: OneClient;
    double?: OneDouble;
    /** A name unique to this run: `<prefix>-<label>`. */
    name(label: string): string;
    stop(): Promise<void>;
}

export async function startTarget(): Promise<OneTarget> {
    const prefix = `poe-test-${crypto.randomBytes(3).toString("hex")}`;
    const real = process.env.ONE_XMLRPC && process.env.ONE_AUTH;
    const double = real ? undefined : await OneDouble.start({ vnetCreateMs: 60, vnetDeleteMs: 60, hostMonitorMs: 40 });
    const restorePolls = double ? capPolls() : () => undefined;
    const connection = double
        ? { endpoint: double.endpoint, username: double.username, password: double.password }
        : resolveConnection(undefined);
    const client = new OneClient(connection, { backoffMs: 20 });
    return {
        kind: double ? "double" : "real",
        connection,
        client,
        double,
        name: (label) => `${prefix}-${label}`,
        stop: async () => {
            client.close();
            restorePolls();
            await double?.stop();
        },
    };
}

/**
 * Drives a dynamic provider the way the engine does (check → create → read → diff → update → delete)
 * and keeps the state the engine would keep, so tests can compare it with what OpenNebula holds.
 */
export class Lifecycle<Outputs extends Record<string, any> = Record<string, any>> {
    /** Resources as Pulumi state would hold them: id → outputs. */
    readonly state = new Map<string, Outputs>();

    constructor(
        readonly provider: pulumi.dynamic.ResourceProvider,
        readonly connection: OneConnection,
    ) {}

    /** Runs check and fails with its failures, as the engine would before creating anything. */
    async check(news: Record<string, unknown>, olds: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
        const result = await this.provider.check!(olds, { connection: this.connection, ...news });
        if (result.failures && result.failures.length > 0) {
            throw new Error(result.failures.map((f) => `${f.property}: ${f.reason}`).join("; "));
        }
        return result.inputs!;
    }

    async create(news: Record<string, unknown>): Promise<{ id: string; outs: Outputs }> {
        const inputs = await this.check(news);
        const { id, outs } = await this.provider.create!(inputs);
        this.state.set(id, outs);
        return { id, outs };
    }

    /** Refresh: returns the new outputs, or undefined when the object is gone (and drops it from state). */
    async read(id: string): Promise<Outputs | undefined> {
        const result = await this.provider.read!(id, this.state.get(id));
        if (!result.id) {
            this.state.delete(id);
            return undefined;
        }
        this.state.set(id, result.props as Outputs);
        return result.props as Outputs;
    }

    async diff(id: string, news: Record<string, unknown>): Promise<pulumi.dynamic.DiffResult> {
        const inputs = await this.check(news, this.state.get(id));
        return this.provider.diff!(id, this.state.get(id), inputs);
    }

    /** An `up` with new inputs: update in place, or replace as the diff says. Returns the (possibly new) id. */
    async up(id: string, news: Record<string, unknown>): Promise<{ id: string; diff: pulumi.dynamic.DiffResult; outs: Outputs }> {
        const diff = await this.diff(id, news);
        const inputs = await this.check(news, this.state.get(id));
        if (diff.replaces && diff.replaces.length > 0) {
            if (diff.deleteBeforeReplace) await this.delete(id);
            const created = await this.create(news);
            if (!diff.deleteBeforeReplace) await this.delete(id);
            return { id: created.id, diff, outs: created.outs };
        }
        if (!diff.changes) return { id, diff, outs: this.state.get(id)! };
        const { outs } = await this.provider.update!(id, this.state.get(id), inputs);
        this.state.set(id, outs as Outputs);
        return { id, diff, outs: outs as Outputs };
    }

    /** Whether a refresh with these (last known) outputs finds the object gone. */
    async isGone(id: string, outs: Outputs): Promise<boolean> {
        return (await this.provider.read!(id, outs)).id === "";
    }

    async delete(id: string): Promise<void> {
        await this.provider.delete!(id, this.state.get(id));
        this.state.delete(id);
    }
}

/** Asserts that a promise rejects with a message matching `pattern`, and returns the error. */
export async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<Error> {
    try {
        await promise;
    } catch (err) {
        assert.match((err as Error).message, pattern);
        return err as Error;
    }
    assert.fail(`expected a rejection matching ${pattern}`);
}

/**
 * Caps the providers' pause between polls at 20 ms (ONE_EDGE_MAX_POLL_MS, read by the providers in
 * this process and in the provider processes it starts), so that a create that needs as many polls
 * as on real oned takes milliseconds against the double. Returns the function that restores it.
 */
export function capPolls(): () => void {
    const previous = process.env.ONE_EDGE_MAX_POLL_MS;
    process.env.ONE_EDGE_MAX_POLL_MS = "20";
    return () => {
        if (previous === undefined) delete process.env.ONE_EDGE_MAX_POLL_MS;
        else process.env.ONE_EDGE_MAX_POLL_MS = previous;
    };
}
