/**
 * The options of the Automation API entry point, checked and completed with their defaults, and
 * the exact arguments they turn into for `LocalWorkspace.createOrSelectStack`. Pure: nothing here
 * starts Pulumi, so every mistake is reported before an engine runs.
 */
import * as fs from "fs";
import * as path from "path";
import type { ConfigMap, InlineProgramArgs, LocalWorkspaceOptions } from "@pulumi/pulumi/automation";
import { checkStackSettings, rawSettings } from "../main/config";
import { stackProgram } from "../main/program";
import { CONFIG_NAMESPACE, SECRET_KEYS } from "../main/schema";
import { ConfigError } from "../../components/validation";

/** Project name of the stacks (the same as Pulumi.yaml's). */
export const DEFAULT_PROJECT_NAME = "opennebula-edge";
/** Secrets provider of new stacks: a passphrase, no cloud service needed. */
export const DEFAULT_SECRETS_PROVIDER = "passphrase";
/** Directory of the default local file backend, under the project root. */
export const DEFAULT_STATE_DIRECTORY = ".pulumi-state";

const BACKEND_SCHEMES = ["file://", "s3://", "azblob://", "gs://", "https://", "http://"];
const SECRETS_PROVIDERS = /^(passphrase|default|awskms:\/\/\S+|azurekeyvault:\/\/\S+|gcpkms:\/\/\S+|hashivault:\/\/\S+)$/;
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Options of {@link deploy}, {@link preview} and {@link destroy}. */
export interface EdgeAutomationOptions {
    /** The stack, created on first use: letters, digits, `-`, `_`, `.`. Required. */
    stackName: string;
    /**
     * The stack configuration, as in a `Pulumi.<stack>.yaml` `config:` map: keys of the
     * `opennebula-edge` namespace with or without the prefix (`edgeClusters` or
     * `opennebula-edge:edgeClusters`), other namespaces with theirs (`aws:profile`). Structured
     * values as objects. Required.
     */
    config: Record<string, unknown>;
    /**
     * Secret values: `onePassword`, `sshPrivateKey`, `bastionPrivateKey`, or any namespaced key
     * (`digitalocean:token`). Stored encrypted by the secrets provider. Default none — but the
     * program needs `onePassword` and `sshPrivateKey`, here or already set on the stack.
     */
    secrets?: Record<string, string>;
    /** Project name. Default `opennebula-edge`. */
    projectName?: string;
    /** Where the state lives. Default `file://<project root>/.pulumi-state` (created when missing). */
    backendUrl?: string;
    /** Secrets provider of a new stack. Default `passphrase`. */
    secretsProvider?: string;
    /** The passphrase of the `passphrase` provider. Default: `PULUMI_CONFIG_PASSPHRASE` (or `PULUMI_CONFIG_PASSPHRASE_FILE`). */
    passphrase?: string;
    /** Working directory of the workspace. Default: a temporary one made by Pulumi. */
    workDir?: string;
    /** Where the engine's progress goes, as it is printed. Default: standard output. */
    onOutput?: (text: string) => void;
}

/** The options checked, with every default applied. */
export interface ResolvedAutomationOptions {
    stackName: string;
    projectName: string;
    backendUrl: string;
    secretsProvider: string;
    /** Environment of the Pulumi CLI (the passphrase, when given); never logged. */
    envVars: Record<string, string>;
    /** Every configuration value, namespaced, as text; secrets marked. */
    config: ConfigMap;
    workDir?: string;
    onOutput: (text: string) => void;
}

/**
 * Checks the options and applies the defaults; the configuration is checked by the main
 * program's own rules (a `StackConfigError` naming the key), unless the secrets it needs are
 * missing here (they may already be set on the stack), in which case only the rest is checked there.
 *
 * @throws ConfigError naming the option, or StackConfigError naming the configuration key.
 */
