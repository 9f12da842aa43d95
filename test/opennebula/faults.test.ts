import * as assert from "assert";
import { OneAuthenticationError, OneFaultError } from "../../components/opennebula/errors";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { hostProvider } from "../../components/opennebula/resources/host";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { OneDouble } from "../support/one-double";
import { Lifecycle, rejects } from "./harness";

// Injected faults against the double: transient ones are retried, the others fail clearly, and in
// every case what OpenNebula holds afterwards is exactly what Pulumi state holds.

describe("OpenNebula resources under injected faults", function () {
    let double: OneDouble;
    let cluster: Lifecycle;
    let host: Lifecycle;
    let vnet: Lifecycle;
    const previousTimeout = process.env.ONE_EDGE_CALL_TIMEOUT_MS;

    before(async () => {
        double = await OneDouble.start({ vnetCreateMs: 30, vnetDeleteMs: 30, hostMonitorMs: 20 });
        const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
        cluster = new Lifecycle(clusterProvider, connection);
        host = new Lifecycle(hostProvider, connection);
        vnet = new Lifecycle(virtualNetworkProvider, connection);
    });
    after(async () => {
        await double?.stop();
        if (previousTimeout === undefined) delete process.env.ONE_EDGE_CALL_TIMEOUT_MS;
        else process.env.ONE_EDGE_CALL_TIMEOUT_MS = previousTimeout;
    });
    beforeEach(() => {
        double.clearFaults();
        double.resetCounts();
    });
    afterEach(async () => {
        double.clearFaults();
        const held = double
            .objects()
            .filter((o) => !o.builtin)
            .map((o) => `${o.kind}/${o.id}`)
            .sort();
        const inState = [
            ...[...cluster.state.keys()].map((id) => `cluster/${id}`),
            ...[...host.state.keys()].map((id) => `host/${id}`),
            ...[...vnet.state.keys()].map((id) => `vnet/${id}`),
        ].sort();
        assert.deepStrictEqual(held, inState, "nothing orphaned: OpenNebula holds exactly what Pulumi state holds");
        for (const lifecycle of [host, vnet, cluster]) {
            for (const id of [...lifecycle.state.keys()]) await lifecycle.delete(id);
        }
    });

    it("retries a refused connection and creates the object once", async function () {
        double.inject({ kind: "refuse", forMs: 400 });
        const { outs } = await cluster.create({ name: "refused" });
        assert.strictEqual(outs.name, "refused");
        assert.strictEqual(double.calls("one.cluster.allocate"), 1);
    });

    for (const fault of [
        { kind: "reset", afterProcessing: true } as const,
        { kind: "http", status: 500, afterProcessing: true } as const,
    ]) {
        it(`never repeats an allocate that reached the server before a ${fault.kind} (looks it up by name instead)`, async function () {
            double.inject({ ...fault, method: "one.cluster.allocate" });
            const { id } = await cluster.create({ name: `reached-${fault.kind}` });
            assert.strictEqual(double.calls("one.cluster.allocate"), 1, "allocate sent once");
            assert.deepStrictEqual(
                double
                    .objects()
                    .filter((o) => o.kind === "cluster" && !o.builtin)
                    .map((o) => String(o.id)),
                [id],
            );
        });
    }

    it("retries an allocate after an HTTP 500 once a lookup by name shows nothing was created", async function () {
        double.inject({ kind: "http", status: 500, method: "one.vn.allocate" });
        const { outs } = await vnet.create({
            name: "net",
            vnMad: "bridge",
            template: { BRIDGE: "br0" },
            addressRanges: [{ TYPE: "IP4", IP: "10.1.0.2", SIZE: 2 }],
        });
        assert.strictEqual(outs.addressRanges.length, 1);
    });

    it("retries a read that times out, within the per-call timeout", async function () {
        const { id } = await cluster.create({ name: "slow" });
        process.env.ONE_EDGE_CALL_TIMEOUT_MS = "300";
        try {
            double.inject({ kind: "delay", ms: 1500, method: "one.cluster.info" });
            double.resetCounts();
            const read = await cluster.read(id);
            assert.strictEqual(read?.name, "slow");
            assert.strictEqual(double.calls("one.cluster.info"), 2, "one timed-out attempt, one retry");
        } finally {
            delete process.env.ONE_EDGE_CALL_TIMEOUT_MS;
        }
    });

    it("fails clearly on an OpenNebula error, without retrying, and creates nothing", async function () {
        double.inject({
            kind: "error",
            code: 8192,
            message: "[one.cluster.allocate] Error allocating cluster: disk full.",
            method: "one.cluster.allocate",
        });
        const err = await rejects(cluster.create({ name: "full" }), /^\[one\.cluster\.allocate\] INTERNAL \(8192\): .*disk full/);
        assert.ok(!err.message.includes(double.password));
        assert.strictEqual(double.calls("one.cluster.allocate"), 1);
    });

    it("fails clearly on an XML-RPC fault and does not retry it", async function () {
        const { id } = await cluster.create({ name: "faulted" });
        double.inject({ kind: "fault", faultCode: -501, faultString: "Type mismatch", method: "one.cluster.info" });
        double.resetCounts();
        const err = await rejects(cluster.read(id), /-501.*Type mismatch/);
        assert.ok(err instanceof OneFaultError);
        assert.strictEqual(double.calls("one.cluster.info"), 1);
    });

    it("deletes a cluster again when a step after its allocate fails (error on the Nth call)", async function () {
        double.inject({
            kind: "error",
            code: 2048,
            message: "[one.cluster.update] Cannot update template.",
            method: "one.cluster.update",
            onCall: 1,
        });
        await rejects(
            cluster.create({ name: "half", template: { RESERVED_CPU: "0" } }),
            /^cluster \d+ was created but .*Cannot update template.*deleted again/,
        );
    });

    it("deletes a host again when enabling it fails", async function () {
        double.inject({
            kind: "error",
            code: 2048,
            message: "[one.host.status] Cannot change state.",
            method: "one.host.status",
            onCall: 2,
        });
        await rejects(host.create({ name: "kvm-x" }), /^host \d+ was created but .*Cannot change state.*deleted again/);
    });

    it("deletes a network again (waiting for the asynchronous delete) when joining a cluster fails", async function () {
        const c = await cluster.create({ name: "join" });
        double.inject({
            kind: "error",
            code: 1024,
            message: "[one.cluster.addvnet] Error getting cluster [555].",
            method: "one.cluster.addvnet",
        });
        await rejects(
            vnet.create({ name: "joiner", vnMad: "bridge", template: { BRIDGE: "br0" }, clusterIds: [0, Number(c.id)] }),
            /^virtual network \d+ was created but .*Error getting cluster.*deleted again/,
        );
    });

    it("reports a wrong password as an authentication error without the password and without retrying", async function () {
        const wrong = new Lifecycle(clusterProvider, { endpoint: double.endpoint, username: "oneadmin", password: "not-the-password" });
        const err = await rejects(wrong.create({ name: "nope" }), /authenticat/i);
        assert.ok(err instanceof OneAuthenticationError);
        assert.ok(!err.message.includes("not-the-password"));
        assert.strictEqual(double.calls(), 1);
    });

    it("gives up after a bounded number of attempts when the front-end stays unreachable", async function () {
        double.inject({ kind: "refuse", forMs: 6_000 });
        const started = Date.now();
        await rejects(cluster.create({ name: "unreachable" }), /refused.*attempts/i);
        assert.ok(Date.now() - started < 5_900, "bounded retries end before the outage does");
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, 6_100 - (Date.now() - started))));
    });
});
