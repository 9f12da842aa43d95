/**
 * The provider stand-in the OpenNebula resource classes register: what the SDK serializes into
 * `__provider` is small, and the text loads the package's provider by name from the program's
 * directory (this repository by self-reference; a directory without the package gets an error
 * naming both).
 */
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import * as pulumi from "@pulumi/pulumi";
import { dynamicProviderOf, hostProvider } from "../../components/opennebula";
import { PROVIDERS_ENTRY, packagedProvider } from "../../components/opennebula/resources/packaged-provider";
import { programDirectory } from "../engine/provider-host";

/** Runs serialized provider text as the dynamic-provider host does (require-from-string), in `cwd`, and calls `check`. */
async function checkFromText(text: string, cwd: string, news: Record<string, unknown>): Promise<{ result?: unknown; error?: string }> {
    const root = programDirectory();
    const script = `
        const requireFromString = require(${JSON.stringify(path.join(root, "node_modules", "require-from-string"))});
        const provider = requireFromString(require("fs").readFileSync(0, "utf8")).handler();
        provider.check({}, ${JSON.stringify(news)}).then(
            (result) => process.stdout.write(JSON.stringify({ result })),
            (err) => process.stdout.write(JSON.stringify({ error: err.message })));`;
    const child = promisify(execFile)(process.execPath, ["-e", script], { cwd });
    child.child.stdin!.end(text);
    return JSON.parse((await child).stdout);
}

describe("packaged provider: the __provider the resource classes register", function () {
    this.timeout(60000);
    let text: string;

    before(async () => {
        // As the SDK serializes a dynamic resource's provider (pulumi/dynamic: serializeProvider).
        const provider = packagedProvider("Host");
        text = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
    });

    it("names the package by its name in package.json, and its entry gives every type's provider", function () {
        const manifest = JSON.parse(fs.readFileSync(path.join(programDirectory(), "package.json"), "utf8"));
        assert.strictEqual(PROVIDERS_ENTRY, `${manifest.name}/opennebula`);
        assert.ok(manifest.exports["./opennebula"], "the entry is exported");
        assert.strictEqual(dynamicProviderOf("Host"), hostProvider);
        assert.throws(() => dynamicProviderOf("Nope"), /no OpenNebula resource type "Nope" in this package; known: .*Cluster.*Host/);
    });

    it("serializes to a few KB that capture only the entry and the type", function () {
        assert.ok(Buffer.byteLength(text) < 4000, `${Buffer.byteLength(text)} bytes`);
        assert.match(text, /entry: "pulumi-opennebula-edge\/opennebula", type: "Host"/);
        assert.doesNotMatch(text, /OneClient|fast-xml-parser|XMLParser/, "nothing of the provider itself is inlined");
    });

    it("run from the program's directory, loads the package's own provider and answers as it does", async function () {
        const news = {
            name: "h",
            imMad: "kvm",
            connection: { endpoint: "http://frontend.invalid:2633/RPC2", username: "u", password: "p" },
        };
        const { result, error } = await checkFromText(text, programDirectory(), news);
        assert.strictEqual(error, undefined);
        assert.deepStrictEqual(result, JSON.parse(JSON.stringify(await hostProvider.check!({}, news))));
        assert.match(JSON.stringify(result), /name must be a host name or IPv4 address/, "the real check ran");
    });

    it("run where the package is not installed, fails naming the entry and the directory", async function () {
        const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "packaged-provider-"));
        try {
            const { error } = await checkFromText(text, elsewhere, { name: "h" });
            assert.ok(
                error?.startsWith(
                    `the OpenNebula Host provider could not load ${PROVIDERS_ENTRY} from the program's directory ${fs.realpathSync(elsewhere)} (`,
                ),
                error,
            );
            assert.match(error!, /install pulumi-opennebula-edge there/);
        } finally {
            fs.rmSync(elsewhere, { recursive: true, force: true });
        }
    });
});
