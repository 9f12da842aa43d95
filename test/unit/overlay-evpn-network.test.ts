/** components/overlay/evpn-network.ts: the OpenNebula vxlan/evpn network template and its leases. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { ConfigError } from "../../components/validation";
import { evpnNetworkTemplate, leaseAt, networkCidrOf } from "../../components/overlay/evpn-network";

function assertFieldError(run: () => unknown, field: string, pattern?: RegExp): void {
    assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.equal(error.field, field, error.message);
        if (pattern) assert.match(error.message, pattern);
        return true;
    });
}

describe("overlay EVPN network", function () {
    it("renders the seed's network with an explicit VNI, local_ip TEP and the MTU chain", function () {
        assert.deepEqual(evpnNetworkTemplate({ name: "private_evpn-vxlan", vlanId: 100 }), {
            NAME: "private_evpn-vxlan",
            VN_MAD: "vxlan",
            VXLAN_MODE: "evpn",
            VXLAN_TEP: "local_ip",
            IP_LINK_CONF: "nolearning=",
            PHYDEV: "wg0",
            VLAN_ID: "100",
            MTU: "1370",
            GUEST_MTU: "1370",
            NETWORK_ADDRESS: "172.17.2.0",
            NETWORK_MASK: "255.255.255.0",
            GATEWAY: "172.17.2.1",
            DNS: "1.1.1.1",
            AR: { TYPE: "IP4", IP: "172.17.2.1", SIZE: "20" },
        });
    });

    it("omits NAME when not given and makes every value a string", function () {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: 16777215 }), fc.integer({ min: 1, max: 254 }), (vlanId, size) => {
                const template = evpnNetworkTemplate({ vlanId, addressRange: { size } });
                assert.ok(!("NAME" in template));
                for (const [key, value] of Object.entries(template)) {
                    if (key === "AR") {
                        assert.deepEqual(
                            Object.values(value).map((v) => typeof v),
                            ["string", "string", "string"],
                        );
                    } else {
                        assert.equal(typeof value, "string", key);
                    }
                }
                assert.equal(template.VLAN_ID, String(vlanId));
            }),
        );
    });

    it("uses the AR's first address as GATEWAY (the virtual router's lease)", function () {
        const template = evpnNetworkTemplate({
            vlanId: 7,
            network: "10.50.0.0/20",
            addressRange: { ip: "10.50.1.10", size: 100 },
            dns: ["9.9.9.9", "1.1.1.1"],
        });
        assert.equal(template.GATEWAY, "10.50.1.10");
        assert.equal(template.NETWORK_MASK, "255.255.240.0");
        assert.equal(template.DNS, "9.9.9.9 1.1.1.1");
        assert.equal(networkCidrOf(template), "10.50.0.0/20");
    });

    it("takes MTU and GUEST_MTU from the MTU module", function () {
        const template = evpnNetworkTemplate({ vlanId: 7, mtu: { underlayMtu: 9001, outerIpVersion: 4 } });
        assert.equal(template.MTU, "8891");
        assert.equal(template.GUEST_MTU, "8891");
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 7, mtu: { underlayMtu: 1400 } }), "underlayMtu");
    });

    it("rejects VLAN_IDs outside 1..16777215", function () {
        for (const vlanId of [0, -5, 16777216, 2.5]) {
            assertFieldError(() => evpnNetworkTemplate({ vlanId }), "vlanId", /1 to 16777215/);
        }
    });

    it("rejects an AR outside its network, larger than it, or starting on the network address", function () {
        assertFieldError(
            () => evpnNetworkTemplate({ vlanId: 1, addressRange: { ip: "172.17.3.1" } }),
            "addressRange.ip",
            /not a usable address of network 172\.17\.2\.0\/24/,
        );
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 1, addressRange: { ip: "172.17.2.0" } }), "addressRange.ip");
        assertFieldError(
            () => evpnNetworkTemplate({ vlanId: 1, addressRange: { ip: "172.17.2.250", size: 20 } }),
            "addressRange.size",
            /end at 172\.17\.3\.13.*172\.17\.2\.254/,
        );
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 1, addressRange: { size: 255 } }), "addressRange.size", /1 to 254/);
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 1, addressRange: { size: 0 } }), "addressRange.size");
    });

    it("rejects a PHYDEV.VLAN_ID device name over 15 characters", function () {
        assert.equal(evpnNetworkTemplate({ vlanId: 16777215 }).PHYDEV, "wg0");
        assertFieldError(
            () => evpnNetworkTemplate({ vlanId: 1000000, phydev: "wg-edge0" }),
            "phydev",
            /"wg-edge0\.1000000" .*16 characters; Linux allows 15/,
        );
    });

    it("rejects bad networks, DNS servers and names", function () {
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 1, network: "172.17.2.1/24" }), "network", /host bits/);
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 1, dns: ["one.one.one.one"] }), "dns[0]");
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 1, dns: [] }), "dns");
        assertFieldError(() => evpnNetworkTemplate({ vlanId: 1, name: 'bad"name' }), "name");
    });

    describe("leases", function () {
        it("derives IP and MAC of each lease; lease 0 is the gateway", function () {
            const template = evpnNetworkTemplate({ vlanId: 100 });
            assert.deepEqual(leaseAt(template, 0), { ip: "172.17.2.1", mac: "02:00:ac:11:02:01" });
            assert.deepEqual(leaseAt(template, 19), { ip: "172.17.2.20", mac: "02:00:ac:11:02:14" });
            assertFieldError(() => leaseAt(template, 20), "index", /0 to 19/);
        });
    });
});
