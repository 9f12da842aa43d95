/**
 * The one way the package runs a host script on a machine: a `remote.Command` whose command line
 * is only `bash -s` (or `sudo bash -s`) and whose values travel base64-encoded in standard input.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Transform } from "../transform";
import { createChild } from "../transform";
import type { HostScript } from "./host-script";
import { hasUndo, toStdin } from "./host-script";
import type { RemoteNode, SshArgs } from "./ssh";
import { scriptRunner, scriptUndoer, sshConnection } from "./ssh";

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
    /**
     * Values naming what the script creates (e.g. the interface it brings up): when one changes,
     * the command is replaced — its delete undoes what the old values made, then the new ones are
     * created. Default none: a changed input re-runs the script in place, which converges (each
     * script removes what the new inputs no longer ask for).
     */
    replaceOn?: pulumi.Input<unknown>[];
}

/**
 * Runs `script` on a machine. The script re-runs when its standard input (its environment) or
 * the connection changes. Its output is logged (no host script prints secrets), earlier output
 * is not passed on as an SSH variable (servers without `AcceptEnv` would refuse it), and the
 * connection, which holds the private key, stays secret in state.
 *
 * Deleting the command undoes the script: `ACTION=delete` with the same standard input (the
 * command provider runs `delete` with the inputs stored in state, its stdin included), except for
 * the `CREATE_ONLY_SCRIPTS` (host-script.ts), which have no delete. A replacement deletes the old command
 * first, so the old delete never undoes what the new create just did.
 */
export function hostCommand(name: string, script: pulumi.Input<HostScript>, options: HostCommandOptions): command.remote.Command {
    const args: command.remote.CommandArgs = {
        connection: sshConnection(options.ssh, options.node),
        ...scriptInputs(script, options.node.sshUser),
        addPreviousOutputInEnv: false,
        logging: "stdoutAndStderr",
        ...(options.replaceOn === undefined ? {} : { triggers: options.replaceOn }),
    };
    const opts: pulumi.CustomResourceOptions = {
        parent: options.parent,
        additionalSecretOutputs: ["connection"],
        dependsOn: [...(options.node.dependsOn ?? []), ...(options.dependsOn ?? [])],
        deleteBeforeReplace: true,
    };
    return createChild(command.remote.Command, name, args, opts, options.transform);
}

/**
 * `create`, `delete` and `stdin` of a host command. A script and an SSH user that are plain values
 * (most host scripts, the usual `root` or `ubuntu`) give plain inputs: a fleet has a dozen commands
 * per host, and every Output costs the Pulumi SDK several promises per command.
 */
function scriptInputs(
    script: pulumi.Input<HostScript>,
    sshUser: pulumi.Input<string>,
): Pick<command.remote.CommandArgs, "create" | "delete" | "stdin"> {
    if (typeof sshUser === "string" && !pulumi.Output.isInstance(script) && !(script instanceof Promise)) {
        const run = script as HostScript;
        return { create: scriptRunner(sshUser), delete: hasUndo(run.name) ? scriptUndoer(sshUser) : undefined, stdin: sharedStdin(run) };
    }
    const resolved = pulumi.output(script);
    const user = pulumi.output(sshUser);
    return {
        create: user.apply(scriptRunner),
        delete: pulumi
            .all([resolved, user])
            .apply(([run, name]) => (hasUndo(run.name) ? scriptUndoer(name) : undefined)) as pulumi.Output<string>,
        stdin: resolved.apply(sharedStdin),
    };
}

/** Standard input per script object, rendered once: a script shared by many hosts gives them one string, not one copy each. */
const stdinCache = new WeakMap<HostScript, string>();

function sharedStdin(run: HostScript): string {
    let stdin = stdinCache.get(run);
    if (stdin === undefined) {
        stdin = toStdin(run);
        stdinCache.set(run, stdin);
    }
    return stdin;
}
