/**
 * Every dynamic resource type through Pulumi's own dynamic-provider host, driven over gRPC as the
 * engine drives it, against a test double of OpenNebula 6.10 and of 7.0: what the SDK registers goes
 * in (`__provider` and the inputs of a real resource constructed under mocks, secrets stripped as the
 * engine strips them), protobuf Structs come out. Per type: optional fields absent and present, a
 * change in place, replacements, a preview with unknown inputs, refresh and delete of an object
 * deleted behind Pulumi's back, reading with only an id (what `pulumi import` needs), and the
 * secrets rule.
 */
import * as assert from "assert";
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { Prerequisites, TypeCase } from "./cases";
import { TYPE_CASES, makePrerequisites, removePrerequisites } from "./cases";
import { UNKNOWN, plainStrings, stripSecrets } from "./engine";
import type { Properties } from "./provider-host";
import type { Registration } from "./registrations";
import { only, register, unknownDuringPreview } from "./registrations";
import type { EngineTarget } from "./target";
import { VERSIONS, heldObjects, startEngineTarget, sweep } from "./target";

const run = crypto.randomBytes(2).toString("hex");

/** Types whose OpenNebula object has a `name` argument. */
const NAMED = new Set(["Cluster", "Host", "Datastore", "VirtualNetwork", "VirtualNetworkTemplate", "VirtualMachine", "VirtualRouter"]);

for (const version of VERSIONS) {
    describe(`Engine conformance: the dynamic resources through Pulumi's provider host (OpenNebula ${version} double)`, function () {
        this.timeout(120_000);
        for (const c of TYPE_CASES) describeType(version, c);
    });
}

