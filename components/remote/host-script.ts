/**
 * The host scripts (`scripts/host/*.sh`) as data: where they are, their text, and the standard
 * input that runs one with its environment. Every script takes its values from environment
 * variables only, so callers never build shell text from values; the values travel in standard
 * input as base64 data (see `scripts/host/env-loader.sh`), never in the command line.
 */
import * as fs from "fs";
import * as path from "path";

/** A host script ready to run: its file contents and the environment variables it reads. */
export interface HostScript {
    /** File name in `scripts/host`, e.g. `"firewall.sh"`; handy for resource names. */
    readonly name: string;
    /** The script itself (starts with `#!/usr/bin/env bash`). */
    readonly script: string;
    /** The variables the script reads; values are plain strings, never shell text. */
    readonly environment: Record<string, string>;
}

const SCRIPT_MARKER = "firewall.sh";

/**
 * The directory holding the host scripts. This module lives in `components/remote` (run from
 * sources) or `dist/components/remote` (compiled, in this repository or in an installed package
 * whose `files` include `scripts/host/**`), so the scripts are two or three levels up.
 */
export function hostScriptsDir(): string {
    const candidates = [
        path.resolve(__dirname, "..", "..", "scripts", "host"),
        path.resolve(__dirname, "..", "..", "..", "scripts", "host"),
    ];
    const found = candidates.find((dir) => fs.existsSync(path.join(dir, SCRIPT_MARKER)));
    if (found === undefined) {
        throw new Error(`host scripts not found; looked for ${SCRIPT_MARKER} in ${candidates.join(" and ")}`);
    }
    return found;
}

const scriptCache = new Map<string, string>();

/** The contents of `scripts/host/<name>`, read once. */
export function readHostScript(name: string): string {
    let text = scriptCache.get(name);
    if (text === undefined) {
        text = fs.readFileSync(path.join(hostScriptsDir(), name), "utf8");
        scriptCache.set(name, text);
    }
    return text;
}

/**
 * The host scripts with no undo: they install packages other software may use (the hypervisor,
 * FRR, WireGuard), so removing their command leaves the host as it is. Every other host script
 * undoes what it did when run with `ACTION=delete`.
 */
export const CREATE_ONLY_SCRIPTS: readonly string[] = ["opennebula-node.sh", "frr-install.sh", "wireguard-install.sh"];

/** Whether `scripts/host/<name>` undoes itself with `ACTION=delete` (see {@link CREATE_ONLY_SCRIPTS}). */
export function hasUndo(name: string): boolean {
    return !CREATE_ONLY_SCRIPTS.includes(name);
}

/** `scripts/host/<name>` with the environment it reads. */
export function hostScript(name: string, environment: Record<string, string>): HostScript {
    return { name, script: readHostScript(name), environment };
}

/**
 * Standard input for `bash -s` that runs the script with its environment, for SSH sessions that
 * would drop the variables (sshd accepts only `AcceptEnv` names; `sudo` resets the rest). The
 * values are base64 data read by `env-loader.sh`, never parsed as shell, and they stay out of
 * the command line; the shared helpers of `prelude.sh` (`die`, `run`, `write_if_changed`, boot
 * units …) come once, before the script. The output is deterministic, so it changes exactly when
 * the inputs change.
 */
export function toStdin(run: HostScript): string {
    const lines = Object.keys(run.environment)
        .sort()
        .map((name) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`environment variable name "${name}" must match [A-Z_][A-Z0-9_]*`);
            return `${name}=${Buffer.from(run.environment[name], "utf8").toString("base64")}`;
        });
    const loader = readHostScript("env-loader.sh");
    const prelude = readHostScript("prelude.sh");
    return `${loader}${loader.endsWith("\n") ? "" : "\n"}${lines.join("\n")}${lines.length ? "\n" : ""}--\n${prelude}${run.script}`;
}
