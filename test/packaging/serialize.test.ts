import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../../components/opennebula/client";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { datastoreProvider } from "../../components/opennebula/resources/datastore";
import { OneDouble } from "../support/one-double";
import { capPolls } from "../opennebula/harness";
import { PROVIDER_CASES, runSerializedProvider } from "./providers";

const repo = path.resolve(__dirname, "../../..");

describe("Dynamic providers serialized the way the engine does", function () {
    let double: OneDouble;
    let dir: string;
    let restorePolls: () => void;
    before(async () => {
        double = await OneDouble.start({ vnetCreateMs: 20, vnetDeleteMs: 20, hostMonitorMs: 20 });
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "poe-serialize-"));
        restorePolls = capPolls();
    });
    after(async () => {
        restorePolls?.();
        await double?.stop();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("reports check failures by field, from the serialized text, without any API call", async function () {
        const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
        const file = path.join(dir, "cluster-check.js");
        fs.writeFileSync(file, (await pulumi.runtime.serializeFunction(() => clusterProvider, { allowSecrets: true })).text);
        const before = double.calls();
        const result = await runSerializedProvider(
            file,
            repo,
            { name: "bad/name", template: { "NO SPACES": "x" }, connection },
            { PROVIDER_EXPECT_CHECK_FAILURES: "1" },
        );
        assert.deepStrictEqual(
            result.failures.map((f: { property: string }) => f.property),
            ["name", "template"],
        );
        assert.match(result.failures[0].reason, /must not contain "\/"/);
        assert.strictEqual(double.calls(), before);
    });

    it("reports a failed create to the engine as a real Error with OpenNebula's reason and its kind", async function () {
        const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
        const file = path.join(dir, "datastore-error.js");
        fs.writeFileSync(file, (await pulumi.runtime.serializeFunction(() => datastoreProvider, { allowSecrets: true })).text);
        const client = new OneClient(connection);
        const existing = Number(await client.call("one.datastore.allocate", 'NAME = "taken"\nTYPE = "SYSTEM_DS"\nTM_MAD = "ssh"', -1));
        try {
            const result = await runSerializedProvider(
                file,
                repo,
                { name: "taken", type: "SYSTEM_DS", tmMad: "ssh", connection },
                { PROVIDER_EXPECT_CREATE_ERROR: "1" },
            );
            assert.strictEqual(result.isError, true, "the engine gets an Error");
            assert.match(result.message, /^\[one\.datastore\.allocate\] INTERNAL \(8192\): NAME is already taken by DATASTORE \d+/);
            assert.strictEqual(result.name, "OneInternalError");
        } finally {
            await client.call("one.datastore.delete", existing);
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
            assert.deepStrictEqual(
                double.objects().filter((o) => !o.builtin),
                [],
                "nothing left behind",
            );
            assert.ok(!serialized.text.includes(double.password), "the serialized provider holds no credentials");
        });
    }
});
