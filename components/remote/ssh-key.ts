/**
 * The SSH key pair machines are created with and reached with: the user's, or one generated with
 * `@pulumi/tls` (ED25519) when the user gives none. A generated private key exists only in state,
 * as a secret (`pulumi stack output --show-secrets sshPrivateKey` fetches it for `ssh`); it is
 * never put on a command line.
 */
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ConfigError } from "../validation";

/** A key pair as the user may give it: both halves, or neither (one is generated). */
export interface SshKeyPairArgs {
    /** OpenSSH public key line installed on the machines. Default: generated, with `privateKey`. */
    publicKey?: pulumi.Input<string>;
    /** The matching private key (OpenSSH PEM); kept secret. Default: generated, with `publicKey`. */
    privateKey?: pulumi.Input<string>;
}

/** The key pair in use. */
export interface SshKeyPair {
    /** OpenSSH public key line. */
    publicKey: pulumi.Output<string>;
    /** The private key (OpenSSH PEM), secret. */
    privateKey: pulumi.Output<string>;
    /** The generated key, when the user gave none. */
    generated?: tls.PrivateKey;
}

/** Fails unless both halves are given, or neither; `field` names the argument holding them. */
export function checkSshKeyPairArgs(field: string, keys: SshKeyPairArgs | undefined): void {
    if (keys?.publicKey === "" || keys?.publicKey === null)
        throw new ConfigError(
            `${field}.publicKey`,
            "is required: the OpenSSH public key the machines are created with (or give neither key, and a key pair is generated)",
        );
    if (keys?.privateKey === "" || keys?.privateKey === null)
        throw new ConfigError(
            `${field}.privateKey`,
            "is required: the OpenSSH private key every machine accepts, kept secret (or give neither key, and a key pair is generated)",
        );
    const hasPublic = keys?.publicKey !== undefined;
    const hasPrivate = keys?.privateKey !== undefined;
    if (hasPublic && !hasPrivate)
        throw new ConfigError(
            `${field}.privateKey`,
            "is required with publicKey: the private key of that pair (or give neither, and a key pair is generated)",
        );
    if (hasPrivate && !hasPublic)
        throw new ConfigError(
            `${field}.publicKey`,
            "is required with privateKey: the public key of that pair (or give neither, and a key pair is generated)",
        );
}

/**
 * The user's key pair, or a new ED25519 key `name` (a `tls.PrivateKey`, child of `parent`) when
 * the user gave none. Call {@link checkSshKeyPairArgs} first.
 */
export function sshKeyPair(name: string, keys: SshKeyPairArgs | undefined, opts: pulumi.CustomResourceOptions = {}): SshKeyPair {
    if (keys?.publicKey !== undefined && keys.privateKey !== undefined) {
        return { publicKey: pulumi.output(keys.publicKey), privateKey: pulumi.secret(keys.privateKey) };
    }
    const generated = new tls.PrivateKey(
        name,
        { algorithm: "ED25519" },
        { ...opts, additionalSecretOutputs: ["privateKeyOpenssh", "privateKeyPem", "privateKeyPemPkcs8"] },
    );
    return {
        publicKey: generated.publicKeyOpenssh.apply((key) => key.trim()),
        privateKey: pulumi.secret(generated.privateKeyOpenssh),
        generated,
    };
}
