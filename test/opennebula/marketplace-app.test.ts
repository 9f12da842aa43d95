import * as assert from "assert";
import { templateOf } from "../../components/opennebula/objects";
import { childInt, childText, parseXml } from "../../components/opennebula/xml";
import { rejects } from "./harness";
import type { Workloads } from "./workloads";
import { assertNothingOrphaned, deleteAll, startWorkloads } from "./workloads";

// MarketplaceApp against the double: `onemarketapp export` done through the API, idempotent, and
// rolled back when a step after the image allocate fails.

describe("MarketplaceApp: a marketplace app exported into a datastore", function () {
    let w: Workloads;
    const image = async (id: number) => parseXml(String(await w.client.call("one.image.info", id)));
    const template = async (id: number) => parseXml(String(await w.client.call("one.template.info", id)));

    before(async () => {
        w = await startWorkloads();
    });
    after(async () => {
        await w?.stop();
    });
    beforeEach(() => {
        w.double.clearFaults();
        w.double.resetCounts();
    });
    afterEach(async () => {
        w.double.clearFaults();
        assertNothingOrphaned(w);
        await deleteAll(w);
        assertNothingOrphaned(w);
    });

    it("exports as onemarketapp export does: image from APPTEMPLATE64 with FROM_APP, READY, FORMAT and DRIVER stripped, VM template booting it", async function () {
        const { id, outs } = await w.app.create({ appName: "Alpine Linux 3.17", imageName: "alpine-317", datastoreId: 1 });
        assert.strictEqual(outs.imageId, Number(id));
        assert.strictEqual(outs.appId, 1, "the second built-in app");
        assert.strictEqual(outs.marketplaceId, 0, "found in the public marketplace");
        assert.strictEqual(outs.templateName, "alpine-317", "the template is named like the image by default");

        const img = await image(outs.imageId);
        assert.strictEqual(childText(img, "NAME"), "alpine-317");
        assert.strictEqual(childInt(img, "STATE"), 1, "READY");
        assert.strictEqual(childInt(img, "DATASTORE_ID"), 1);
        const imageTemplate = templateOf(img);
        assert.strictEqual(imageTemplate.FROM_APP, "1");
        assert.strictEqual(imageTemplate.DEV_PREFIX, "vd", "the app's image template is kept");
        assert.ok(!("DRIVER" in imageTemplate) && !("FORMAT" in imageTemplate), "FORMAT and DRIVER are stripped");

        const vmTemplate = templateOf(await template(outs.templateId));
        assert.deepStrictEqual(vmTemplate.DISK, { IMAGE_ID: String(outs.imageId) });
        assert.strictEqual(vmTemplate.MEMORY, "256", "the app's VM template is kept");
        assert.deepStrictEqual(await w.app.read(id), outs, "a refresh reads back exactly what create returned");
    });

    it("renames image and template in place, and replaces the export when the datastore changes (old one first: same names)", async function () {
        const args = { appName: "Alpine Linux 3.13", imageName: "alpine", datastoreId: 1 };
        const { id, outs } = await w.app.create(args);
        const renamed = await w.app.up(id, { ...args, imageName: "alpine-b", templateName: "alpine-tpl" });
        assert.strictEqual(renamed.id, id);
        assert.deepStrictEqual(renamed.diff.replaces, []);
        assert.strictEqual(childText(await image(outs.imageId), "NAME"), "alpine-b");
        assert.strictEqual(childText(await template(outs.templateId), "NAME"), "alpine-tpl");
        assert.deepStrictEqual(await w.app.read(id), renamed.outs);

        const datastore = Number(
            await w.client.call("one.datastore.allocate", 'NAME = "second-images"\nDS_MAD = "fs"\nTM_MAD = "ssh"', -1),
        );
        try {
            const replaced = await w.app.up(id, { ...args, imageName: "alpine-b", templateName: "alpine-tpl", datastoreId: datastore });
            assert.deepStrictEqual(replaced.diff.replaces, ["datastoreId"]);
            assert.strictEqual(replaced.diff.deleteBeforeReplace, true);
            assert.notStrictEqual(replaced.id, id);
            assert.strictEqual(childInt(await image(replaced.outs.imageId), "DATASTORE_ID"), datastore);
            await w.app.delete(replaced.id);
        } finally {
            await w.client.call("one.datastore.delete", datastore);
        }
    });

    it("treats a VM template deleted outside Pulumi as drift, and the next up exports it again; a renamed image is renamed back", async function () {
        const args = { appName: "Alpine Linux 3.17", imageName: "drifty", datastoreId: 1 };
        const { id, outs } = await w.app.create(args);
        await w.client.call("one.template.delete", outs.templateId);
        await w.client.call("one.image.rename", outs.imageId, "renamed-by-hand");
        const refreshed = await w.app.read(id);
        assert.strictEqual(refreshed?.templateId, -1, "the template is missing");
        assert.strictEqual(refreshed?.imageName, "renamed-by-hand");
        const { diff, outs: after } = await w.app.up(id, args);
        assert.strictEqual(diff.changes, true);
        assert.deepStrictEqual(diff.replaces, [], "the image stays");
        assert.ok(after.templateId > outs.templateId, "a new template");
        assert.deepStrictEqual(templateOf(await template(after.templateId)).DISK, { IMAGE_ID: String(outs.imageId) });
        assert.strictEqual(childText(await image(outs.imageId), "NAME"), "drifty");
    });

    it("drops an export whose image was deleted outside Pulumi, and deleting it again succeeds (template included)", async function () {
        const { id, outs } = await w.app.create({ appName: "Alpine Linux 3.13", imageName: "gone", datastoreId: 1 });
        await w.client.call("one.image.delete", outs.imageId);
        assert.strictEqual(await w.app.read(id), undefined, "an image in DELETE or gone is gone");
        await w.app.provider.delete!(id, outs);
        await w.app.provider.delete!(id, outs);
        await rejects(w.client.call("one.template.info", outs.templateId), /NO_EXISTS \(1024\)/);
    });

    it("waits for OpenNebula's asynchronous image delete before reporting the export deleted", async function () {
        const { id, outs } = await w.app.create({ appName: "Alpine Linux 3.17", imageName: "async", datastoreId: 1 });
        await w.app.delete(id);
        assert.ok(await w.app.isGone(id, outs));
        await rejects(w.client.call("one.image.info", outs.imageId), /NO_EXISTS \(1024\)/);
    });

    it("refuses an app nobody has, and an image name already taken, creating nothing", async function () {
        await rejects(
            w.app.create({ appName: "Alpine Linux 2.0", imageName: "old", datastoreId: 1 }),
            /no marketplace app named "Alpine Linux 2\.0" is visible/,
        );
        await rejects(
            w.app.create({ appName: "Alpine Linux 3.17", imageName: "x", datastoreId: 1, marketplaceId: 7 }),
            /no marketplace app named .* in marketplace 7/,
        );
        const { id } = await w.app.create({ appName: "Alpine Linux 3.17", imageName: "taken", datastoreId: 1 });
        await rejects(w.app.create({ appName: "Alpine Linux 3.13", imageName: "taken", datastoreId: 1 }), /NAME is already taken by IMAGE/);
        await w.app.delete(id);
    });

    it("rejects bad input in check, naming the field, before any API call", async function () {
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ appName: "", imageName: "a", datastoreId: 1 }, /^appName: appName must be the name of a marketplace app/],
            [{ appName: "Alpine Linux 3.17", imageName: "a/b", datastoreId: 1 }, /^imageName: imageName must not contain "\/"/],
            [
                { appName: "Alpine Linux 3.17", imageName: "a", templateName: "", datastoreId: 1 },
                /^templateName: templateName must be a non-empty string/,
            ],
            [{ appName: "Alpine Linux 3.17", imageName: "a", datastoreId: -1 }, /^datastoreId: datastoreId must be an integer ≥ 0/],
            [{ appName: "Alpine Linux 3.17", imageName: "a" }, /^datastoreId: /],
            [{ appName: "Alpine Linux 3.17", imageName: "a", datastoreId: 1, marketplaceId: 1.5 }, /^marketplaceId: /],
            [
                { appName: "Alpine Linux 3.17", imageName: "a", datastoreId: 1, readyTimeoutSeconds: 0 },
                /^readyTimeoutSeconds: readyTimeoutSeconds must be a number of seconds > 0 \(got 0\)/,
            ],
        ];
        for (const [inputs, message] of cases) await rejects(w.app.create(inputs), message);
        assert.strictEqual(w.double.calls(), 0, "no XML-RPC call for invalid input");
    });

    describe("under injected faults", function () {
        it("never allocates the image twice after a reset that reached the server (looks it up by name)", async function () {
            w.double.inject({ kind: "reset", method: "one.image.allocate", afterProcessing: true });
            const { outs } = await w.app.create({ appName: "Alpine Linux 3.17", imageName: "reset-image", datastoreId: 1 });
            assert.strictEqual(w.double.calls("one.image.allocate"), 1, "image allocate sent once");
            assert.ok(outs.templateId >= 0);
        });

        it("never allocates the VM template twice after a reset that reached the server", async function () {
            w.double.inject({ kind: "reset", method: "one.template.allocate", afterProcessing: true });
            const { outs } = await w.app.create({ appName: "Alpine Linux 3.17", imageName: "reset-template", datastoreId: 1 });
            assert.strictEqual(w.double.calls("one.template.allocate"), 1, "template allocate sent once");
            assert.strictEqual(childText(await template(outs.templateId), "NAME"), "reset-template");
        });

        it("deletes the image again (waiting for the asynchronous delete) when the VM template allocate fails after it", async function () {
            w.double.inject({
                kind: "error",
                code: 8192,
                message: "[one.template.allocate] Injected failure.",
                method: "one.template.allocate",
            });
            const err = await rejects(
                w.app.create({ appName: "Alpine Linux 3.17", imageName: "half", datastoreId: 1 }),
                /^image \d+ was created but .*Injected failure.*deleted again so nothing is left behind/,
            );
            assert.ok(!err.message.includes(w.double.password));
        });

        it("deletes the image again when reading it while waiting for READY fails", async function () {
            w.double.inject({ kind: "error", code: 8192, message: "[one.image.info] Injected failure.", method: "one.image.info" });
            await rejects(
                w.app.create({ appName: "Alpine Linux 3.13", imageName: "unreadable", datastoreId: 1 }),
                /^image \d+ was created but .*Injected failure.*deleted again/,
            );
        });

        it("reports a download that does not finish in time, and removes the image", async function () {
            const slow = await startWorkloads({ imageReadyMs: 5_000 });
            try {
                await rejects(
                    slow.app.create({ appName: "Alpine Linux 3.17", imageName: "slow", datastoreId: 1, readyTimeoutSeconds: 0.3 }),
                    /^image \d+ was created but it was still not READY after 0\.3 s; it was deleted again/,
                );
                assertNothingOrphaned(slow);
            } finally {
                await slow.stop();
            }
        });
    });
});
