/**
 * The values the tests share: the front-end's oneadmin key, an OpenNebula password, test SSH keys,
 * and {@link assertNoSecrets}, the one check that a secret does not appear where it must not
 * (state outside a secret, a command line, standard input, user data, a log, an error message).
 */
import * as assert from "assert";

/** The front-end's oneadmin public key the components authorize on every host. */
export const ONEADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests oneadmin@frontend";

/** The secrets the tests set, as `pulumi config set --secret` would. Every test checks they never leak. */
export const SECRETS = {
    onePassword: "one-Secret-Passw0rd-for-stack-tests",
    sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nc3RhY2stcHJvZ3JhbS10ZXN0LWtleS1tYXRlcmlhbA==\n-----END OPENSSH PRIVATE KEY-----\n",
} as const;

/** An OpenSSH-style PEM private key around `body` (base64): what `ssh.privateKey` takes. */
export function privateKeyPem(body: string): string {
    return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}\n-----END OPENSSH PRIVATE KEY-----`;
}

/**
 * Fails when any secret shows in `value` (a string as it is, anything else as JSON), naming
 * `where` but never the secret. A multi-line secret (a PEM key) is looked for line by line, so
 * that it is found inside JSON or a log too, where its line breaks are escaped or re-wrapped.
 */
export function assertNoSecrets(value: unknown, secrets: readonly string[], where: string): void {
    const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
    secrets.forEach((secret, index) => {
        for (const part of secretParts(secret))
            assert.ok(!text.includes(part), `${where}: shows secret #${index} (${part.length} characters of it)`);
    });
}

/** The pieces of a secret to look for: its lines, less PEM armour and blank lines. */
function secretParts(secret: string): string[] {
    assert.ok(secret.length >= 4, "a secret to look for has at least 4 characters");
    const lines = secret
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("-----"));
    return lines.length > 0 ? lines : [secret];
}
