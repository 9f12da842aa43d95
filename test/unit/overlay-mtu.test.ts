/** components/overlay/mtu.ts: the 1500 → 1420 → 1370 chain and the errors that name the field. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { IPV6_MIN_MTU, VXLAN_OVERHEAD, overlayMtu } from "../../components/overlay/mtu";
import { ConfigError } from "../../components/validation";

function assertFieldError(run: () => unknown, field: string, pattern?: RegExp): void {
    assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.equal(error.field, field);
        assert.ok(error.message.startsWith(`${field}: `), error.message);
        if (pattern) assert.match(error.message, pattern);
        return true;
    });
}

describe("overlay MTU", function () {
    it("derives 1420 for wg0 and 1370 for VXLAN and guests from a 1500 underlay (IPv6 worst case by default)", function () {
        assert.deepEqual(overlayMtu(), {
            underlayMtu: 1500,
            wireguardMtu: 1420,
            vxlanMtu: 1370,
            guestMtu: 1370,
            wireguardOverhead: 80,
            vxlanOverhead: 50,
        });
    });

    it("uses the 60-byte WireGuard overhead when every endpoint is IPv4", function () {
        const mtu = overlayMtu({ outerIpVersion: 4 });
        assert.equal(mtu.wireguardMtu, 1440);
        assert.equal(mtu.vxlanMtu, 1390);
    });

    it("treats outer IPv6 like the default", function () {
        assert.deepEqual(overlayMtu({ outerIpVersion: 6 }), overlayMtu({ outerIpVersion: "any" }));
    });

    it("follows a jumbo underlay (AWS 9001 inside a VPC)", function () {
        assert.equal(overlayMtu({ underlayMtu: 9001, outerIpVersion: 4 }).guestMtu, 9001 - 60 - 50);
    });

    it("keeps every layer exactly one overhead below the previous one, for every workable underlay", function () {
        fc.assert(
            fc.property(
                fc.integer({ min: 1410, max: 65535 }),
                fc.constantFrom<4 | 6 | "any">(4, 6, "any"),
                (underlayMtu, outerIpVersion) => {
                    const mtu = overlayMtu({ underlayMtu, outerIpVersion });
                    assert.equal(underlayMtu - mtu.wireguardMtu, outerIpVersion === 4 ? 60 : 80);
                    assert.equal(mtu.wireguardMtu - mtu.vxlanMtu, VXLAN_OVERHEAD);
                    assert.equal(mtu.guestMtu, mtu.vxlanMtu);
                    assert.ok(mtu.guestMtu >= IPV6_MIN_MTU);
                },
            ),
        );
    });

    it("rejects an underlay whose guest MTU would fall below 1280 for IPv6 guests, naming the minimum", function () {
        assert.equal(overlayMtu({ underlayMtu: 1410 }).guestMtu, 1280);
        assertFieldError(() => overlayMtu({ underlayMtu: 1409 }), "underlayMtu", /at least 1410.*guest MTU would be 1279/);
        assertFieldError(() => overlayMtu({ underlayMtu: 1389, outerIpVersion: 4 }), "underlayMtu", /at least 1390/);
    });

    it("allows smaller guest MTUs for IPv4-only guests, down to 576", function () {
        assert.equal(overlayMtu({ underlayMtu: 686, outerIpVersion: 4, guestIpv6: false }).guestMtu, 576);
        assertFieldError(() => overlayMtu({ underlayMtu: 685, outerIpVersion: 4, guestIpv6: false }), "underlayMtu", /at least 686/);
    });

    it("requires 1280 on the underlay when it may carry IPv6", function () {
        assertFieldError(() => overlayMtu({ underlayMtu: 1000, guestIpv6: false }), "underlayMtu", /1280.*IPv6 minimum link MTU/);
    });

    it("rejects non-integer and out-of-range values, naming the field", function () {
        fc.assert(
            fc.property(fc.double({ noInteger: true }), (value) => {
                assertFieldError(() => overlayMtu({ underlayMtu: value }), "underlayMtu", /integer/);
            }),
        );
        assertFieldError(() => overlayMtu({ underlayMtu: "1500" as unknown as number }), "underlayMtu", /"1500"/);
        assertFieldError(() => overlayMtu({ underlayMtu: 70000 }), "underlayMtu", /65535/);
        assertFieldError(() => overlayMtu({ outerIpVersion: 5 as unknown as 4 }), "outerIpVersion", /4, 6 or "any"/);
        assertFieldError(() => overlayMtu({ guestIpv6: "yes" as unknown as boolean }), "guestIpv6", /true or false/);
    });
});
