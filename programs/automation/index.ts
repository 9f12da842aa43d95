/**
 * The Automation API entry point: deploy, preview and destroy an edge configuration from code,
 * with the main program as an inline program — no Pulumi.yaml, no `pulumi` commands to type.
 * Defaults: the local file backend under the project (`.pulumi-state/`) and the passphrase
 * secrets provider (`PULUMI_CONFIG_PASSPHRASE`); the engine's progress streams to the console.
 * The `pulumi` CLI must be installed (the Automation API drives it).
 *
 * @example
 * import { deploy } from "./programs/automation"; // in this repository
 * const result = await deploy({
 *     stackName: "multi-edge",
 *     config: { opennebula: { endpoint: "http://localhost:2633/RPC2", frontendSshPublicKey: "ssh-rsa …" }, … },
 *     secrets: { onePassword: process.env.ONE_PASSWORD!, sshPrivateKey: fs.readFileSync(keyFile, "utf8") },
 * });
 * console.log(result.outputs.routerPublicIp?.value);
 */
import * as fs from "fs";
import type { DestroyResult, PreviewResult, Stack, UpResult } from "@pulumi/pulumi/automation";
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import type { EdgeTopology } from "../main/topology";
import type { EdgeAutomationOptions, EdgeStackRef, ResolvedAutomationOptions } from "./options";
import { localBackendDirectory, resolveAutomationOptions, resolveStackRef, workspaceArgs } from "./options";

export * from "./options";
export * from "./listing";
export * from "./status";
export type { EdgeTopology, TopologyCluster, TopologyHost } from "../main/topology";

/**
 * The stack, created on first use (selected afterwards), with the configuration set. Options are
 * checked first: nothing starts when one is wrong.
 */
export async function edgeStack(options: EdgeAutomationOptions): Promise<{ stack: Stack; resolved: ResolvedAutomationOptions }> {
    const resolved = resolveAutomationOptions(options);
    const directory = localBackendDirectory(resolved.backendUrl);
    if (directory !== undefined) fs.mkdirSync(directory, { recursive: true });
    const stack = await LocalWorkspace.createOrSelectStack(...workspaceArgs(resolved)).catch(explainMissingCli);
    await stack.setAllConfig(resolved.config);
    return { stack, resolved };
}

/** What a deployed stack holds: its outputs and its configuration (secrets decrypted), by key. */
export interface DeployedStack {
    outputs: Record<string, unknown>;
    config: Record<string, string>;
    /** The `topology` output, when the stack has one. */
    topology?: EdgeTopology;
}

/** Reads a deployed stack's outputs and configuration; changes nothing. */
export async function readStack(ref: EdgeStackRef): Promise<DeployedStack> {
    const resolved = resolveStackRef(ref);
    const stack = await LocalWorkspace.selectStack(...workspaceArgs(resolved)).catch(explainMissingCli);
    const outputs = Object.fromEntries(Object.entries(await stack.outputs()).map(([key, output]) => [key, output.value]));
    const config = Object.fromEntries(Object.entries(await stack.getAllConfig()).map(([key, value]) => [key, value.value]));
    return { outputs, config, topology: outputs.topology as EdgeTopology | undefined };
}

function explainMissingCli(error: unknown): never {
    throw isMissingCli(error)
        ? new Error("the Automation API drives the pulumi CLI, which is not on PATH: install it (https://www.pulumi.com/docs/install/)")
        : error;
}

/** Whether starting the `pulumi` executable failed because there is none. */
function isMissingCli(error: unknown): boolean {
    return /ENOENT/.test(String((error as Error)?.message ?? error)) && /pulumi/.test(String((error as Error)?.message ?? error));
}

/** `pulumi up`: creates or updates everything the configuration describes. */
export async function deploy(options: EdgeAutomationOptions): Promise<UpResult> {
    const { stack, resolved } = await edgeStack(options);
    return stack.up({ onOutput: resolved.onOutput, color: "auto" });
}

/** `pulumi preview`: what `deploy` would change. */
export async function preview(options: EdgeAutomationOptions): Promise<PreviewResult> {
    const { stack, resolved } = await edgeStack(options);
    return stack.preview({ onOutput: resolved.onOutput, color: "auto" });
}

/** `pulumi destroy`: deletes everything the stack created. */
export async function destroy(options: EdgeAutomationOptions): Promise<DestroyResult> {
    const { stack, resolved } = await edgeStack(options);
    return stack.destroy({ onOutput: resolved.onOutput, color: "auto" });
}
