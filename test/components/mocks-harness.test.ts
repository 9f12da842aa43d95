import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/opennebula/resources/cluster";
import { Host } from "../../components/opennebula/resources/host";
import { runProgram } from "../support/pulumi-mocks";

describe("pulumi-mocks harness", function () {
    it("records types, parents, dependencies (explicit and through inputs) and secret inputs", async function () {
        const program = await runProgram(() => {
            const parent = new pulumi.ComponentResource("test:index:Parent", "p");
            const cluster = new Cluster("c", { connection: { password: pulumi.secret("pw") } }, { parent });
            const host = new Host("h", { clusterId: cluster.oneId }, { parent });
            new Host("h2", {}, { parent, dependsOn: [host] });
        });
        assert.deepStrictEqual(
            program.resources.map((r) => r.name),
            ["p", "c", "h", "h2"],
        );
        assert.strictEqual(program.named("c").type, "pulumi-nodejs:dynamic/opennebula-edge:Cluster");
        assert.strictEqual(program.named("h").parent, "p");
        assert.deepStrictEqual(program.named("h").dependsOn, ["c"]);
        assert.ok(program.dependsOn("h2", "c"), "transitively");
        assert.ok(!program.dependsOn("c", "h"));
        assert.deepStrictEqual(program.named("c").secretInputs, ["connection"]);
        assert.strictEqual(program.criticalPath(), 3);
    });

    it("starts every program from a clean slate", async function () {
        await runProgram(() => new Cluster("first", {}));
        const second = await runProgram(() => new Cluster("second", {}));
        assert.deepStrictEqual(
            second.resources.map((r) => r.name),
            ["second"],
        );
    });
});
