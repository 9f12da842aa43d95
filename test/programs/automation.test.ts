/**
 * The Automation API entry point: its option handling (defaults, backend URL, passphrase secrets
 * provider, the configuration mapping, validation errors), the command line, that the mapped
 * configuration drives the main program exactly as the stack file does, and a real preview when
 * a `pulumi` CLI is on PATH.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { EdgeAutomationOptions } from "../../programs/automation/options";
import {
    DEFAULT_PROJECT_NAME,
    configMap,
    localBackendDirectory,
    resolveAutomationOptions,
    workspaceArgs,
} from "../../programs/automation/options";
import { cliOptions, parseCliArguments } from "../../programs/automation/cli";
import { readStackSettings } from "../../programs/main/config";
import { buildEdgeStack, stackProgram } from "../../programs/main/program";
import { StackConfigError } from "../../programs/main/schema";
import { ConfigError } from "../../components/validation";
import { SECRETS, copyOf, repositoryRoot, runWithConfig, stackFileConfig } from "./stack-support";
import { assertNoSecrets } from "../support/fixtures";

const PASSPHRASE = "correct horse battery staple (test)";
const ENV = { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE };

function options(extra: Partial<EdgeAutomationOptions> = {}): EdgeAutomationOptions {
    return { stackName: "multi-edge", config: stackFileConfig("multi-edge"), secrets: { ...SECRETS }, ...extra };
}

/** Asserts that `action` throws an error of `type` whose message starts with `prefix`. */
function assertRejects(action: () => unknown, type: new (...args: any[]) => Error, prefix: string): Error {
    let caught: unknown;
    try {
        action();
    } catch (error) {
        caught = error;
    }
    assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
    assert.ok((caught as Error).message.startsWith(prefix), `"${(caught as Error).message}" does not start with "${prefix}"`);
    return caught as Error;
}

/** The directory holding the `pulumi` executable, when it is on PATH. */
function pulumiOnPath(): string | undefined {
    const found = spawnSync("sh", ["-c", "command -v pulumi"], { encoding: "utf8" });
    return found.status === 0 ? found.stdout.trim() : undefined;
}

