/** components/overlay/vxlan-device.ts: the ip commands of OpenNebula's vxlan driver in evpn mode. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { ConfigError } from "../../components/validation";
import { evpnNetworkTemplate } from "../../components/overlay/evpn-network";
import { parseIpLinkConf, planVxlanDevice } from "../../components/overlay/vxlan-device";

function assertFieldError(run: () => unknown, field: string, pattern?: RegExp): void {
    assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.equal(error.field, field, error.message);
        if (pattern) assert.match(error.message, pattern);
        return true;
    });
}

describe("overlay VXLAN device plan", function () {
    it("creates the bridge, then wg0.<VNI> bound to the wg address with nolearning and ttl 16, then enslaves it", function () {
        const plan = planVxlanDevice(evpnNetworkTemplate({ vlanId: 4100 }), "192.168.0.2");
        assert.equal(plan.bridge, "onebr.4100");
        assert.equal(plan.device, "wg0.4100");
        assert.deepEqual(
            plan.create.map((argv) => argv.join(" ")),
            [
                "ip link add name onebr.4100 type bridge",
                "ip link set onebr.4100 up",
                "ip link add wg0.4100 mtu 1370 type vxlan id 4100 ttl 16 local 192.168.0.2 nolearning",
                "ip link set wg0.4100 up",
                "ip link set wg0.4100 master onebr.4100",
            ],
        );
        assert.deepEqual(
            plan.remove.map((argv) => argv.join(" ")),
            ["ip link delete wg0.4100", "ip link delete onebr.4100"],
        );
    });

    it("passes no dstport unless IP_LINK_CONF asks (kernel default 8472 everywhere)", function () {
        const plan = planVxlanDevice(evpnNetworkTemplate({ vlanId: 2 }), "192.168.0.2");
        assert.ok(!plan.create[2].includes("dstport"));
        const withPort = planVxlanDevice(
            { ...evpnNetworkTemplate({ vlanId: 2 }), IP_LINK_CONF: "dstport=4789,nolearning=" },
            "192.168.0.2",
        );
        assert.deepEqual(withPort.create[2].slice(-3), ["dstport", "4789", "nolearning"]);
    });

    it("omits ttl when the conf key is removed and honours BRIDGE", function () {
        const plan = planVxlanDevice({ ...evpnNetworkTemplate({ vlanId: 2 }), BRIDGE: "br-evpn" }, "192.168.0.2", { ttl: null });
        assert.ok(!plan.create[2].includes("ttl"));
        assert.equal(plan.create[0][4], "br-evpn");
    });

    it("binds the device to the given address for any VNI", function () {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 16777215 }), fc.tuple(fc.nat(255), fc.nat(255)), (vni, [c, d]) => {
                const ip = `10.200.${c}.${d}`;
                const plan = planVxlanDevice(evpnNetworkTemplate({ vlanId: vni }), ip);
                const add = plan.create[2];
                assert.equal(add[add.indexOf("id") + 1], String(vni));
                assert.equal(add[add.indexOf("local") + 1], ip);
                assert.equal(plan.device, `wg0.${vni}`);
                assert.ok(plan.device.length <= 15 && plan.bridge.length <= 15);
            }),
        );
    });

    it("turns IP_LINK_CONF into arguments like the driver (empty value = bare flag, true/false = on/off)", function () {
        assert.deepEqual(parseIpLinkConf("nolearning="), ["nolearning"]);
        assert.deepEqual(parseIpLinkConf("udpcsum=true,learning=false"), ["udpcsum", "on", "learning", "off"]);
        assert.deepEqual(parseIpLinkConf(""), []);
        assertFieldError(() => parseIpLinkConf("nolearning=;reboot"), "IP_LINK_CONF", /entry 1/);
    });

    it("rejects interface names over 15 characters and bad attributes, naming them", function () {
        const network = evpnNetworkTemplate({ vlanId: 1000000 });
        assertFieldError(
            () => planVxlanDevice({ ...network, PHYDEV: "wireguard0" }, "192.168.0.2"),
            "PHYDEV",
            /"wireguard0\.1000000" has 18 characters.*limited to 15/,
        );
        assertFieldError(() => planVxlanDevice({ ...network, BRIDGE: "bridge-for-evpn-1" }, "192.168.0.2"), "BRIDGE", /15/);
        assertFieldError(() => planVxlanDevice({ ...network, VLAN_ID: "abc" }, "192.168.0.2"), "VLAN_ID");
        assertFieldError(() => planVxlanDevice({ ...network, VLAN_ID: "0" }, "192.168.0.2"), "VLAN_ID");
        assertFieldError(() => planVxlanDevice({ ...network, MTU: "" }, "192.168.0.2"), "MTU");
        assertFieldError(() => planVxlanDevice(network, "192.168.0"), "localIp");
        assertFieldError(() => planVxlanDevice(network, "192.168.0.2", { ttl: 0 }), "ttl");
    });
});
