/**
 * The example stacks (`Pulumi.<stack>.yaml`) through the main program and Pulumi's provider host:
 * the program runs under mocks whose engine side is the stand-in engine, so every OpenNebula
 * resource the components register is checked and created through the host against the double (the
 * real IDs flow on to the resources that depend on them) — the exact inputs the components produce
 * today, read at test time. Then a refresh, an up with nothing changed, and a destroy.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import stackProgram = require("../../programs/main");
import { MockCloud } from "../programs/stack-support";
import { DYNAMIC_PREFIX, plainStrings } from "./engine";
import { programDirectory } from "./provider-host";
import type { Registration } from "./registrations";
import { register } from "./registrations";
import type { EngineTarget } from "./target";
import { VERSIONS, heldObjects, startEngineTarget, sweep } from "./target";

/** The example stacks of the repository, from its `Pulumi.<stack>.yaml` files. */
function exampleStacks(): string[] {
    return fs
        .readdirSync(programDirectory())
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((stack): stack is string => stack !== undefined)
        .sort();
}

const SSH_PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZW5naW5lLXN1aXRlLWtleQ==\n-----END OPENSSH PRIVATE KEY-----\n";

/**
 * Sets the stack's configuration as the engine passes it (every value as text), pointing the
 * OpenNebula endpoint at the double and setting the secrets a user sets with `--secret`.
 */
function setStackConfig(stack: string, t: EngineTarget): void {
    const file = path.join(programDirectory(), `Pulumi.${stack}.yaml`);
    const config = (parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
    const text: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) text[key] = typeof value === "string" ? value : JSON.stringify(value);
    const opennebula = JSON.parse(text["opennebula-edge:opennebula"]) as Record<string, unknown>;
    text["opennebula-edge:opennebula"] = JSON.stringify({ ...opennebula, endpoint: t.double.endpoint, username: t.double.username });
    text["opennebula-edge:onePassword"] = t.double.password;
    text["opennebula-edge:sshPrivateKey"] = SSH_PRIVATE_KEY;
    pulumi.runtime.setAllConfig(text, ["opennebula-edge:onePassword", "opennebula-edge:sshPrivateKey"]);
}

for (const version of VERSIONS) {
    describe(`Engine conformance: the example stacks' OpenNebula resources through the provider host (OpenNebula ${version} double)`, function () {
        this.timeout(180_000);
        for (const stack of exampleStacks()) {
            describe(`Pulumi.${stack}.yaml`, function () {
                let t: EngineTarget;
                let initial: string[];
                before(async () => {
                    t = await startEngineTarget(version);
                    initial = heldObjects(t.double);
                });
                after(async () => {
                    if (!t) return;
                    try {
                        await sweep(t, initial);
                    } finally {
                        pulumi.runtime.setAllConfig({}, []);
                        await t.stop();
                    }
                });

                it("creates every OpenNebula object from the program's own inputs, refreshes and re-runs with no change, and destroys them all", async function () {
                    setStackConfig(stack, t);
                    const cloud = new MockCloud();
                    const dynamic: Registration[] = [];
                    const failures: string[] = [];
                    await register(() => stackProgram(), {
                        registrar: async (registration, args) => {
                            if (!registration.type.startsWith(DYNAMIC_PREFIX)) {
                                return { id: `${args.name}-id`, outputs: { ...args.inputs, ...cloud.runOptions.outputs!(args) } };
                            }
                            dynamic.push(registration);
                            try {
                                const state = await t.engine.up(registration);
                                return { id: state.id, outputs: state.outputs };
                            } catch (err) {
                                failures.push(`${registration.name}: ${(err as Error).message}`);
                                throw err;
                            }
                        },
                        call: cloud.runOptions.call,
                    });
                    assert.deepStrictEqual(failures, [], "every OpenNebula resource was created");
                    assert.ok(dynamic.length > 0, "the stack registers OpenNebula resources");
                    assert.strictEqual(t.engine.state.size, dynamic.length, "every one was created");

                    // The stack's secrets, as a user sets them with `pulumi config set --secret`.
                    const secrets = [t.double.password, SSH_PRIVATE_KEY.split("\n")[1]];
                    for (const registration of dynamic) {
                        const leaks = plainStrings(t.engine.storedOutputs(registration.urn)).filter(({ text }) =>
                            secrets.some((s) => text.includes(s)),
                        );
                        assert.deepStrictEqual(leaks, [], `${registration.name}: no secret in plain text in its stored outputs`);
                    }
                    for (const registration of dynamic)
                        assert.ok(await t.engine.refresh(registration.urn), `${registration.name} is found by a refresh`);
                    for (const registration of dynamic) {
                        const diff = await t.engine.diffUnchanged(registration.urn, registration);
                        assert.strictEqual(diff.changes, "none", `${registration.name}: an up with nothing changed changes nothing`);
                    }
                    await t.engine.destroyAll();
                    assert.deepStrictEqual(heldObjects(t.double), initial, "the destroy left nothing behind");
                });
            });
        }
    });
}
