/**
 * The one way the package runs a host script on a machine: a `remote.Command` whose command line
 * is only `bash -s` (or `sudo bash -s`) and whose values travel base64-encoded in standard input.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Transform, createChild } from "../transform";
import { HostScript, toStdin } from "./host-script";
import { RemoteNode, SshArgs, scriptRunner, sshConnection } from "./ssh";

/** What {@link hostCommand} needs besides the script. */
export interface HostCommandOptions {
    /** The component the command belongs to. */
    parent: pulumi.Resource;
    /** How to reach the machine. */
    ssh: SshArgs;
    /** The machine; every command on it waits for its `dependsOn`. */
    node: RemoteNode;
    /** Resources to wait for besides the machine's own `dependsOn` (the previous step …). Default none. */
    dependsOn?: pulumi.Resource[];
    /** The caller's transform for this kind of command. Default none. */
    transform?: Transform<command.remote.CommandArgs>;
}

/**
 * Runs `script` on a machine. The script re-runs when its standard input (its environment) or
 * the connection changes. Its output is logged (no host script prints secrets), earlier output
 * is not passed on as an SSH variable (servers without `AcceptEnv` would refuse it), and the
 * connection, which holds the private key, stays secret in state.
 */
export function hostCommand(name: string, script: pulumi.Input<HostScript>, options: HostCommandOptions): command.remote.Command {
    const args: command.remote.CommandArgs = {
        connection: sshConnection(options.ssh, options.node),
        create: scriptRunner(options.node.sshUser),
        stdin: pulumi.output(script).apply(toStdin),
        addPreviousOutputInEnv: false,
        logging: "stdoutAndStderr",
    };
    const opts: pulumi.CustomResourceOptions = {
        parent: options.parent,
        additionalSecretOutputs: ["connection"],
        dependsOn: [...(options.node.dependsOn ?? []), ...(options.dependsOn ?? [])],
    };
    return createChild(command.remote.Command, name, args, opts, options.transform);
}
