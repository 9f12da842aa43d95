/**
 * SSH keys with @pulumi/tls: a cloud component and the stack program generate an ED25519 key pair
 * when the user gives none — kept secret, never on a command line or in a command's input other
 * than its (secret) connection, the public key as an output — and generate nothing when given one.
 */
import * as assert from "assert";
import * as aws from "@pulumi/aws";
import * as digitalocean from "@pulumi/digitalocean";
import * as pulumi from "@pulumi/pulumi";
import { AwsEdgeCluster } from "../../components/clouds/aws";
import { DigitalOceanEdgeCluster } from "../../components/clouds/digitalocean";
import { EdgeMocks, mockSshKeyPair } from "../../components/testing";
import { stackProgram } from "../../programs/main/program";
import { SECRETS, copyOf, runWithConfig, stackFileConfig } from "../programs/stack-support";
import type { RecordedProgram } from "../support/pulumi-mocks";
import { runProgram } from "../support/pulumi-mocks";
import { unsecret } from "../support/stdin";
import { ONEADMIN_KEY } from "../support/fixtures";

const TLS_KEY = "tls:index/privateKey:PrivateKey";
const opennebula = {
    frontendSshPublicKey: ONEADMIN_KEY,
    connection: { endpoint: "http://fe:2633/RPC2", username: "oneadmin", password: pulumi.secret("pw") },
};

/** The private key's base64 body: what must never appear outside a secret. */
function keyBody(privateKey: string): string {
    return privateKey.split("\n")[1];
}

function isSecret<T>(output: pulumi.Output<T>): Promise<boolean> {
    return (output as unknown as { isSecret: Promise<boolean> }).isSecret;
}

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** Every command: its connection is secret, and the key is in no other input. */
function assertKeyOnlyInSecretConnections(program: RecordedProgram, body: string): void {
    const commands = program.ofType("command:remote:Command");
    assert.ok(commands.length > 0);
    for (const command of commands) {
        assert.ok(command.secretInputs.includes("connection"), `${command.name}: the connection is secret`);
        assert.strictEqual(unsecret(command.inputs.connection).privateKey.includes(body), true, `${command.name} connects with the key`);
        assert.ok(!String(command.inputs.create).includes(body), `${command.name}: not on the command line`);
        assert.ok(!String(command.inputs.stdin ?? "").includes(body), `${command.name}: not in standard input`);
    }
    for (const resource of program.resources.filter((r) => r.type !== "command:remote:Command" && r.type !== TLS_KEY)) {
        assert.ok(!JSON.stringify(resource.inputs).includes(body), `${resource.name}: the private key is in no other resource's inputs`);
    }
}

