import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../../components/opennebula/client";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { OneDouble } from "../support/one-double";
import { PROVIDER_CASES, runSerializedProvider } from "./providers";

const repo = path.resolve(__dirname, "../../..");

describe("Dynamic providers serialized the way the engine does", function () {
    let double: OneDouble;
    let dir: string;
    before(async () => {
        double = await OneDouble.start({ vnetCreateMs: 20, vnetDeleteMs: 20, hostMonitorMs: 20 });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "poe-serialize-"));
    });
    after(async () => {
        await double?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("reports check failures by field, from the serialized text, without any API call", async function () {
        const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
        const file = path.join(dir, "cluster-check.js");
        fs.writeFileSync(file, (await pulumi.runtime.serializeFunction(() => clusterProvider, { allowSecrets: true })).text);
        const before = double.calls();
        const result = await runSerializedProvider(file, repo, { name: "bad/name", template: { "NO SPACES": "x" }, connection }, { PROVIDER_EXPECT_CHECK_FAILURES: "1" });
        assert.deepStrictEqual(result.failures.map((f: { property: string }) => f.property), ["name", "template"]);
        assert.match(result.failures[0].reason, /must not contain "\/"/);
        assert.strictEqual(double.calls(), before);
    });

    it("reports a failed create to the engine as a real Error with OpenNebula's reason", async function () {
        const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
        const file = path.join(dir, "cluster-error.js");
        fs.writeFileSync(file, (await pulumi.runtime.serializeFunction(() => clusterProvider, { allowSecrets: true })).text);
        const client = new OneClient(connection);
        const existing = Number(await client.call("one.cluster.allocate", "taken"));
        try {
            const result = await runSerializedProvider(file, repo, { name: "taken", connection }, { PROVIDER_EXPECT_CREATE_ERROR: "1" });
            assert.strictEqual(result.isError, true, "the engine gets an Error");
            assert.match(result.message, /one\.cluster\.allocate .*failed \(internal error, 8192\): NAME is already taken by CLUSTER \d+/);
            assert.strictEqual(result.name, "OneInternalError");
        } finally {
            await client.call("one.cluster.delete", existing);
            client.close();
        }
    });

    for (const { label, provider, inputs } of PROVIDER_CASES) {
        it(`${label} provider runs check, create, read and delete from its serialized text in a new process`, async function () {
            const serialized = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
            const file = path.join(dir, `${label}.js`);
            fs.writeFileSync(file, serialized.text);
            const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
            const callsBefore = double.calls();

            const result = await runSerializedProvider(file, repo, { ...inputs(`ser-${label.toLowerCase()}`), connection });
            assert.ok(result.id, "create returned an id");
            assert.ok(double.calls() > callsBefore, "the provider talked to OpenNebula");
            assert.strictEqual(result.goneAfterDelete, true, "read after delete reports the object gone");
            assert.deepStrictEqual(double.objects().filter((o) => !o.builtin), [], "nothing left behind");
            assert.ok(!serialized.text.includes(double.password), "the serialized provider holds no credentials");
        });
    }
});
