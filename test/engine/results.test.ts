/**
 * Every result a provider hands the engine (check, diff, create, read, read with only an id,
 * update) walked in full: nothing a protobuf Struct cannot carry (no `undefined` at any depth, no
 * class instances) — the provider host would fail on it, after the object exists for a create.
 * The providers run in this process here, so a failure names the path.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { clusterMembershipProvider } from "../../components/opennebula/resources/cluster-membership";
import { datastoreProvider } from "../../components/opennebula/resources/datastore";
import { hostProvider } from "../../components/opennebula/resources/host";
import { marketplaceAppProvider } from "../../components/opennebula/resources/marketplace-app";
import { plainResult } from "../../components/opennebula/resources/provider-kit";
import { virtualMachineProvider } from "../../components/opennebula/resources/virtual-machine";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { virtualRouterProvider } from "../../components/opennebula/resources/virtual-router";
import { vnTemplateProvider } from "../../components/opennebula/resources/vn-template";
import { OneClient } from "../../components/opennebula/client";
import { OneDouble } from "../support/one-double";
import { capPolls } from "../opennebula/harness";
import type { Prerequisites } from "./cases";
import { TYPE_CASES, makePrerequisites, removePrerequisites } from "./cases";
import { nonStructValues, stripSecrets } from "./engine";
import { only, register } from "./registrations";
import { ENGINE_DOUBLE_TIMINGS } from "./target";

const PROVIDERS: Record<string, pulumi.dynamic.ResourceProvider> = {
    Cluster: clusterProvider,
    Host: hostProvider,
    Datastore: datastoreProvider,
    VirtualNetwork: virtualNetworkProvider,
    VirtualNetworkTemplate: vnTemplateProvider,
    ClusterMembership: clusterMembershipProvider,
    MarketplaceApp: marketplaceAppProvider,
    VirtualMachine: virtualMachineProvider,
    VirtualRouter: virtualRouterProvider,
};

describe("Provider results carry nothing a protobuf Struct cannot", function () {
    this.timeout(60_000);
    let double: OneDouble;
    let client: OneClient;
    let p: Prerequisites;
    let restorePolls: () => void;
    const run = crypto.randomBytes(2).toString("hex");

    before(async () => {
        double = await OneDouble.start(ENGINE_DOUBLE_TIMINGS);
        const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
        client = new OneClient(connection);
        p = await makePrerequisites(client, `results-${run}`);
        restorePolls = capPolls();
    });
    after(async () => {
        restorePolls?.();
        if (p) await removePrerequisites(client, p);
        client?.close();
        await double?.stop();
    });

    it("the normaliser drops undefined members at any depth and turns undefined items into null", function () {
        const value = { a: undefined, b: { c: undefined, d: [1, undefined, { e: undefined, f: "x" }] }, g: null };
        assert.deepStrictEqual(plainResult(value), { b: { d: [1, null, { f: "x" }] }, g: null });
        assert.deepStrictEqual(nonStructValues(plainResult(value)), []);
        assert.deepStrictEqual(nonStructValues(value), ["$.a", "$.b.c", "$.b.d[1]", "$.b.d[2].e"], "the walk finds what a Struct refuses");
    });

    for (const c of TYPE_CASES) {
        it(`${c.type}: check, create, read, read with only an id, diff, update, with optional fields absent and present`, async function () {
            const provider = PROVIDERS[c.type];
            const connection = { endpoint: double.endpoint, username: double.username, password: pulumi.secret(double.password) };
            for (const [label, args] of [
                ["min", c.minimal(p, `${c.type.toLowerCase()}-res-min-${run}`)],
                ["full", c.full(p, `${c.type.toLowerCase()}-res-full-${run}`, connection)],
            ] as const) {
                const name = `${c.type.toLowerCase()}-res-${label}-${run}`;
                const news = stripSecrets(only(await register(() => c.construct(name, args)), c.type).object) as Record<string, unknown>;
                const walked: [string, unknown][] = [];
                const checked = await provider.check!(
                    {},
                    {
                        ...news,
                        connection: news.connection ?? { endpoint: double.endpoint, username: double.username, password: double.password },
                    },
                );
                walked.push(["check", checked]);
                const created = await provider.create!(checked.inputs);
                walked.push(["create", created]);
                walked.push(["read", await provider.read!(created.id, created.outs)]);
                walked.push(["read with only an id", await withEnvironment(double, () => provider.read!(created.id, {}))]);
                const changed = await provider.check!(created.outs, {
                    ...checked.inputs,
                    ...c.inPlace(p, args, connection as never),
                    connection: checked.inputs.connection,
                });
                walked.push(["diff", await provider.diff!(created.id, created.outs, changed.inputs)]);
                const updated = await provider.update!(created.id, created.outs, changed.inputs);
                walked.push(["update", updated]);
                await provider.delete!(created.id, updated.outs);
                for (const [step, result] of walked) assert.deepStrictEqual(nonStructValues(result), [], `${c.type} (${label}) ${step}`);
            }
            assert.deepStrictEqual(
                double.objects().filter((o) => !o.builtin && !o.name.startsWith(`results-${run}`)),
                [],
                "nothing left behind",
            );
        });
    }
});

/** Runs `action` with ONE_XMLRPC / ONE_AUTH of this process pointing at the double (a read with only an id has no connection). */
async function withEnvironment<T>(double: OneDouble, action: () => Promise<T>): Promise<T> {
    const fs = await import("fs");
    const os = await import("os");
    const path = await import("path");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "poe-results-"));
    const authFile = path.join(dir, "one_auth");
    fs.writeFileSync(authFile, `${double.username}:${double.password}\n`, { mode: 0o600 });
    const previous = { xmlrpc: process.env.ONE_XMLRPC, auth: process.env.ONE_AUTH };
    process.env.ONE_XMLRPC = double.endpoint;
    process.env.ONE_AUTH = authFile;
    try {
        return await action();
    } finally {
        for (const [key, value] of [
            ["ONE_XMLRPC", previous.xmlrpc],
            ["ONE_AUTH", previous.auth],
        ] as const) {
            if (value === undefined) delete process.env[key];
            else process.env[key] = value;
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
