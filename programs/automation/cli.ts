/**
 * A small command line over the Automation API:
 *
 *   node dist/programs/automation/cli.js up|preview|destroy --stack <name> --config <Pulumi.x.yaml>
 *       [--backend <url>] [--secret-file <key>=<path>]… [--secret-env <key>=<VARIABLE>]… [--yes]
 *   node dist/programs/automation/cli.js list|status --stack <name> [--backend <url>] [--json]
 *       [--diagram <file.mmd>|-] [--ssh-key <file>]
 *
 * `list` shows what the stack built (its `topology` output): clusters, hosts with their public and
 * private IPs, which host carries each public IP, the overlay, the EVPN network, the router's
 * mappings; `--diagram` writes the topology as a Mermaid diagram (`-`: to standard output).
 * `status` adds each host's state in OpenNebula and the route reflector's BGP sessions (over SSH to
 * the ingress, with the stack's generated key or `--ssh-key`).
 *
 * The configuration file is a stack file (its `config:` map). Secrets never go on the command
 * line: `--secret-file sshPrivateKey=~/.ssh/id_ed25519` reads a file, `--secret-env
 * onePassword=ONE_PASSWORD` an environment variable. `destroy` needs `--yes`.
 */
import * as fs from "fs";
import * as os from "os";
import { parse } from "yaml";
import { ConfigError } from "../../components/validation";
import type { EdgeAutomationOptions } from "./options";
import type { Listing } from "./listing";
import { formatListing, listing, topologyDiagram } from "./listing";
import { edgeStatus } from "./status";
import type { DeployedStack } from "./index";
import { deploy, destroy, preview, readStack } from "./index";

/** The commands of the CLI. */
export const COMMANDS = ["up", "preview", "destroy", "list", "status"] as const;
/** The commands that only read the stack. */
const READ_COMMANDS: readonly string[] = ["list", "status"];
/** A command from {@link COMMANDS}. */
export type Command = (typeof COMMANDS)[number];

/** The command line, parsed. */
export interface CliArguments {
    command: Command;
    stackName: string;
    configFile: string;
    backendUrl?: string;
    /** Secret key → file to read it from. */
    secretFiles: Record<string, string>;
    /** Secret key → environment variable holding it. */
    secretEnv: Record<string, string>;
    yes: boolean;
    /** list, status: print JSON instead of a table. */
    json: boolean;
    /** list, status: where to write the Mermaid diagram (`-`: standard output). */
    diagram?: string;
    /** status: the private key that reaches the ingress (default: the stack's). */
    sshKeyFile?: string;
}

const USAGE =
    "usage: cli.js up|preview|destroy --stack <name> --config <Pulumi.<stack>.yaml> [--backend <url>] [--secret-file key=path]… [--secret-env key=VARIABLE]… [--yes]\n" +
    "       cli.js list|status --stack <name> [--backend <url>] [--json] [--diagram <file.mmd>|-] [--ssh-key <file>]";

/**
 * Parses the command line (without `node` and the script).
 *
 * @throws ConfigError naming the argument.
 */
export function parseCliArguments(argv: readonly string[]): CliArguments {
    const [command, ...rest] = argv;
    if (!(COMMANDS as readonly string[]).includes(command))
        throw new ConfigError("command", `must be one of ${COMMANDS.join(", ")} (got ${JSON.stringify(command)})\n${USAGE}`);
    const parsed: Partial<CliArguments> & Pick<CliArguments, "secretFiles" | "secretEnv" | "yes" | "json"> = {
        secretFiles: {},
        secretEnv: {},
        yes: false,
        json: false,
    };
    const reading = READ_COMMANDS.includes(command);
    for (let i = 0; i < rest.length; i++) {
        const flag = rest[i];
        if (flag === "--yes" || flag === "--json") {
            if (flag === "--json" && !reading) throw new ConfigError(flag, `applies to list and status only\n${USAGE}`);
            parsed[flag === "--yes" ? "yes" : "json"] = true;
            continue;
        }
        if (["--diagram", "--ssh-key"].includes(flag) && !reading) throw new ConfigError(flag, `applies to list and status only\n${USAGE}`);
        if (flag === "--diagram" && rest[i + 1] === "-") {
            parsed.diagram = rest[++i];
            continue;
        }
        const value = rest[++i];
        if (value === undefined || value.startsWith("--")) throw new ConfigError(flag, `needs a value\n${USAGE}`);
        switch (flag) {
            case "--stack":
                parsed.stackName = value;
                break;
            case "--config":
                parsed.configFile = value;
                break;
            case "--backend":
                parsed.backendUrl = value;
                break;
            case "--secret-file":
                Object.assign(parsed.secretFiles, keyValue(flag, value));
                break;
            case "--secret-env":
                Object.assign(parsed.secretEnv, keyValue(flag, value));
                break;
            case "--diagram":
                parsed.diagram = value;
                break;
            case "--ssh-key":
                parsed.sshKeyFile = value;
                break;
            default:
                throw new ConfigError(flag, `is not an option\n${USAGE}`);
        }
    }
    if (parsed.stackName === undefined) throw new ConfigError("--stack", `is required\n${USAGE}`);
    if (parsed.configFile === undefined && !reading) throw new ConfigError("--config", `is required\n${USAGE}`);
    if (command === "destroy" && !parsed.yes)
        throw new ConfigError("--yes", "is required to destroy: everything the stack created is deleted");
    return { ...parsed, command: command as Command } as CliArguments;
}

