/**
 * A small command line over the Automation API:
 *
 *   node dist/programs/automation/cli.js up|preview|destroy --stack <name> --config <Pulumi.x.yaml>
 *       [--backend <url>] [--secret-file <key>=<path>]… [--secret-env <key>=<VARIABLE>]… [--yes]
 *
 * The configuration file is a stack file (its `config:` map). Secrets never go on the command
 * line: `--secret-file sshPrivateKey=~/.ssh/id_ed25519` reads a file, `--secret-env
 * onePassword=ONE_PASSWORD` an environment variable. `destroy` needs `--yes`.
 */
import * as fs from "fs";
import * as os from "os";
import { parse } from "yaml";
import { ConfigError } from "../../components/validation";
import { EdgeAutomationOptions } from "./options";
import { deploy, destroy, preview } from "./index";

/** The commands of the CLI. */
export const COMMANDS = ["up", "preview", "destroy"] as const;
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
}

const USAGE = "usage: cli.js up|preview|destroy --stack <name> --config <Pulumi.<stack>.yaml> [--backend <url>] [--secret-file key=path]… [--secret-env key=VARIABLE]… [--yes]";

/**
 * Parses the command line (without `node` and the script).
 *
 * @throws ConfigError naming the argument.
 */
export function parseCliArguments(argv: readonly string[]): CliArguments {
    const [command, ...rest] = argv;
    if (!(COMMANDS as readonly string[]).includes(command)) throw new ConfigError("command", `must be one of ${COMMANDS.join(", ")} (got ${JSON.stringify(command)})\n${USAGE}`);
    const parsed: Partial<CliArguments> & Pick<CliArguments, "secretFiles" | "secretEnv" | "yes"> = { secretFiles: {}, secretEnv: {}, yes: false };
    for (let i = 0; i < rest.length; i++) {
        const flag = rest[i];
        if (flag === "--yes") {
            parsed.yes = true;
            continue;
        }
        const value = rest[++i];
        if (value === undefined || value.startsWith("--")) throw new ConfigError(flag, `needs a value\n${USAGE}`);
        switch (flag) {
            case "--stack": parsed.stackName = value; break;
            case "--config": parsed.configFile = value; break;
            case "--backend": parsed.backendUrl = value; break;
            case "--secret-file": Object.assign(parsed.secretFiles, keyValue(flag, value)); break;
            case "--secret-env": Object.assign(parsed.secretEnv, keyValue(flag, value)); break;
            default: throw new ConfigError(flag, `is not an option\n${USAGE}`);
        }
    }
    if (parsed.stackName === undefined) throw new ConfigError("--stack", `is required\n${USAGE}`);
    if (parsed.configFile === undefined) throw new ConfigError("--config", `is required\n${USAGE}`);
    if (command === "destroy" && !parsed.yes) throw new ConfigError("--yes", "is required to destroy: everything the stack created is deleted");
    return { ...parsed, command: command as Command } as CliArguments;
}

function keyValue(flag: string, text: string): Record<string, string> {
    const at = text.indexOf("=");
    if (at <= 0 || at === text.length - 1) throw new ConfigError(flag, `must be key=value, e.g. sshPrivateKey=~/.ssh/id_ed25519 (got ${JSON.stringify(text)})`);
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
    for (const [key, file] of Object.entries(args.secretFiles)) secrets[key] = readText(`--secret-file ${key}`, file.replace(/^~(?=\/)/, os.homedir()));
    for (const [key, variable] of Object.entries(args.secretEnv)) {
        const value = env[variable];
        if (value === undefined || value === "") throw new ConfigError(`--secret-env ${key}`, `environment variable ${variable} is not set`);
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
        const options = cliOptions(args);
        const run = { up: deploy, preview, destroy }[args.command];
        await run(options);
        return 0;
    } catch (error) {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        return 1;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then((code) => process.exit(code));
}
