/**
 * Through Pulumi's provider host, what goes wrong and how the engine learns of it: partial state
 * (the engine receives `ErrorResourceInitFailed` with the id, records the object, and the next `up`
 * finishes it), adoption after a lost answer of only what this creation made, errors that keep
 * OpenNebula's kind, check failures that name the property, and what real front-ends were measured
 * to do (a host that fails its first monitoring, driver names per version, VM and router creates
 * that need as many polls as on real oned).
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { CREATION_TOKEN, creationTokenOf } from "../../components/opennebula/objects";
import { Cluster } from "../../components/opennebula/resources/cluster";
import { Datastore } from "../../components/opennebula/resources/datastore";
import { Host } from "../../components/opennebula/resources/host";
import { MarketplaceApp } from "../../components/opennebula/resources/marketplace-app";
import { VirtualMachine } from "../../components/opennebula/resources/virtual-machine";
import { VirtualNetwork } from "../../components/opennebula/resources/virtual-network";
import { VirtualRouter } from "../../components/opennebula/resources/virtual-router";
import { parseXml } from "../../components/opennebula/xml";
import type { Prerequisites } from "./cases";
import { makePrerequisites, removePrerequisites } from "./cases";
import { CheckFailed, Engine, stripSecrets } from "./engine";
import type { Properties } from "./provider-host";
import { HostCallError } from "./provider-host";
import type { Registration } from "./registrations";
import { only, register, urnOf } from "./registrations";
import type { EngineTarget } from "./target";
import { VERSIONS, heldObjects, startEngineTarget, sweep } from "./target";

const run = crypto.randomBytes(2).toString("hex");

/** The registration of one resource constructed under mocks. */
async function registrationOf(type: string, construct: () => void): Promise<Registration> {
    return only(await register(construct), type);
}

/** Runs `up` and returns the error the engine received. */
async function failedUp(engine: Engine, registration: Registration): Promise<HostCallError> {
    try {
        await engine.up(registration);
    } catch (err) {
        assert.ok(err instanceof HostCallError, `expected a gRPC error, got ${String(err)}`);
        return err;
    }
    assert.fail("expected the up to fail");
}

