/**
 * How components reach machines over SSH with `@pulumi/command`'s `remote.Command`: the
 * connection (private keys kept secret) and the shell that runs a host script from standard input.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { EdgeSshArgs } from "./types";

/** SSH connection of `remote.Command` for a node, with every private key wrapped as a secret. */
export function sshConnection(ssh: EdgeSshArgs, node: { publicIp: pulumi.Input<string>; sshUser: pulumi.Input<string> }): command.types.input.remote.ConnectionArgs {
    const privateKey = pulumi.secret(ssh.privateKey);
    return {
        host: node.publicIp,
        user: node.sshUser,
        port: ssh.port ?? 22,
        privateKey,
        // Fresh machines accept SSH some time after the cloud reports them running.
        dialErrorLimit: 30,
        ...(ssh.bastion === undefined
            ? {}
            : {
                proxy: {
                    host: ssh.bastion.host,
                    user: ssh.bastion.user ?? "root",
                    port: ssh.bastion.port ?? 22,
                    privateKey: ssh.bastion.privateKey === undefined ? privateKey : pulumi.secret(ssh.bastion.privateKey),
                },
            }),
    };
}

/** The command line that runs a host script read from standard input as root: `bash -s`, or `sudo bash -s`. */
export function scriptRunner(sshUser: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(sshUser).apply((user) => (user === "root" ? "bash -s" : "sudo bash -s"));
}
