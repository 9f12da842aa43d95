/**
 * How the overlay components reach their machines: the node contract, the SSH connection of
 * `remote.Command` (private keys kept secret) and one command per host script, whose values
 * travel in standard input (see `components/edge/host-scripts.ts` `toStdin`), never in the
 * command line.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { HostScript, toStdin } from "../edge/host-scripts";
import { scriptRunner, sshConnection } from "../edge/ssh";
import type { EdgeSshArgs } from "../edge/types";
import { OverlayConfigError, assertIntegerInRange, assertNodeName, assertUnique, describe } from "./errors";

/**
 * A machine of the overlay: the ingress, or a KVM host. An `EdgeCluster` host maps onto it as
 * `{ key, publicIp, sshUser, dependsOn }`.
 */
export interface OverlayNode {
    /**
     * Stable, unique name of the node: child resource names, the WireGuard peer comment and the
     * FRR hostname derive from it, so it must not change while the node exists. 1–63 letters,
     * digits, `.`, `_`, `-`, starting with a letter or digit. Required; a plain string.
     */
    key: string;
    /** Public address: where SSH and the other nodes' WireGuard reach this node. Required. */
    publicIp: pulumi.Input<string>;
    /** SSH user: `root`, or a user with passwordless sudo. Required. */
    sshUser: pulumi.Input<string>;
    /** Resources the node's commands must wait for (the machine, its firewall rules …). Default none. */
    dependsOn?: pulumi.Resource[];
}

/**
 * An escape hatch for a child command: called with the arguments and options the component
 * built, before the command is created; change them in place (SST-style `transform`).
 */
export type CommandTransform = (args: command.remote.CommandArgs, opts: pulumi.CustomResourceOptions, nodeKey: string) => void;

/** What {@link hostScriptCommand} needs besides the script. */
export interface HostScriptCommandOptions {
    /** The component the command belongs to. */
    parent: pulumi.Resource;
    /** How to reach the node. */
    ssh: EdgeSshArgs;
    /** The node. */
    node: OverlayNode;
    /** Resources to wait for besides the node's own `dependsOn`. Default none. */
    dependsOn?: pulumi.Resource[];
    /** The caller's transform for this kind of command. */
    transform?: CommandTransform;
}

/**
 * A `remote.Command` that runs a host script on a node: `create` is only `bash -s` or
 * `sudo bash -s`, the values travel base64-encoded in standard input. The script's output is
 * logged (no host script prints secrets), and the connection stays secret in state.
 */
export function hostScriptCommand(name: string, run: pulumi.Input<HostScript>, options: HostScriptCommandOptions): command.remote.Command {
    const args: command.remote.CommandArgs = {
        connection: sshConnection(options.ssh, options.node),
        create: scriptRunner(options.node.sshUser),
        stdin: pulumi.output(run).apply(toStdin),
        // PULUMI_COMMAND_STDOUT would be sent as an SSH variable, which servers without AcceptEnv refuse.
        addPreviousOutputInEnv: false,
        logging: "stdoutAndStderr",
    };
    const opts: pulumi.CustomResourceOptions = pulumi.mergeOptions(
        { parent: options.parent, additionalSecretOutputs: ["connection"] },
        { dependsOn: [...(options.node.dependsOn ?? []), ...(options.dependsOn ?? [])] },
    );
    options.transform?.(args, opts, options.node.key);
    return new command.remote.Command(name, args, opts);
}

/** Throws unless the SSH arguments can work: a private key, and ports (when known) from 1 to 65535. */
export function checkSshArgs(ssh: EdgeSshArgs | undefined, field = "ssh"): EdgeSshArgs {
    if (ssh === undefined || ssh === null || typeof ssh !== "object") {
        throw new OverlayConfigError(field, "is required: { privateKey, port?, bastion? }");
    }
    if (ssh.privateKey === undefined || ssh.privateKey === null || ssh.privateKey === "") {
        throw new OverlayConfigError(`${field}.privateKey`, "is required (an OpenSSH private key accepted by every node)");
    }
    if (isKnown(ssh.port)) {
        assertIntegerInRange(ssh.port, `${field}.port`, 1, 65535);
    }
    if (ssh.bastion !== undefined) {
        if (ssh.bastion === null || typeof ssh.bastion !== "object" || ssh.bastion.host === undefined || ssh.bastion.host === "") {
            throw new OverlayConfigError(`${field}.bastion.host`, "is required when a bastion is given");
        }
        if (isKnown(ssh.bastion.port)) {
            assertIntegerInRange(ssh.bastion.port, `${field}.bastion.port`, 1, 65535);
        }
    }
    return ssh;
}

/** Throws unless `node` is `{ key, publicIp, sshUser, dependsOn? }` with a valid key; `field` names it, e.g. `hosts[0]`. */
export function checkNode(node: OverlayNode, field: string): OverlayNode {
    if (node === undefined || node === null || typeof node !== "object") {
        throw new OverlayConfigError(field, `must be a node { key, publicIp, sshUser }, got ${describe(node)}`);
    }
    assertNodeName(node.key, `${field}.key`);
    for (const input of ["publicIp", "sshUser"] as const) {
        if (node[input] === undefined || node[input] === null || node[input] === "") {
            throw new OverlayConfigError(`${field}.${input}`, "is required");
        }
    }
    if (node.dependsOn !== undefined && !Array.isArray(node.dependsOn)) {
        throw new OverlayConfigError(`${field}.dependsOn`, `must be a list of resources, got ${describe(node.dependsOn)}`);
    }
    return node;
}

/** Throws on the first node key used twice; `fieldOf(i)` names the i-th node. */
export function assertUniqueKeys(nodes: readonly OverlayNode[], fieldOf: (index: number) => string): void {
    assertUnique(nodes.map((node) => node.key), (index) => `${fieldOf(index)}.key`, "node key");
}

/** True for an input given as a plain value (not an Output or a promise, and not omitted). */
export function isKnown<T>(value: pulumi.Input<T> | undefined): value is T {
    return value !== undefined && !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}
