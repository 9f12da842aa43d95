import * as assert from "assert";
import { measureWireGuardSize } from "../../scripts/bench/wireguard-size";

describe("bench wireguard-size: configuration per host, full mesh against hub", function () {
    it("counts a full mesh's peers and sessions: every node with every other", function () {
        const mesh = measureWireGuardSize("mesh", 10);
        assert.strictEqual(mesh.peersPerHost, 10);
        assert.strictEqual(mesh.peersOfIngress, 10);
        assert.strictEqual(mesh.sessions, (11 * 10) / 2);
        assert.strictEqual(mesh.nodesChangedByOneMoreHost, 12, "every existing node and the new one");
        assert.strictEqual(mesh.keepalivesPerSecond.toFixed(6), (100 / 25).toFixed(6), "10 hosts × 10 peers every 25 s");
    });

    it("counts a hub's: hosts peer only with the ingress, and a new host reconfigures only the ingress", function () {
        const hub = measureWireGuardSize("hub", 10);
        assert.strictEqual(hub.peersPerHost, 1);
        assert.strictEqual(hub.peersOfIngress, 10);
        assert.strictEqual(hub.sessions, 10);
        assert.strictEqual(hub.nodesChangedByOneMoreHost, 2);
    });

    it("grows a host's config linearly with the fleet in a mesh, and not at all in a hub", function () {
        const [mesh10, mesh100] = [measureWireGuardSize("mesh", 10), measureWireGuardSize("mesh", 100)];
        const growth = mesh100.hostConfigBytes / mesh10.hostConfigBytes;
        assert.ok(growth > 8 && growth < 11, `mesh: ${mesh10.hostConfigBytes} → ${mesh100.hostConfigBytes} bytes`);
        const [hub10, hub100] = [measureWireGuardSize("hub", 10), measureWireGuardSize("hub", 100)];
        assert.ok(
            Math.abs(hub100.hostConfigBytes - hub10.hostConfigBytes) <= 2,
            `hub: ${hub10.hostConfigBytes} → ${hub100.hostConfigBytes} bytes`,
        );
        assert.strictEqual(hub100.ingressConfigBytes, mesh100.ingressConfigBytes, "the ingress peers with every host either way");
        assert.ok(hub100.hostStdinBytes > hub100.hostConfigBytes, "stdin carries the script and the base64 config");
        // What a mesh pushes on top of a hub is (at least) every host's larger configuration; the
        // script and its prelude are the same either way.
        const extraConfig = 100 * (mesh100.hostConfigBytes - hub100.hostConfigBytes);
        assert.ok(
            mesh100.totalStdinBytes - hub100.totalStdinBytes > extraConfig,
            `a mesh pushes more per run: ${mesh100.totalStdinBytes} against ${hub100.totalStdinBytes} bytes (configurations ${extraConfig} bytes larger)`,
        );
    });
});
