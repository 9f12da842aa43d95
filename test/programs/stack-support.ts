/**
 * Helpers of the stack program tests: the example stack files as the engine would pass them to
 * the program, the secrets a user would set with `pulumi config set --secret`, and a mock cloud
 * that answers like the real ones (addresses, ids, WireGuard public keys, catalogue lookups).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import type { RecordedProgram, RunOptions } from "../support/pulumi-mocks";
import { runProgram } from "../support/pulumi-mocks";
import { EdgeMocks } from "../../components/testing";
import { SECRETS } from "../support/fixtures";

export { SECRETS };

/** The repository root (where Pulumi.yaml is), from the sources or from dist/. */
export function repositoryRoot(): string {
    for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, "Pulumi.yaml")) && fs.existsSync(path.join(dir, "package.json"))) return dir;
    }
    throw new Error(`no Pulumi.yaml above ${__dirname}`);
}

/** The `config:` map of an example stack file (`Pulumi.<stack>.yaml`), as written. */
export function stackFileConfig(stack: string): Record<string, unknown> {
    const file = path.join(repositoryRoot(), `Pulumi.${stack}.yaml`);
    const document = parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    if (!document || typeof document.config !== "object") throw new Error(`${file} has no config: map`);
    return document.config;
}

/**
 * Sets the runtime configuration the way the engine passes it: every value as text (structured
 * values as JSON), with the secrets added and listed as secret keys. Call before running a program.
 */
export function setStackConfig(config: Record<string, unknown>, secrets: Record<string, string> = SECRETS): void {
    const text: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) text[key] = typeof value === "string" ? value : JSON.stringify(value);
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(secrets)) {
        text[`opennebula-edge:${key}`] = value;
        secretKeys.push(`opennebula-edge:${key}`);
    }
    pulumi.runtime.setAllConfig(text, secretKeys);
}

/** The seed's addresses for the seed's hosts; every other machine gets the next address of 203.0.113.0/24. */
const SEED_HOST_IPS: Record<string, string> = { "london-host-0": "18.134.246.200", "ncalifornia-host-0": "18.144.25.41" };

/** The package's own test mocks (`pulumi-opennebula-edge/testing`), with the seed's addresses for the seed's hosts. */
export class MockCloud extends EdgeMocks {
    /** Options of runProgram that make the mocks answer like the clouds. */
    readonly runOptions: RunOptions = {
        outputs: (args) => this.newResource(args).state,
        call: (args) => this.call(args),
    };

    override hostIp(name: string): string {
        if (!this.hostIps.has(name) && SEED_HOST_IPS[name] !== undefined) this.hostIps.set(name, SEED_HOST_IPS[name]);
        return super.hostIp(name);
    }
}

/** Runs `program` with the stack configuration set and the mock cloud answering. */
export async function runWithConfig(
    config: Record<string, unknown>,
    program: () => unknown,
    secrets: Record<string, string> = SECRETS,
): Promise<{ program: RecordedProgram; cloud: MockCloud }> {
    setStackConfig(config, secrets);
    const cloud = new MockCloud();
    try {
        return { program: await runProgram(program, cloud.runOptions), cloud };
    } finally {
        pulumi.runtime.setAllConfig({}, []);
    }
}

/** The value of an Output once the program ran. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/** A deep copy of a stack file's config, to change in a test. */
export function copyOf<T>(value: T): T {
    return JSON.parse(JSON.stringify(value)) as T;
}