describe("Automation API entry point", function () {
    this.timeout(120_000);

    describe("options", function () {
        it("defaults to the project name, the file backend under the project root and the passphrase provider", function () {
            const resolved = resolveAutomationOptions(options(), ENV);
            assert.strictEqual(resolved.projectName, DEFAULT_PROJECT_NAME);
            assert.strictEqual(resolved.backendUrl, `file://${path.join(repositoryRoot(), ".pulumi-state")}`);
            assert.strictEqual(resolved.secretsProvider, "passphrase");
            assert.deepStrictEqual(resolved.envVars, { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE });
            assert.strictEqual(resolved.stackName, "multi-edge");
            assert.strictEqual(typeof resolved.onOutput, "function");
        });

        it("turns into createOrSelectStack's arguments: the main program inline, the backend URL and the secrets provider", function () {
            const [program, workspace] = workspaceArgs(
                resolveAutomationOptions(options({ backendUrl: "file:///var/lib/edge-state", workDir: "/tmp/w" }), ENV),
            );
            assert.strictEqual(program.program, stackProgram, "the same program function as the main program");
            assert.deepStrictEqual([program.stackName, program.projectName], ["multi-edge", "opennebula-edge"]);
            assert.deepStrictEqual(workspace.projectSettings, {
                name: "opennebula-edge",
                runtime: "nodejs",
                backend: { url: "file:///var/lib/edge-state" },
            });
            assert.deepStrictEqual(workspace.stackSettings, { "multi-edge": { secretsProvider: "passphrase" } });
            assert.deepStrictEqual(workspace.envVars, { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE });
            assert.strictEqual(workspace.workDir, "/tmp/w");
        });

        it("accepts Pulumi's backend URLs and knows which of them are local directories", function () {
            for (const url of ["file:///srv/state", "s3://bucket/edge", "azblob://container", "gs://bucket", "https://api.pulumi.com"]) {
                assert.strictEqual(resolveAutomationOptions(options({ backendUrl: url }), ENV).backendUrl, url);
            }
            assertRejects(
                () => resolveAutomationOptions(options({ backendUrl: "ftp://host/state" }), ENV),
                ConfigError,
                "backendUrl: must be a Pulumi backend URL",
            );
            assertRejects(() => resolveAutomationOptions(options({ backendUrl: "file://" }), ENV), ConfigError, "backendUrl:");
            assert.strictEqual(localBackendDirectory("file:///srv/state"), "/srv/state");
            assert.strictEqual(localBackendDirectory("file://~"), undefined, "Pulumi's own ~/.pulumi");
            assert.strictEqual(localBackendDirectory("s3://bucket"), undefined);
        });

        it("needs a passphrase for the passphrase provider, from the option, PULUMI_CONFIG_PASSPHRASE or its _FILE variant", function () {
            const error = assertRejects(
                () => resolveAutomationOptions(options(), {}),
                ConfigError,
                "passphrase: is required by the passphrase secrets provider",
            );
            assert.match(error.message, /PULUMI_CONFIG_PASSPHRASE/);
            assert.deepStrictEqual(
                resolveAutomationOptions(options({ passphrase: "given" }), ENV).envVars,
                { PULUMI_CONFIG_PASSPHRASE: "given" },
                "the option wins",
            );
            assert.deepStrictEqual(resolveAutomationOptions(options(), { PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pass" }).envVars, {
                PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pass",
            });
            assert.deepStrictEqual(
                resolveAutomationOptions(options({ secretsProvider: "awskms://alias/edge" }), {}).envVars,
                {},
                "a KMS provider needs none",
            );
            assertRejects(
                () => resolveAutomationOptions(options({ secretsProvider: "rot13" }), ENV),
                ConfigError,
                "secretsProvider: must be passphrase, default",
            );
        });

        it("maps the configuration as the CLI stores it: namespaced keys, structured values as JSON, secrets marked", function () {
            const config = configMap(
                {
                    edgeClusters: [{ name: "a", cloud: "aws", region: "eu-west-2" }],
                    "opennebula-edge:sharedCluster": true,
                    "aws:profile": "edge",
                    onePassword: "in-config",
                },
                { sshPrivateKey: SECRETS.sshPrivateKey, "digitalocean:token": "dop_v1_x" },
            );
            assert.deepStrictEqual(config, {
                "opennebula-edge:edgeClusters": { value: '[{"name":"a","cloud":"aws","region":"eu-west-2"}]', secret: false },
                "opennebula-edge:sharedCluster": { value: "true", secret: false },
                "aws:profile": { value: "edge", secret: false },
                "opennebula-edge:onePassword": { value: "in-config", secret: true },
                "opennebula-edge:sshPrivateKey": { value: SECRETS.sshPrivateKey, secret: true },
                "digitalocean:token": { value: "dop_v1_x", secret: true },
            });
            assertRejects(
                () => configMap({ onePassword: "a" }, { onePassword: "b" }),
                ConfigError,
                "secrets.onePassword: is also given in config",
            );
            assertRejects(
                () => configMap({ "opennebula-edge:onePassword": { secure: "v1:abc" } }, {}),
                ConfigError,
                "config.opennebula-edge:onePassword: is encrypted",
            );
            assertRejects(() => configMap({}, { sshPrivateKey: "" }), ConfigError, "secrets.sshPrivateKey: must be non-empty text");
        });

        it("checks the configuration with the main program's rules before anything starts, naming the key", function () {
            const config = copyOf(stackFileConfig("multi-edge"));
            (config["opennebula-edge:edgeClusters"] as any[])[1].region = "us-west-9";
            const error = assertRejects(
                () => resolveAutomationOptions(options({ config }), ENV),
                StackConfigError,
                "opennebula-edge:edgeClusters[1].region: must be one of",
            );
            assertNoSecrets(error.message, [PASSPHRASE, ...Object.values(SECRETS)], "the error message");
            assertRejects(
                () => resolveAutomationOptions(options({ stackName: "no spaces" }), ENV),
                ConfigError,
                "stackName: is required: 1-100 letters",
            );
            assertRejects(() => resolveAutomationOptions(options({ config: undefined as never }), ENV), ConfigError, "config: is required");
        });

        it("lets the required secrets come from the stack itself, but checks them when given", function () {
            assert.doesNotThrow(
                () => resolveAutomationOptions(options({ secrets: {} }), ENV),
                "onePassword and sshPrivateKey may already be set on the stack",
            );
            assertRejects(
                () => resolveAutomationOptions(options({ secrets: { ...SECRETS, bastionPrivateKey: SECRETS.sshPrivateKey } }), ENV),
                StackConfigError,
                "opennebula-edge:bastionPrivateKey: applies only with ssh.bastion",
            );
            assertRejects(
                () => resolveAutomationOptions(options({ secrets: { ...SECRETS, bastionPrivateKey: "k" } }), ENV),
                StackConfigError,
                "opennebula-edge:bastionPrivateKey: must be a private key in PEM form",
            );
        });

        it("hands the main program the same configuration as the stack file: the same resources", async function () {
            const resolved = resolveAutomationOptions(
                options({
                    config: Object.fromEntries(
                        Object.entries(stackFileConfig("multi-edge")).map(([k, v]) => [k.replace(/^opennebula-edge:/, ""), v]),
                    ),
                }),
                ENV,
            );
            const fromMap = Object.fromEntries(
                Object.entries(resolved.config)
                    .filter(([, v]) => !v.secret)
                    .map(([key, { value }]) => [key, value]),
            );
            const secrets = Object.fromEntries(
                Object.entries(resolved.config)
                    .filter(([, v]) => v.secret)
                    .map(([key, { value }]) => [key.replace(/^opennebula-edge:/, ""), value]),
            );
            const viaAutomation = await runWithConfig(fromMap, () => buildEdgeStack(readStackSettings()), secrets);
            const viaStackFile = await runWithConfig(stackFileConfig("multi-edge"), () => buildEdgeStack(readStackSettings()));
            const shape = (resources: typeof viaStackFile.program.resources) => resources.map((r) => `${r.type} ${r.name}`).sort();
            assert.ok(viaAutomation.program.resources.length > 50);
            assert.deepStrictEqual(shape(viaAutomation.program.resources), shape(viaStackFile.program.resources));
        });
    });

    describe("command line", function () {
        let dir: string;
        beforeEach(function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-cli-"));
        });
        afterEach(function () {
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("parses up, preview and destroy with their options", function () {
            const args = parseCliArguments([
                "up",
                "--stack",
                "dev",
                "--config",
                "Pulumi.aws.yaml",
                "--backend",
                "file:///srv/s",
                "--secret-file",
                "sshPrivateKey=/k",
                "--secret-env",
                "onePassword=ONE_PW",
            ]);
            assert.deepStrictEqual(args, {
                command: "up",
                stackName: "dev",
                configFile: "Pulumi.aws.yaml",
                backendUrl: "file:///srv/s",
                secretFiles: { sshPrivateKey: "/k" },
                secretEnv: { onePassword: "ONE_PW" },
                yes: false,
                json: false,
            });
            assert.strictEqual(parseCliArguments(["preview", "--stack", "s", "--config", "c"]).command, "preview");
            assert.strictEqual(parseCliArguments(["destroy", "--stack", "s", "--config", "c", "--yes"]).yes, true);
        });

        it("rejects a bad command line, naming the argument", function () {
            assertRejects(
                () => parseCliArguments(["apply", "--stack", "s"]),
                ConfigError,
                "command: must be one of up, preview, destroy, list, status",
            );
            assertRejects(() => parseCliArguments(["up", "--config", "c"]), ConfigError, "--stack: is required");
            assertRejects(() => parseCliArguments(["up", "--stack", "s"]), ConfigError, "--config: is required");
            assertRejects(() => parseCliArguments(["up", "--stack", "--config", "c"]), ConfigError, "--stack: needs a value");
            assertRejects(
                () => parseCliArguments(["up", "--stack", "s", "--config", "c", "--password", "x"]),
                ConfigError,
                "--password: is not an option",
            );
            assertRejects(
                () => parseCliArguments(["up", "--stack", "s", "--config", "c", "--secret-env", "onePassword"]),
                ConfigError,
                "--secret-env: must be key=value",
            );
            assertRejects(
                () => parseCliArguments(["destroy", "--stack", "s", "--config", "c"]),
                ConfigError,
                "--yes: is required to destroy",
            );
        });

        it("reads the stack file's config: map and the secrets from their file and variable", function () {
            const keyFile = path.join(dir, "id_ed25519");
            fs.writeFileSync(keyFile, SECRETS.sshPrivateKey);
            const stackFile = path.join(repositoryRoot(), "Pulumi.multi-edge.yaml");
            const args = parseCliArguments([
                "preview",
                "--stack",
                "me",
                "--config",
                stackFile,
                "--secret-file",
                `sshPrivateKey=${keyFile}`,
                "--secret-env",
                "onePassword=ONE_PW_TEST",
            ]);
            const result = cliOptions(args, { ONE_PW_TEST: SECRETS.onePassword });
            assert.deepStrictEqual(result.config, stackFileConfig("multi-edge"));
            assert.deepStrictEqual(result.secrets, { sshPrivateKey: SECRETS.sshPrivateKey, onePassword: SECRETS.onePassword });
            assert.strictEqual(result.stackName, "me");
            assert.doesNotThrow(() => resolveAutomationOptions(result, ENV));
            assertRejects(() => cliOptions(args, {}), ConfigError, "--secret-env onePassword: environment variable ONE_PW_TEST is not set");
        });

        it("explains a missing file, a file without config:, and an encrypted value", function () {
            const missing = parseCliArguments(["up", "--stack", "s", "--config", path.join(dir, "nope.yaml")]);
            assertRejects(() => cliOptions(missing), ConfigError, "--config: cannot read");
            const noConfig = path.join(dir, "Pulumi.x.yaml");
            fs.writeFileSync(noConfig, "name: x\n");
            assertRejects(() => cliOptions(parseCliArguments(["up", "--stack", "s", "--config", noConfig])), ConfigError, "--config:");
            const encrypted = path.join(dir, "Pulumi.enc.yaml");
            fs.writeFileSync(encrypted, "config:\n  opennebula-edge:onePassword:\n    secure: v1:AAAA\n");
            const options = cliOptions(parseCliArguments(["up", "--stack", "s", "--config", encrypted]));
            assertRejects(() => resolveAutomationOptions(options, ENV), ConfigError, "config.opennebula-edge:onePassword: is encrypted");
        });
    });

    describe("a real stack", function () {
        const pulumi = pulumiOnPath();

        it("without a pulumi CLI, says so after checking the options and creating the state directory", async function () {
            if (pulumi) this.skip();
            const { preview } = await import("../../programs/automation");
            const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "edge-state-"));
            const state = path.join(scratch, "nested");
            const workDir = fs.mkdirSync(path.join(scratch, "work"), { recursive: true })!;
            try {
                await assert.rejects(
                    preview({ ...options(), backendUrl: `file://${state}`, passphrase: PASSPHRASE, workDir, onOutput: () => undefined }),
                    /the Automation API drives the pulumi CLI, which is not on PATH/,
                );
                assert.ok(fs.statSync(state).isDirectory(), "the file backend's directory was created");
            } finally {
                fs.rmSync(scratch, { recursive: true, force: true });
            }
        });

        const title = "previews the DigitalOcean example on a local file backend with the passphrase provider";
        it(pulumi ? title : `${title} (skipped: no pulumi CLI on PATH, and the Automation API drives the CLI)`, async function () {
            if (!pulumi) {
                console.log(
                    "      skipped: the `pulumi` CLI is not on PATH (install it from https://www.pulumi.com/docs/install/ to run this test)",
                );
                this.skip();
            }
            this.timeout(900_000);
            const { preview } = await import("../../programs/automation");
            const state = fs.mkdtempSync(path.join(os.tmpdir(), "edge-state-"));
            const workDir = fs.mkdirSync(path.join(state, "work"), { recursive: true })!;
            try {
                let streamed = "";
                const result = await preview({
                    stackName: `test-${process.pid}`,
                    config: stackFileConfig("digitalocean"),
                    secrets: {
                        ...SECRETS,
                        "digitalocean:token": "dop_v1_0000000000000000000000000000000000000000000000000000000000000000",
                    },
                    backendUrl: `file://${path.join(state, "backend")}`,
                    passphrase: PASSPHRASE,
                    workDir,
                    onOutput: (text) => {
                        streamed += text;
                    },
                });
                assert.ok((result.changeSummary.create ?? 0) >= 10, JSON.stringify(result.changeSummary));
                assert.match(streamed, /frankfurt/, "progress streamed through onOutput");
                assertNoSecrets(streamed, Object.values(SECRETS), "the streamed output");
            } finally {
                fs.rmSync(state, { recursive: true, force: true });
            }
        });
    });
});