function describeType(version: string, c: TypeCase): void {
    describe(c.type, function () {
        let t: EngineTarget;
        let p: Prerequisites;
        let initial: string[];
        let counter = 0;
        /** A resource name unique to this run (and a valid host name). */
        const nameOf = (label: string) => `${c.type.toLowerCase()}-${label}-${run}-${++counter}`;
        const connection = () => ({
            endpoint: t.connection.endpoint,
            username: t.connection.username,
            password: pulumi.secret(t.connection.password),
        });
        const registration = async (name: string, args: Record<string, unknown>, preview = false): Promise<Registration> =>
            only(await register(() => c.construct(name, args), { preview }), c.type);
        const withName = (name: string, args: Record<string, unknown>) => (NAMED.has(c.type) ? { ...args, name } : args);

        before(`start a double of ${version} and a provider host`, async () => {
            t = await startEngineTarget(version);
            p = await makePrerequisites(t.client, `pre-${c.type.toLowerCase()}-${run}`);
            initial = heldObjects(t.double);
        });
        after("stop the provider host and the double", async () => {
            if (!t) return;
            try {
                if (p) await removePrerequisites(t.client, p);
            } finally {
                await t.stop();
            }
        });
        // Each test asserts what it leaves; this only clears up after a failed one, so the next starts clean.
        afterEach("clear up", async () => {
            if (t) await sweep(t, initial);
        });

        /** Create, refresh (no drift), unchanged up (no diff), an in-place change, and delete. */
        async function lifecycle(name: string, args: Record<string, unknown>): Promise<void> {
            const reg = await registration(name, args);
            assert.ok(
                typeof reg.object.__provider === "string" && reg.object.__provider.length > 0,
                "the SDK registered the serialized provider",
            );
            const created = await t.engine.up(reg);
            assert.ok(created.id !== "", "Create answered an id");
            assert.strictEqual(created.outputs.__provider, reg.object.__provider, "the outputs keep __provider");
            assert.ok(await t.engine.refresh(reg.urn), "a refresh finds the object");
            assert.deepStrictEqual(
                await t.engine.diffUnchanged(reg.urn, reg),
                { changes: "none", replaces: [], deleteBeforeReplace: false },
                "an up with nothing changed changes nothing",
            );

            const changed = await registration(name, c.inPlace(p, args, connection()));
            const old = t.engine.require(reg.urn);
            const inputs = (await t.host.check(reg.urn, old.inputs, stripSecrets(changed.object) as Properties)).inputs;
            const diff = await t.host.diff(reg.urn, old.id, old.outputs, inputs, old.inputs);
            assert.deepStrictEqual([diff.changes, diff.replaces], ["some", []], "the change is made in place");
            const updated = await t.engine.up(changed);
            assert.strictEqual(updated.id, created.id);
            assert.strictEqual(
                (await t.engine.diffUnchanged(reg.urn, changed)).changes,
                "none",
                "after the update, nothing is left to change",
            );
            await t.engine.destroy(reg.urn);
            assert.deepStrictEqual(heldObjects(t.double), initial, "the delete removed the object");
        }

        it("with every optional field absent (no connection: ONE_XMLRPC and ONE_AUTH): create, refresh, update in place, delete", async function () {
            const name = nameOf("min");
            await lifecycle(name, c.minimal(p, name));
        });

        it("with every optional field present: create, refresh, update in place, delete; no output holds the password in plain text", async function () {
            const name = nameOf("full");
            const args = c.full(p, name, connection());
            const reg = await registration(name, args);
            assert.ok(JSON.stringify(reg.object).includes("1b47061264138c4ac30d75fd1eb44270"), "the password is registered as a secret");
            await t.engine.up(reg);
            const leaks = plainStrings(t.engine.storedOutputs(reg.urn)).filter(({ text }) => text.includes(t.double.password));
            assert.deepStrictEqual(leaks, [], "outputs stored in plain text after the engine's re-marking hold no password");
            await t.engine.destroy(reg.urn);
            await lifecycle(name, args);
        });

        it("preview: the unknown sentinel in an input reaches Check, and Diff of an existing resource, without failing", async function () {
            const name = nameOf("preview");
            const previewReg = only(
                await register(
                    () => {
                        c.construct(name, c.withUnknown(p, c.minimal(p, name), unknownDuringPreview<never>(`${name}-upstream`)));
                    },
                    { preview: true },
                ),
                c.type,
            );
            assert.ok(JSON.stringify(previewReg.object).includes(UNKNOWN), "the SDK sent the unknown sentinel");
            const planned = await t.engine.preview(previewReg);
            assert.ok(JSON.stringify(planned.inputs).includes(UNKNOWN), "Check keeps the unknown value");

            await t.engine.up(await registration(name, c.minimal(p, name)));
            const { diff } = await t.engine.preview(previewReg);
            assert.ok(diff, "Diff answered");
            assert.strictEqual(heldObjects(t.double).length, initial.length + objectCount(c), "a preview creates nothing");
        });

        it("refresh of an object deleted behind Pulumi's back answers an empty id; delete of a deleted object succeeds", async function () {
            const name = nameOf("gone");
            const reg = await registration(name, withName(name, c.minimal(p, name)));
            const created = await t.engine.up(reg);
            await c.deleteOutOfBand(t.client, created.id, created.outputs);
            assert.strictEqual(await t.engine.refresh(reg.urn), undefined, "Read answers an empty id and the engine drops the resource");

            const again = await t.engine.up(reg);
            await c.deleteOutOfBand(t.client, again.id, again.outputs);
            await t.engine.destroy(reg.urn);
        });

        for (const [label, change, deleteFirst] of [
            ["with delete-before-replace", c.replaceDeleteFirst, true],
            ["without delete-before-replace", c.replaceCreateFirst, false],
        ] as const) {
            const title = `replacement ${label}`;
            if (!change) {
                it(`${title}: not applicable`, function () {
                    this.skip();
                });
                continue;
            }
            it(title, async function () {
                const name = nameOf("replace");
                const base = withName(name, c.minimal(p, name));
                const reg = await registration(name, base);
                const old = await t.engine.up(reg);
                const next = await registration(name, change(p, base));
                const inputs = (await t.host.check(reg.urn, {}, stripSecrets(next.object) as Properties)).inputs;
                const diff = await t.host.diff(reg.urn, old.id, old.outputs, inputs, old.inputs);
                assert.ok(diff.replaces.length > 0, "Diff asks for a replacement");
                assert.strictEqual(diff.deleteBeforeReplace, deleteFirst);
                const replaced = await t.engine.up(next);
                assert.notStrictEqual(replaced.id, old.id, "a new object");
                assert.strictEqual(heldObjects(t.double).length, initial.length + objectCount(c), "the old object is gone");
            });
        }

        it("Read with only an id (what `pulumi import` needs) answers inputs and outputs that a program's inputs do not diff against", async function () {
            const name = nameOf("import");
            const reg = await registration(name, withName(name, c.minimal(p, name)));
            const created = await t.engine.up(reg);
            const read = await t.host.read(reg.urn, created.id, { __provider: reg.object.__provider }, {});
            assert.strictEqual(read.id, created.id);
            assert.ok(read.inputs, "Read answered inputs");
            const { inputs, failures } = await t.host.check(reg.urn, read.inputs, stripSecrets(reg.object) as Properties);
            assert.deepStrictEqual(failures, []);
            const diff = await t.host.diff(reg.urn, created.id, read.properties, inputs, read.inputs);
            assert.deepStrictEqual(
                diff,
                { changes: "none", replaces: [], deleteBeforeReplace: false },
                "the imported object matches the program",
            );
        });
    });
}

/** OpenNebula objects one resource of the type holds (an exported app: image and template; a router: router and VM). */
function objectCount(c: TypeCase): number {
    return ({ ClusterMembership: 0, MarketplaceApp: 2, VirtualRouter: 2 } as Record<string, number>)[c.type] ?? 1;
}
