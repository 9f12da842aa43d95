/**
 * How components reach machines over SSH with `@pulumi/command`'s `remote.Command`: the machine
 * contract, the SSH arguments and their check, the connection (private keys kept secret) and the
 * shell that runs a host script from standard input.
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, describe, integerIn, isKnown, required, sshPrivateKeyText } from "../validation";

/** A machine the package configures over SSH: a KVM host of an edge cluster, or the overlay's ingress. */
export interface RemoteNode {
    /**
     * Stable, unique name of the machine: child resource names (and, in the overlay, the WireGuard
     * peer comment and the FRR hostname) derive from it, so it must not change while it exists.
     * A plain string.
     */
    key: string;
    /** Address SSH reaches the machine at (and, in the overlay, the other nodes' WireGuard). */
    publicIp: pulumi.Input<string>;
    /** SSH user: `root`, or a user with passwordless sudo (e.g. `ubuntu`). */
    sshUser: pulumi.Input<string>;
    /** Resources every command on the machine must wait for (the machine, its addresses …). Default none. */
    dependsOn?: pulumi.Resource[];
    /**
     * What the package's host firewall on the machine lets the overlay use, when the package
     * manages it (an edge cluster's hosts): `WireGuardMesh` refuses a port, interface or subnet
     * that firewall would block. Default: no firewall of the package (nothing to check).
     */
    firewall?: NodeFirewall;
}

/** What a machine's host firewall lets the overlay use. */
export interface NodeFirewall {
    /** The UDP port it opens for WireGuard. */
    wireguardPort: number;
    /** The interface it accepts VXLAN and BGP on. */
    overlayInterface: string;
    /** The overlay subnet it trusts for libvirt, migration and VNC; undefined when it trusts none. */
    overlaySubnet?: string;
}

/** How to reach the machines over SSH. */
export interface SshArgs {
    /** Private key (OpenSSH PEM) accepted by every machine; kept secret. Required. */
    privateKey: pulumi.Input<string>;
    /** SSH port. Default 22. */
    port?: pulumi.Input<number>;
    /** A jump host to go through (as in the seed's `ProxyJump`). Default: connect directly. */
    bastion?: {
        /** Address of the jump host. Required. */
        host: pulumi.Input<string>;
        /** Default `root`. */
        user?: pulumi.Input<string>;
        /** Default: the machines' `privateKey`. */
        privateKey?: pulumi.Input<string>;
        /** Default 22. */
        port?: pulumi.Input<number>;
    };
}

/**
 * Checks the SSH arguments that can be checked now: a private key, ports (when known) from 1 to
 * 65535, a bastion host when a bastion is given. Never echoes a key.
 */
export function checkSshArgs(ssh: SshArgs | undefined, field = "ssh"): SshArgs {
    if (ssh === undefined || ssh === null || typeof ssh !== "object")
        throw new ConfigError(field, "is required: { privateKey, port?, bastion? }");
    required(`${field}.privateKey`, ssh.privateKey, "the OpenSSH private key every machine accepts (kept secret)");
    if (isKnown(ssh.privateKey)) sshPrivateKeyText(`${field}.privateKey`, ssh.privateKey);
    if (isKnown(ssh.port)) integerIn(`${field}.port`, ssh.port, 1, 65535);
    if (ssh.bastion !== undefined) {
        if (ssh.bastion === null || typeof ssh.bastion !== "object")
            throw new ConfigError(`${field}.bastion`, `must be { host, user?, privateKey?, port? } (got ${describe(ssh.bastion)})`);
        required(`${field}.bastion.host`, ssh.bastion.host, "the jump host's address");
        if (isKnown(ssh.bastion.privateKey)) sshPrivateKeyText(`${field}.bastion.privateKey`, ssh.bastion.privateKey);
        if (isKnown(ssh.bastion.port)) integerIn(`${field}.bastion.port`, ssh.bastion.port, 1, 65535);
    }
    return ssh;
}

/** SSH connection of `remote.Command` for a machine, with every private key wrapped as a secret. */
export function sshConnection(ssh: SshArgs, node: Pick<RemoteNode, "publicIp" | "sshUser">): command.types.input.remote.ConnectionArgs {
    const privateKey = secretKeyOf(ssh);
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

/** The private key of `ssh` as a secret, one Output per SSH arguments object (shared by all its commands; Outputs are immutable). */
const secretKeys = new WeakMap<SshArgs, pulumi.Output<string>>();

function secretKeyOf(ssh: SshArgs): pulumi.Output<string> {
    let key = secretKeys.get(ssh);
    if (key === undefined) {
        key = pulumi.secret(ssh.privateKey);
        secretKeys.set(ssh, key);
    }
    return key;
}

/** The command line that runs a host script read from standard input as root: `bash -s`, or `sudo bash -s`. */
export function scriptRunner(sshUser: string): string {
    return sshUser === "root" ? "bash -s" : "sudo bash -s";
}

/** The command line that runs the same script as its undo: `env ACTION=delete bash -s`, or with `sudo` in front. */
export function scriptUndoer(sshUser: string): string {
    return sshUser === "root" ? "env ACTION=delete bash -s" : "sudo env ACTION=delete bash -s";
}
