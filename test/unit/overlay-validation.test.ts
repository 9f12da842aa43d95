/** components/overlay/validation.ts: whole-overlay checks across WireGuard and the EVPN networks. */
import { strict as assert } from "assert";
import fc from "fast-check";
import type { OverlayValidationInput } from "../../components/overlay/validation";
import { assertNoOverlap, validateOverlay } from "../../components/overlay/validation";
import { ConfigError } from "../../components/validation";

function assertFieldError(run: () => unknown, field: string, pattern?: RegExp): void {
    assert.throws(run, (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.equal(error.field, field, error.message);
        assert.ok(error.message.startsWith(`${field}: `), error.message);
        if (pattern) assert.match(error.message, pattern);
        return true;
    });
}

const SEED: OverlayValidationInput = {
    wireguard: {
        ingress: { name: "ingress", endpoint: "13.58.199.98" },
        hosts: [
            { name: "kvm_london", endpoint: "18.134.246.200" },
            { name: "kvm_ncalifornia", endpoint: "18.144.25.41" },
        ],
    },
    networks: [{ name: "private_evpn-vxlan", vlanId: 100 }],
    otherSubnets: [{ field: "controlSubnet", cidr: "10.0.1.0/24" }],
};

describe("overlay validation", function () {
    it("returns the WireGuard plan and network templates for the seed's scenario", function () {
        const overlay = validateOverlay(SEED);
        assert.equal(overlay.wireguard.nodes.length, 3);
        assert.equal(overlay.networks[0].VLAN_ID, "100");
    });

    it("refuses a wg subnet overlapping the EVPN network", function () {
        assertFieldError(
            () => validateOverlay({ ...SEED, wireguard: { ...SEED.wireguard, subnet: "172.17.0.0/16" } }),
            "networks[0].network",
            /overlaps wireguard\.subnet \(172\.17\.0\.0\/16\)/,
        );
    });

    it("refuses overlaps with the other subnets given", function () {
        assertFieldError(
            () => validateOverlay({ ...SEED, otherSubnets: [{ field: "vpc.cidr", cidr: "192.168.0.0/16" }] }),
            "vpc.cidr",
            /overlaps wireguard\.subnet/,
        );
    });

    it("refuses two networks with the same VNI or name", function () {
        assertFieldError(
            () => validateOverlay({ ...SEED, networks: [{ vlanId: 100 }, { vlanId: 100, network: "172.18.0.0/24" }] }),
            "networks[1].vlanId",
            /duplicate VNI/,
        );
        assertFieldError(
            () =>
                validateOverlay({
                    ...SEED,
                    networks: [
                        { name: "a", vlanId: 1 },
                        { name: "a", vlanId: 2, network: "172.18.0.0/24" },
                    ],
                }),
            "networks[1].name",
            /duplicate network name/,
        );
    });

    it("prefixes the fields of nested checks", function () {
        assertFieldError(() => validateOverlay({ ...SEED, networks: [{ vlanId: 16777216 }] }), "networks[0].vlanId", /1 to 16777215/);
        assertFieldError(
            () => validateOverlay({ ...SEED, networks: [{ vlanId: 5, addressRange: { size: 300 } }] }),
            "networks[0].addressRange.size",
        );
        assertFieldError(
            () => validateOverlay({ ...SEED, networks: [{ vlanId: 5, addressRange: { ip: "10.9.9.9" } }] }),
            "networks[0].addressRange.ip",
        );
        assertFieldError(
            () => validateOverlay({ ...SEED, wireguard: { ...SEED.wireguard, hosts: [{ name: "ingress", endpoint: "192.0.2.1" }] } }),
            "wireguard.hosts[0].name",
            /ingress cannot also be a KVM host/,
        );
        assertFieldError(
            () => validateOverlay({ ...SEED, wireguard: { ...SEED.wireguard, subnet: "192.168.0.0/31" } }),
            "wireguard.subnet",
            /usable addresses/,
        );
    });

    it("refuses an endpoint inside an overlay subnet", function () {
        assertFieldError(
            () => validateOverlay({ ...SEED, wireguard: { ...SEED.wireguard, hosts: [{ name: "kvm1", endpoint: "172.17.2.7" }] } }),
            "wireguard.hosts[0].endpoint",
            /inside networks\[0\]\.network/,
        );
    });

    it("accepts disjoint subnets and rejects any pair of equal or nested ones", function () {
        fc.assert(
            fc.property(
                fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 2, maxLength: 8 }),
                fc.integer({ min: 0, max: 7 }),
                (octets, pick) => {
                    const subnets = octets.map((octet, index) => ({ field: `s${index}`, cidr: `10.${octet}.0.0/16` }));
                    assertNoOverlap(subnets);
                    const victim = subnets[pick % subnets.length];
                    const nested = { field: "nested", cidr: victim.cidr.replace(".0.0/16", ".4.0/24") };
                    assertFieldError(() => assertNoOverlap([...subnets, nested]), "nested", new RegExp(`overlaps ${victim.field} `));
                },
            ),
        );
    });
});