describe("SSH keys generated with @pulumi/tls", function () {
    this.timeout(60_000);

    it("a cloud component without a key pair generates an ED25519 key, uses its public key and keeps the private key secret", async function () {
        const mocks = new EdgeMocks();
        let edge!: DigitalOceanEdgeCluster;
        const program = await runProgram(
            () => {
                const provider = new digitalocean.Provider("do", { token: "t" });
                edge = new DigitalOceanEdgeCluster("edge", { provider, region: "ams3", hostCount: 2, opennebula });
            },
            { outputs: (args) => mocks.newResource(args).state, call: (args) => mocks.call(args) },
        );
        const [key] = program.ofType(TLS_KEY);
        assert.ok(key, "a tls.PrivateKey is registered");
        assert.strictEqual(key.name, "edge-ssh-private-key");
        assert.strictEqual(key.parent, "edge");
        assert.strictEqual(key.inputs.algorithm, "ED25519");
        const generated = mockSshKeyPair("edge-ssh-private-key");
        assert.strictEqual(program.named("edge-ssh-private-key").inputs.algorithm, "ED25519");
        assert.strictEqual(
            program.ofType("digitalocean:index/sshKey:SshKey")[0].inputs.publicKey,
            generated.publicKeyOpenssh.trim(),
            "the cloud gets the generated public key",
        );
        assert.strictEqual(await valueOf(edge.sshPublicKey), generated.publicKeyOpenssh.trim());
        assert.strictEqual(await isSecret(edge.sshPrivateKey), true, "the private key output is secret");
        assert.strictEqual(await valueOf(edge.sshPrivateKey), generated.privateKeyOpenssh);
        assertKeyOnlyInSecretConnections(program, keyBody(generated.privateKeyOpenssh));
    });

    it("a cloud component given a key pair generates none and uses it", async function () {
        const mocks = new EdgeMocks();
        const privateKey = "-----BEGIN OPENSSH PRIVATE KEY-----\nZ2l2ZW4ta2V5LW1hdGVyaWFs\n-----END OPENSSH PRIVATE KEY-----\n";
        const publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyForTheAwsTests me@laptop";
        let edge!: AwsEdgeCluster;
        const program = await runProgram(
            () => {
                const provider = new aws.Provider("aws", { region: "eu-west-2" });
                edge = new AwsEdgeCluster("london", {
                    provider,
                    region: "eu-west-2",
                    ssh: { publicKey, privateKey: pulumi.secret(privateKey) },
                    opennebula,
                });
            },
            { outputs: (args) => mocks.newResource(args).state, call: (args) => mocks.call(args) },
        );
        assert.deepStrictEqual(program.ofType(TLS_KEY), [], "no key is generated");
        assert.strictEqual(program.named("london-key").inputs.publicKey, publicKey);
        assert.strictEqual(await isSecret(edge.sshPrivateKey), true);
        assertKeyOnlyInSecretConnections(program, keyBody(privateKey));
    });

    it("the stack program without ssh.publicKey and sshPrivateKey generates one key for every cloud and the overlay, and exports both halves", async function () {
        const config = copyOf(stackFileConfig("multi-edge")) as Record<string, any>;
        delete config["opennebula-edge:ssh"].publicKey;
        let outputs!: Awaited<ReturnType<typeof stackProgram>>;
        const { program } = await runWithConfig(
            config,
            async () => {
                outputs = await stackProgram();
            },
            { onePassword: SECRETS.onePassword },
        );
        const keys = program.ofType(TLS_KEY);
        assert.deepStrictEqual(
            keys.map((k) => [k.name, k.inputs.algorithm]),
            [["ssh-private-key", "ED25519"]],
            "one key for the whole stack",
        );
        const generated = mockSshKeyPair("ssh-private-key");
        assert.strictEqual(await valueOf(outputs.sshPublicKey), generated.publicKeyOpenssh.trim());
        assert.ok(outputs.sshPrivateKey, "the private key is a stack output");
        assert.strictEqual(
            await isSecret(outputs.sshPrivateKey!),
            true,
            "… and a secret one (pulumi stack output --show-secrets sshPrivateKey)",
        );
        assert.deepStrictEqual(
            program.ofType("aws:ec2/keyPair:KeyPair").map((k) => k.inputs.publicKey),
            [generated.publicKeyOpenssh.trim(), generated.publicKeyOpenssh.trim()],
        );
        assertKeyOnlyInSecretConnections(program, keyBody(generated.privateKeyOpenssh));
        assert.ok(
            program.ofType("command:remote:Command").some((c) => c.name.startsWith("overlay-")),
            "the overlay reaches the hosts with the same key",
        );
    });

    it("the stack program given a key pair generates none and exports no private key", async function () {
        let outputs!: Awaited<ReturnType<typeof stackProgram>>;
        const { program } = await runWithConfig(stackFileConfig("multi-edge"), async () => {
            outputs = await stackProgram();
        });
        assert.deepStrictEqual(program.ofType(TLS_KEY), []);
        assert.strictEqual(outputs.sshPrivateKey, undefined);
        assert.match(await valueOf(outputs.sshPublicKey), /^ssh-ed25519 /);
        assertKeyOnlyInSecretConnections(program, keyBody(SECRETS.sshPrivateKey));
    });
});
