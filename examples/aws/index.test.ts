// A unit test of the program above, with the package's mocks: `npm test` (node's own test runner).
import * as assert from "node:assert";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { setEdgeMocks } from "pulumi-opennebula-edge/testing";

function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

test("two hosts; both Elastic IPs on kvm-a; a generated SSH key kept secret", async () => {
    pulumi.runtime.setAllConfig({
        "opennebula-edge-aws:oneEndpoint": "http://frontend:2633/RPC2",
        "opennebula-edge-aws:onePassword": "not-a-real-password",
        "opennebula-edge-aws:oneadminPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests oneadmin@frontend",
    }, ["opennebula-edge-aws:onePassword"]);
    const mocks = await setEdgeMocks({ project: "opennebula-edge-aws" });
    const program = await import("./index");

    assert.deepStrictEqual(Object.keys(await valueOf(program.hosts)), ["kvm-a", "kvm-b"]);
    assert.deepStrictEqual(Object.values(await valueOf(program.publicIpHosts)), ["kvm-a", "kvm-a"]);
    assert.strictEqual(typeof await valueOf(program.clusterId), "number");
    assert.strictEqual(await (program.sshPrivateKey as unknown as { isSecret: Promise<boolean> }).isSecret, true);
    assert.ok(mocks.resources.some((r) => r.type === "tls:index/privateKey:PrivateKey" && r.state.algorithm === "ED25519"));
});