export function resolveAutomationOptions(options: EdgeAutomationOptions, env: NodeJS.ProcessEnv = process.env): ResolvedAutomationOptions {
    if (!options || typeof options !== "object") throw new ConfigError("options", "are required: { stackName, config, … }");
    const stack = resolveStackRef(options, env);
    const config = configMap(options.config, options.secrets ?? {});
    checkConfig(config);
    if (options.onOutput !== undefined && typeof options.onOutput !== "function")
        throw new ConfigError("onOutput", "must be a function receiving text");
    return { ...stack, config, onOutput: options.onOutput ?? ((text) => process.stdout.write(text)) };
}

/** Which stack, where: the options that name a stack without changing it (what `list` and `status` need). */
export type EdgeStackRef = Omit<EdgeAutomationOptions, "config" | "secrets" | "onOutput">;

/** A stack reference, checked, with its defaults applied. */
export type ResolvedStackRef = Omit<ResolvedAutomationOptions, "config" | "onOutput">;

/**
 * Checks a stack reference and applies its defaults.
 *
 * @throws ConfigError naming the option.
 */
export function resolveStackRef(ref: EdgeStackRef, env: NodeJS.ProcessEnv = process.env): ResolvedStackRef {
    if (!ref || typeof ref !== "object") throw new ConfigError("options", "are required: { stackName, … }");
    const stackName = checkStackName(ref.stackName);
    const projectName = ref.projectName ?? DEFAULT_PROJECT_NAME;
    if (!STACK_NAME.test(projectName))
        throw new ConfigError("projectName", `must be letters, digits, '-', '_' or '.' (got ${JSON.stringify(projectName)})`);
    const backendUrl = checkBackendUrl(ref.backendUrl ?? defaultBackendUrl());
    const secretsProvider = ref.secretsProvider ?? DEFAULT_SECRETS_PROVIDER;
    if (!SECRETS_PROVIDERS.test(secretsProvider)) {
        throw new ConfigError(
            "secretsProvider",
            `must be passphrase, default, or a awskms:// azurekeyvault:// gcpkms:// hashivault:// URL (got ${JSON.stringify(secretsProvider)})`,
        );
    }
    return {
        stackName,
        projectName,
        backendUrl,
        secretsProvider,
        envVars: passphraseEnvironment(secretsProvider, ref.passphrase, env),
        workDir: ref.workDir,
    };
}

/** The arguments of `LocalWorkspace.createOrSelectStack`: the inline program (the main program itself) and the workspace. */
export function workspaceArgs(resolved: ResolvedStackRef): [InlineProgramArgs, LocalWorkspaceOptions] {
    return [
        { stackName: resolved.stackName, projectName: resolved.projectName, program: stackProgram },
        {
            workDir: resolved.workDir,
            envVars: resolved.envVars,
            projectSettings: { name: resolved.projectName, runtime: "nodejs", backend: { url: resolved.backendUrl } },
            stackSettings: { [resolved.stackName]: { secretsProvider: resolved.secretsProvider } },
        },
    ];
}

/** `file://<project root>/.pulumi-state`. */
export function defaultBackendUrl(): string {
    return `file://${path.join(projectRoot(), DEFAULT_STATE_DIRECTORY)}`;
}

/**
 * The directory holding package.json above this file (from the sources or from dist/) — or, when
 * the package is installed in someone's node_modules, the current directory (their project).
 */
export function projectRoot(): string {
    if (__dirname.split(path.sep).includes("node_modules")) return process.cwd();
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    }
    return process.cwd();
}

/** The local directory of a `file://` backend URL, when it names one (`file://~` is Pulumi's own default). */
export function localBackendDirectory(backendUrl: string): string | undefined {
    if (!backendUrl.startsWith("file://")) return undefined;
    const directory = backendUrl.slice("file://".length);
    return directory.startsWith("~") || directory === "" ? undefined : directory;
}

/**
 * The configuration as the CLI stores it: every key namespaced, values as text (structured ones
 * as JSON, which the program parses), secrets marked — the namespace's secret keys always, even
 * when given in `config`.
 */
