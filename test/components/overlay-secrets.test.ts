/** The overlay components keep the SSH private key secret and carry no private key material anywhere else. */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { EvpnFabric } from "../../components/overlay/evpn-fabric";
import { sshConnection } from "../../components/remote/ssh";
import { WireGuardMesh } from "../../components/overlay/wireguard-mesh";
import { COMMAND, SSH_KEY, connectionOf, decodeStdin, runOverlay, seedNodes, unwrapSecrets } from "./overlay-fixtures";

const BASTION_KEY = SSH_KEY.replace("test0nly", "bastion0");
/** A distinctive piece of each key, also searched for in encoded form. */
const KEY_MARKERS = ["test0nly0ssh0key0material", "bastion00ssh0key0material"];

describe("overlay secrets", function () {
    let program: Awaited<ReturnType<typeof runOverlay>>;

    before(async function () {
        program = await runOverlay(() => {
            const mesh = new WireGuardMesh("overlay", {
                ...seedNodes("ubuntu"),
                // A plain string on purpose: the components must wrap it themselves.
                ssh: { privateKey: SSH_KEY, bastion: { host: "13.58.199.98", privateKey: BASTION_KEY } },
            });
            new EvpnFabric("fabric", { mesh });
        });
    });

    it("marks the SSH connection secret on every command, and nothing else", function () {
        const commands = program.ofType(COMMAND);
        assert.equal(commands.length, 15);
        for (const command of commands) {
            assert.deepEqual(command.secretInputs, ["connection"], command.name);
            const connection = connectionOf(command);
            assert.equal(connection.privateKey, SSH_KEY);
            assert.equal(connection.proxy.privateKey, BASTION_KEY);
        }
    });

    it("keeps the keys out of every create and stdin, encoded or not", function () {
        for (const command of program.ofType(COMMAND)) {
            const run = decodeStdin(command.inputs.stdin);
            const texts = [command.inputs.create, command.inputs.stdin, run.script, ...Object.values(run.environment)];
            for (const text of texts) {
                for (const marker of KEY_MARKERS) {
                    assert.ok(!text.includes(marker), `${command.name}: no SSH key in create or stdin`);
                }
                assert.ok(!/PRIVATE KEY-----/.test(text), `${command.name}: no PEM block`);
            }
            assert.ok(["bash -s", "sudo bash -s"].includes(command.inputs.create), `${command.name}: the command line carries no values`);
        }
    });

    it("carries no private key material outside the connection: no PrivateKey line, no SSH key, anywhere in any input", function () {
        for (const resource of program.resources) {
            const { connection: _connection, ...inputs } = unwrapSecrets(resource.inputs);
            const decoded = typeof inputs.stdin === "string" ? decodeStdin(inputs.stdin) : undefined;
            const everything = JSON.stringify({ inputs, decoded });
            for (const marker of KEY_MARKERS) assert.ok(!everything.includes(marker), `${resource.name}: no SSH key`);
            assert.ok(!/^\s*PrivateKey\s*=/m.test(decoded?.environment.WG_CONFIG ?? ""), `${resource.name}: no WireGuard private key`);
            assert.ok(!/PRIVATE KEY/.test(everything), `${resource.name}: no PEM block`);
        }
    });

    it("logs the scripts' output, which never holds a secret, and does not pass earlier output through SSH variables", function () {
        for (const command of program.ofType(COMMAND)) {
            assert.equal(command.inputs.logging, "stdoutAndStderr");
            assert.equal(command.inputs.addPreviousOutputInEnv, false);
        }
    });

    it("wraps every private key as a secret itself, not relying on the command provider", async function () {
        for (const privateKey of [SSH_KEY, pulumi.output(SSH_KEY)]) {
            const connection = sshConnection(
                { privateKey, bastion: { host: "13.58.199.98" } },
                { publicIp: "18.134.246.200", sshUser: "root" },
            );
            assert.ok(await pulumi.isSecret(connection.privateKey as pulumi.Output<string>), "the host key");
            const proxy = connection.proxy as unknown as { privateKey: pulumi.Output<string> };
            assert.ok(await pulumi.isSecret(proxy.privateKey), "the bastion key defaults to the host key, secret too");
            assert.equal(connection.host, "18.134.246.200", "the address stays readable");
        }
    });
});