for (const version of VERSIONS) {
    describe(`Engine: failures, adoption and measured behaviour through the provider host (OpenNebula ${version} double)`, function () {
        this.timeout(120_000);
        let t: EngineTarget;
        let p: Prerequisites;
        let initial: string[];
        let counter = 0;
        const name = (label: string) => `${label}-${run}-${++counter}`;

        before(async () => {
            t = await startEngineTarget(version);
            p = await makePrerequisites(t.client, `fail-${run}`);
            initial = heldObjects(t.double);
        });
        after(async () => {
            if (!t) return;
            try {
                if (p) await removePrerequisites(t.client, p);
            } finally {
                await t.stop();
            }
        });
        beforeEach(() => {
            t.double.clearFaults();
            t.double.resetCounts();
        });
        afterEach(async () => {
            t.double.clearFaults();
            await sweep(t, initial);
        });

        describe("partial state: an object that exists but could not be completed nor removed is recorded, and the next up finishes it", function () {
            /** Asserts the engine got the id and recorded the object, then that the next up completes it and destroy removes it. */
            async function recordedThenCompleted(registration: Registration, err: HostCallError): Promise<void> {
                assert.ok(err.initFailed, `the host sent ErrorResourceInitFailed (got: ${err.details})`);
                assert.match(err.initFailed.id, /^\d+$/);
                assert.strictEqual(err.initFailed.properties.oneId, Number(err.initFailed.id));
                assert.match(err.initFailed.reasons[0], /removing it again also failed/);
                // The resource classes register a stand-in of ~2.6 KB that loads the provider by the package's
                // name: it fits the gRPC trailer partial state travels in, so the engine records it.
                assert.strictEqual(
                    err.initFailed.properties.__provider,
                    registration.object.__provider,
                    "partial state keeps the provider",
                );
                assert.doesNotMatch(err.initFailed.reasons[0], /run `pulumi up`/);
                const recorded = t.engine.require(registration.urn);
                assert.deepStrictEqual([recorded.id, recorded.initErrors.length], [err.initFailed.id, 1], "the engine recorded the object");
                t.double.clearFaults();
                const completed = await t.engine.up(registration);
                assert.strictEqual(completed.id, err.initFailed.id, "the next up completed the same object");
                assert.deepStrictEqual(completed.initErrors, []);
                assert.strictEqual(completed.outputs.__provider, registration.object.__provider, "its outputs carry the provider again");
                assert.strictEqual((await t.engine.diffUnchanged(registration.urn, registration)).changes, "none");
                await t.engine.destroy(registration.urn);
                assert.deepStrictEqual(heldObjects(t.double), initial, "destroy removed it");
            }

            it("Host: enabling fails and deleting it fails too", async function () {
                const reg = await registrationOf("Host", () => new Host(name("partial-host"), {}));
                t.double.inject({ kind: "error", code: 2048, message: "Cannot change state.", method: "one.host.status", onCall: 2 });
                t.double.inject({ kind: "error", code: 2048, message: "Cannot delete host.", method: "one.host.delete" });
                const err = await failedUp(t.engine, reg);
                assert.match(
                    err.details,
                    /^host \d+ was created but \[one\.host\.status\] ACTION \(2048\) on host \d+: Cannot change state\./,
                );
                assert.strictEqual(err.initFailed?.properties.state, "offline");
                await recordedThenCompleted(reg, err);
            });

            it("partial state alone is enough for refresh and destroy: they load the provider it recorded", async function () {
                const reg = await registrationOf("Host", () => new Host(name("partial-refresh"), {}));
                t.double.inject({ kind: "error", code: 2048, message: "Cannot change state.", method: "one.host.status", onCall: 2 });
                t.double.inject({ kind: "error", code: 2048, message: "Cannot delete host.", method: "one.host.delete" });
                const err = await failedUp(t.engine, reg);
                assert.ok(err.initFailed, `the host sent ErrorResourceInitFailed (got: ${err.details})`);
                t.double.clearFaults();
                const refreshed = await t.engine.refresh(reg.urn);
                assert.strictEqual(refreshed?.id, err.initFailed.id, "Read found the object through the recorded provider");
                await t.engine.destroy(reg.urn);
                assert.deepStrictEqual(heldObjects(t.double), initial, "Delete, with only the partial state's provider, removed it");
            });

            it("VirtualNetwork: joining a second cluster fails and deleting it fails too", async function () {
                const reg = await registrationOf(
                    "VirtualNetwork",
                    () => new VirtualNetwork(name("partial-net"), { vnMad: "bridge", clusterIds: [0, p.clusterId] }),
                );
                t.double.inject({
                    kind: "error",
                    code: 1024,
                    message: `Error getting cluster [${p.clusterId}].`,
                    method: "one.cluster.addvnet",
                });
                t.double.inject({ kind: "error", code: 2048, message: "Cannot delete.", method: "one.vn.delete" });
                await recordedThenCompleted(reg, await failedUp(t.engine, reg));
            });

            it("MarketplaceApp: the image is created, its VM template fails, and deleting the image fails too", async function () {
                const reg = await registrationOf(
                    "MarketplaceApp",
                    () => new MarketplaceApp(name("partial-app"), { appName: "Alpine Linux 3.17", datastoreId: 1 }),
                );
                t.double.inject({ kind: "error", code: 8192, message: "Cannot allocate template.", method: "one.template.allocate" });
                t.double.inject({ kind: "error", code: 2048, message: "Cannot delete image.", method: "one.image.delete" });
                const err = await failedUp(t.engine, reg);
                assert.strictEqual(err.initFailed?.properties.templateId, -1, "no template yet");
                await recordedThenCompleted(reg, err);
            });

            it("VirtualMachine: waiting for RUNNING fails and terminating it fails too", async function () {
                const reg = await registrationOf(
                    "VirtualMachine",
                    () => new VirtualMachine(name("partial-vm"), { templateId: p.vmTemplateIds[0] }),
                );
                t.double.inject({ kind: "error", code: 8192, message: "Injected failure.", method: "one.vm.info" });
                t.double.inject({ kind: "error", code: 8192, message: "Cannot terminate.", method: "one.vm.action" });
                const err = await failedUp(t.engine, reg);
                assert.strictEqual(err.initFailed?.properties.state, "UNFINISHED");
                await recordedThenCompleted(reg, err);
            });

            it("VirtualRouter: instantiating its VMs fails and deleting it fails too", async function () {
                const reg = await registrationOf(
                    "VirtualRouter",
                    () => new VirtualRouter(name("partial-vr"), { templateId: p.routerTemplateId, nics: [{ networkId: p.networkIds[0] }] }),
                );
                t.double.inject({ kind: "error", code: 2048, message: "Cannot instantiate.", method: "one.vrouter.instantiate" });
                t.double.inject({ kind: "error", code: 2048, message: "Cannot delete.", method: "one.vrouter.delete" });
                await recordedThenCompleted(reg, await failedUp(t.engine, reg));
            });
        });

        describe("adoption after a lost answer: only what this creation made", function () {
            it("two stacks, one VM name, the answer to the second instantiate lost: neither adopts the other's VM", async function () {
                const vmName = name("web");
                const stackA = new Engine(t.host);
                const stackB = new Engine(t.host);
                const a = await stackA.up(
                    await registrationOf(
                        "VirtualMachine",
                        () => new VirtualMachine("web-a", { name: vmName, templateId: p.vmTemplateIds[0] }),
                    ),
                );
                const regB = await registrationOf(
                    "VirtualMachine",
                    () => new VirtualMachine("web-b", { name: vmName, templateId: p.vmTemplateIds[0] }),
                );
                // The server acts, the answer is lost: B finds two VMs of that name and takes only its own.
                t.double.inject({ kind: "reset", method: "one.template.instantiate", afterProcessing: true });
                const b = await stackB.up(regB);
                assert.notStrictEqual(b.id, a.id, "B did not adopt A's VM");
                assert.strictEqual(t.double.calls("one.template.instantiate"), 2, "one instantiate each, none repeated");
                const tokenOf = async (id: string) => creationTokenOf(parseXml(String(await t.client.call("one.vm.info", Number(id)))));
                assert.deepStrictEqual([await tokenOf(a.id), await tokenOf(b.id)], [a.outputs.creationToken, b.outputs.creationToken]);
                assert.notStrictEqual(a.outputs.creationToken, b.outputs.creationToken);
                // The connection drops before the server acts: B finds only A's VM, does not take it, and instantiates again.
                await stackB.destroy(regB.urn);
                t.double.inject({ kind: "reset", method: "one.template.instantiate" });
                const again = await stackB.up(regB);
                assert.notStrictEqual(again.id, a.id, "B still did not adopt A's VM");
                await stackB.destroy(regB.urn);
                assert.ok(await stackA.refresh(urnOf(regB.type, "web-a")), "A's VM is untouched");
                await stackA.destroy(urnOf(regB.type, "web-a"));
            });

            it("a cluster created elsewhere under the same name: a clear error naming it, and nothing deleted", async function () {
                const clusterName = name("taken");
                const existing = Number(await t.client.call("one.cluster.allocate", clusterName));
                const err = await failedUp(t.engine, await registrationOf("Cluster", () => new Cluster("mine", { name: clusterName })));
                assert.strictEqual(err.initFailed, undefined, "no partial state: nothing was created");
                assert.match(
                    err.details,
                    new RegExp(
                        `^cluster "${clusterName}" already exists in OpenNebula \\(ID ${existing}\\) and was not created by this resource.*nothing was adopted, changed or deleted`,
                    ),
                );
                assert.deepStrictEqual(
                    heldObjects(t.double),
                    [...initial, `cluster/${existing}`].sort(),
                    "the other cluster is still there, nothing else was made",
                );
                await t.client.call("one.cluster.delete", existing);
            });

            it("a datastore made elsewhere is not adopted after a dropped connection; one this creation made is", async function () {
                const datastoreName = name("ds");
                const existing = Number(
                    await t.client.call("one.datastore.allocate", `NAME = "${datastoreName}"\nTYPE = "SYSTEM_DS"\nTM_MAD = "ssh"`, -1),
                );
                t.double.inject({ kind: "reset", method: "one.datastore.allocate" });
                const err = await failedUp(
                    t.engine,
                    await registrationOf(
                        "Datastore",
                        () => new Datastore("theirs", { name: datastoreName, type: "SYSTEM_DS", tmMad: "ssh" }),
                    ),
                );
                assert.match(
                    err.details,
                    new RegExp(
                        `datastore "${datastoreName}" already exists in OpenNebula \\(ID ${existing}\\) and was not created by this resource`,
                    ),
                );
                await t.client.call("one.datastore.delete", existing);

                t.double.inject({ kind: "reset", method: "one.cluster.allocate", afterProcessing: true });
                const mine = await t.engine.up(await registrationOf("Cluster", () => new Cluster(name("adopted"), {})));
                assert.strictEqual(t.double.calls("one.cluster.allocate"), 1, "allocate sent once, its object adopted");
                const template = parseXml(String(await t.client.call("one.cluster.info", Number(mine.id))));
                assert.strictEqual(
                    creationTokenOf(template),
                    mine.outputs.creationToken,
                    `the cluster carries this creation's ${CREATION_TOKEN}`,
                );
                await t.engine.destroyAll();
            });
        });

        describe("errors reach the engine with their kind, check failures name the property", function () {
            it("an OpenNebula failure keeps its method, code name and number in the gRPC message", async function () {
                const err = await failedUp(
                    t.engine,
                    await registrationOf(
                        "VirtualNetwork",
                        () => new VirtualNetwork(name("nowhere"), { vnMad: "bridge", clusterIds: [999] }),
                    ),
                );
                assert.strictEqual(err.code, 2, "gRPC UNKNOWN, as the engine always receives");
                assert.match(err.details, /^\[one\.vn\.allocate\] NO_EXISTS \(1024\): Error getting cluster \[999\]\.$/);
            });

            it("]]> and characters outside the Basic Multilingual Plane are check failures naming the field, before any call", async function () {
                const password = "secret\u{1F511}value";
                const reg = await registrationOf(
                    "Cluster",
                    () =>
                        new Cluster(name("bad"), {
                            template: { DESCRIPTION: "a]]>b", NOTE: "caf\u00e9 \u{1F600}" },
                            connection: {
                                endpoint: t.connection.endpoint,
                                username: t.connection.username,
                                password: pulumi.secret(password),
                            },
                        }),
                );
                const { failures } = await t.host.check(reg.urn, {}, stripSecrets(reg.object) as Properties);
                assert.deepStrictEqual(failures.map((f) => f.property).sort(), [
                    "connection.password",
                    "template.DESCRIPTION",
                    "template.NOTE",
                ]);
                assert.ok(
                    failures.every((f) => !f.reason.includes("secret")),
                    "the password is not echoed",
                );
                assert.match(
                    failures.find((f) => f.property === "template.NOTE")!.reason,
                    /U\+1F600, a character outside the Basic Multilingual Plane/,
                );
                assert.strictEqual(t.double.calls(), 0, "no call reached OpenNebula");
                await assert.rejects(t.engine.up(reg), CheckFailed);
            });
        });

        describe("measured on real front-ends", function () {
            it("a host that goes to ERROR at its first monitoring is enabled again; one that keeps failing fails after 3 enables, removed", async function () {
                t.double.failHostMonitoring(1);
                const reg = await registrationOf("Host", () => new Host(name("racy"), {}));
                const host = await t.engine.up(reg);
                assert.strictEqual(host.outputs.stateCode, 2, "MONITORED");
                assert.strictEqual(t.double.calls("one.host.status"), 3, "offline, enable, enable again");
                await t.engine.destroy(reg.urn);

                t.double.resetCounts();
                t.double.failHostMonitoring(5);
                const err = await failedUp(t.engine, await registrationOf("Host", () => new Host(name("broken"), {})));
                assert.match(
                    err.details,
                    /went to ERROR while being monitored: .*Error monitoring Host .* \(enabled 3 times\).*deleted again/,
                );
                assert.strictEqual(t.double.calls("one.host.status"), 4, "offline and three enables: bounded");
                assert.deepStrictEqual(heldObjects(t.double), initial);
            });

            it("driver names are checked against the front-end's version before anything is created", async function () {
                const local = await registrationOf(
                    "Datastore",
                    () => new Datastore(name("local-ds"), { type: "SYSTEM_DS", tmMad: "local" }),
                );
                const ebtables = await registrationOf("VirtualNetwork", () => new VirtualNetwork(name("eb-net"), { vnMad: "ebtables" }));
                const [refused, accepted] = version.startsWith("7.") ? [ebtables, local] : [local, ebtables];
                const err = await failedUp(t.engine, refused);
                const field = version.startsWith("7.") ? `vnMad "ebtables"` : `tmMad "local"`;
                assert.match(
                    err.details,
                    new RegExp(
                        `^${field} is not available on OpenNebula ${version.replace(/\./g, "\\.")} \\(only \\d+\\.\\d+ ships it\\); use one of .*; nothing was created$`,
                    ),
                );
                assert.deepStrictEqual(heldObjects(t.double), initial);
                await t.engine.up(accepted);
                await t.engine.destroyAll();
            });

            it("VM and virtual router creates poll through PENDING, PROLOG and BOOT as on real oned (9 and 12 calls there)", async function () {
                const vm = await registrationOf(
                    "VirtualMachine",
                    () => new VirtualMachine(name("polled-vm"), { templateId: p.vmTemplateIds[0] }),
                );
                t.double.resetCounts();
                await t.engine.up(vm);
                const vmCalls = t.double.calls();
                const router = await registrationOf(
                    "VirtualRouter",
                    () => new VirtualRouter(name("polled-vr"), { templateId: p.routerTemplateId, nics: [{ networkId: p.networkIds[0] }] }),
                );
                t.double.resetCounts();
                await t.engine.up(router);
                const routerCalls = t.double.calls();
                assert.ok(vmCalls >= 8 && vmCalls <= 11, `a VM create took ${vmCalls} calls`);
                assert.ok(routerCalls >= 10 && routerCalls <= 14, `a router create took ${routerCalls} calls`);
                await t.engine.destroyAll();
            });

            it("`pulumi import` (Read with an id and no properties) fails inside the SDK's host before the provider runs (pulumi/pulumi#16175)", async function () {
                const cluster = await t.engine.up(await registrationOf("Cluster", () => new Cluster(name("import"), {})));
                const err = await t.engine.importRead(cluster.type, "imported", cluster.id).then(
                    () => undefined,
                    (e: unknown) => e,
                );
                assert.ok(err instanceof HostCallError);
                assert.match(err.details, /code must be a string, not undefined/, "the host cannot load a provider it was not sent");
                await t.engine.destroyAll();
            });
        });
    });
}