export function configMap(config: Record<string, unknown>, secrets: Record<string, string>): ConfigMap {
    if (!config || typeof config !== "object" || Array.isArray(config))
        throw new ConfigError("config", "is required: the stack configuration, a map of keys to values");
    if (!secrets || typeof secrets !== "object" || Array.isArray(secrets))
        throw new ConfigError("secrets", "must be a map of keys to text");
    const map: ConfigMap = {};
    for (const [key, value] of Object.entries(config)) {
        if (value === undefined || value === null) throw new ConfigError(`config.${key}`, "has no value");
        if (isEncrypted(value)) {
            throw new ConfigError(`config.${key}`, "is encrypted for another stack (secure: …); give its value in secrets instead");
        }
        const fullKey = namespaced(key);
        map[fullKey] = { value: typeof value === "string" ? value : JSON.stringify(value), secret: isSecretKey(fullKey) };
    }
    for (const [key, value] of Object.entries(secrets)) {
        if (typeof value !== "string" || value === "") throw new ConfigError(`secrets.${key}`, "must be non-empty text");
        const fullKey = namespaced(key);
        if (fullKey in map) throw new ConfigError(`secrets.${key}`, `is also given in config; give it once`);
        map[fullKey] = { value, secret: true };
    }
    return map;
}

function namespaced(key: string): string {
    return key.includes(":") ? key : `${CONFIG_NAMESPACE}:${key}`;
}

function isSecretKey(fullKey: string): boolean {
    return SECRET_KEYS.some((key) => fullKey === `${CONFIG_NAMESPACE}:${key}`);
}

function isEncrypted(value: unknown): boolean {
    return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
}

/** A well-formed stand-in for a private key the stack may already hold ("set on the stack"). */
const SET_ON_THE_STACK_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2V0IG9uIHRoZSBzdGFjaw==\n-----END OPENSSH PRIVATE KEY-----\n";

/** Checks the configuration with the program's rules; missing required secrets may already be on the stack, so they alone pass. */
function checkConfig(config: ConfigMap): void {
    const text = Object.fromEntries(Object.entries(config).map(([key, { value }]) => [key, value]));
    const raw = rawSettings(text);
    // Stand-ins only for secrets not given here: the stack may hold them from an earlier run.
    if (!("onePassword" in raw)) raw.onePassword = "set on the stack";
    const publicKeyGiven = typeof raw.ssh === "object" && raw.ssh !== null && "publicKey" in raw.ssh;
    if (!("sshPrivateKey" in raw) && publicKeyGiven) raw.sshPrivateKey = SET_ON_THE_STACK_KEY;
    checkStackSettings(raw);
}

function checkStackName(value: unknown): string {
    if (typeof value !== "string" || !STACK_NAME.test(value)) {
        throw new ConfigError("stackName", `is required: 1-100 letters, digits, '-', '_' or '.' (got ${JSON.stringify(value)})`);
    }
    return value;
}

function checkBackendUrl(value: unknown): string {
    if (typeof value !== "string" || !BACKEND_SCHEMES.some((scheme) => value.startsWith(scheme) && value.length > scheme.length)) {
        throw new ConfigError(
            "backendUrl",
            `must be a Pulumi backend URL: file://<directory>, s3://, azblob://, gs:// or https:// (got ${JSON.stringify(value)})`,
        );
    }
    return value;
}

/** The passphrase for the CLI's environment; required by the passphrase provider. */
function passphraseEnvironment(secretsProvider: string, passphrase: string | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
    if (passphrase !== undefined && (typeof passphrase !== "string" || passphrase === ""))
        throw new ConfigError("passphrase", "must be non-empty text");
    const given = passphrase ?? env.PULUMI_CONFIG_PASSPHRASE;
    if (given !== undefined && given !== "") return { PULUMI_CONFIG_PASSPHRASE: given };
    if (env.PULUMI_CONFIG_PASSPHRASE_FILE) return { PULUMI_CONFIG_PASSPHRASE_FILE: env.PULUMI_CONFIG_PASSPHRASE_FILE };
    if (secretsProvider === "passphrase") {
        throw new ConfigError(
            "passphrase",
            "is required by the passphrase secrets provider: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE), or pass passphrase",
        );
    }
    return {};
}
