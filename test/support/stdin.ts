import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { hostScriptsDir, readHostScript } from "../../components/remote/host-script";

/** A host script's standard input (see `toStdin` in host-scripts.ts), decoded: its environment and the script (without the prelude). */
export function decodeStdin(stdin: string): { environment: Record<string, string>; script: string } {
    const loader = readHostScript("env-loader.sh");
    if (!stdin.startsWith(loader)) throw new Error("stdin does not start with env-loader.sh");
    const lines = stdin.slice(loader.length).replace(/^\n/, "").split("\n");
    const end = lines.indexOf("--");
    if (end < 0) throw new Error("stdin has no end of environment");
    const environment = Object.fromEntries(
        lines.slice(0, end).map((line) => {
            const at = line.indexOf("=");
            return [line.slice(0, at), Buffer.from(line.slice(at + 1), "base64").toString("utf8")];
        }),
    );
    // toStdin puts the shared prelude once in front of the script.
    const prelude = readHostScript("prelude.sh");
    const text = lines.slice(end + 1).join("\n");
    if (!text.startsWith(prelude)) throw new Error("stdin does not carry prelude.sh before the script");
    return { environment, script: text.slice(prelude.length) };
}

/** The environment a host script's standard input carries. */
export function environmentOf(stdin: string): Record<string, string> {
    return decodeStdin(stdin).environment;
}

/** A recorded input without its secret wrapper (the mocks receive secrets as `{ <signature>: …, value }`). */
export function unsecret(input: any): any {
    return input && typeof input === "object" && pulumi.runtime.specialSigKey in input ? input.value : input;
}

/** The value of an Output. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** The host scripts a command can run: every file of scripts/host but the loader and the prelude. */
export function hostScriptNames(): string[] {
    return fs
        .readdirSync(hostScriptsDir())
        .filter((name) => name.endsWith(".sh") && name !== "env-loader.sh" && name !== "prelude.sh")
        .sort();
}

/** The file name of the host script a command's standard input runs. */
export function scriptNameOf(stdin: string): string {
    const { script } = decodeStdin(stdin);
    const name = hostScriptNames().find((candidate) => readHostScript(candidate) === script);
    if (name === undefined) throw new Error("the standard input runs no script of scripts/host");
    return name;
}