function keyValue(flag: string, text: string): Record<string, string> {
    const at = text.indexOf("=");
    if (at <= 0 || at === text.length - 1)
        throw new ConfigError(flag, `must be key=value, e.g. sshPrivateKey=~/.ssh/id_ed25519 (got ${JSON.stringify(text)})`);
    return { [text.slice(0, at)]: text.slice(at + 1) };
}

/**
 * The Automation API options of a parsed command line: the stack file's `config:` map and the
 * secrets read from their files and variables.
 */
export function cliOptions(args: CliArguments, env: NodeJS.ProcessEnv = process.env): EdgeAutomationOptions {
    const document = parse(readText("--config", args.configFile)) as { config?: unknown } | null;
    if (!document || typeof document.config !== "object" || document.config === null || Array.isArray(document.config)) {
        throw new ConfigError("--config", `${args.configFile} has no config: map (it must be a Pulumi.<stack>.yaml stack file)`);
    }
    const secrets: Record<string, string> = {};
    for (const [key, file] of Object.entries(args.secretFiles))
        secrets[key] = readText(`--secret-file ${key}`, file.replace(/^~(?=\/)/, os.homedir()));
    for (const [key, variable] of Object.entries(args.secretEnv)) {
        const value = env[variable];
        if (value === undefined || value === "")
            throw new ConfigError(`--secret-env ${key}`, `environment variable ${variable} is not set`);
        secrets[key] = value;
    }
    return { stackName: args.stackName, config: document.config as Record<string, unknown>, secrets, backendUrl: args.backendUrl };
}

function readText(option: string, file: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch (error) {
        throw new ConfigError(option, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
}

/** Runs the command line; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
    try {
        const args = parseCliArguments(argv);
        if (args.command === "list" || args.command === "status") {
            const stack = await readStack({ stackName: args.stackName, backendUrl: args.backendUrl });
            process.stdout.write(await report(args, stack));
            return 0;
        }
        const options = cliOptions(args);
        const run = { up: deploy, preview, destroy }[args.command];
        await run(options);
        return 0;
    } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
    }
}

/**
 * What `list` or `status` prints for a deployed stack: the listing as a table or JSON (and the
 * diagram, written to its file or, with `--diagram -`, printed instead).
 */
export async function report(args: CliArguments, stack: DeployedStack): Promise<string> {
    if (stack.topology === undefined)
        throw new Error(`stack ${args.stackName} has no topology output: run up with this version of the program first`);
    const status = args.command === "status" ? await edgeStatus(stack.topology, statusAccess(args, stack)) : {};
    const list: Listing = listing(stack.topology, status);
    if (args.diagram === "-") return topologyDiagram(stack.topology);
    if (args.diagram !== undefined) fs.writeFileSync(args.diagram, topologyDiagram(stack.topology));
    return args.json ? `${JSON.stringify(list, null, 2)}\n` : formatListing(list);
}

/** The front-end and the ingress key from the stack's own configuration and outputs (or `--ssh-key`). */
function statusAccess(args: CliArguments, stack: DeployedStack): Parameters<typeof edgeStatus>[1] {
    const namespaced = (key: string) => stack.config[`opennebula-edge:${key}`];
    const opennebula = namespaced("opennebula")
        ? (JSON.parse(namespaced("opennebula")) as { endpoint: string; username?: string })
        : undefined;
    const password = namespaced("onePassword");
    const privateKey =
        args.sshKeyFile !== undefined
            ? readText("--ssh-key", args.sshKeyFile)
            : ((stack.outputs.sshPrivateKey as string | undefined) ?? namespaced("sshPrivateKey"));
    const ingressUser = namespaced("overlay")
        ? (JSON.parse(namespaced("overlay")) as { ingress?: { sshUser?: string } }).ingress?.sshUser
        : undefined;
    return {
        connection:
            opennebula && password ? { endpoint: opennebula.endpoint, username: opennebula.username ?? "oneadmin", password } : undefined,
        ssh: privateKey ? { privateKey, user: ingressUser } : undefined,
    };
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
