/** components/overlay/addressing.ts (and the IPv4 helpers of components/validation it builds on): parsing, subnet math and IP-derived MACs. */
import { strict as assert } from "assert";
import fc from "fast-check";
import { hostAddress, macForIpv4, netmaskOf, usableHostCount } from "../../components/overlay/addressing";
import {
    ConfigError,
    cidrContains,
    cidrsOverlap,
    ipv4 as parseIpv4,
    ipv4Cidr,
    ipv4ToNumber,
    numberToIpv4,
} from "../../components/validation";

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((bytes) => bytes.join("."));
const subnet = fc.tuple(ipv4, fc.integer({ min: 8, max: 32 })).map(([ip, prefix]) => {
    const size = 2 ** (32 - prefix);
    return `${numberToIpv4(Math.floor(ipv4ToNumber(ip) / size) * size)}/${prefix}`;
});

describe("overlay addressing", function () {
    it("parses dotted quads and rejects shorthand forms, naming the field", function () {
        assert.equal(parseIpv4("f", "10.0.0.1"), "10.0.0.1");
        for (const bad of ["10.1", "10.0.0.256", "::1", "", 42, "10.0.0.1/24"]) {
            assert.throws(
                () => parseIpv4("hosts[0].endpoint", bad),
                (error: unknown) => error instanceof ConfigError && error.field === "hosts[0].endpoint",
            );
        }
    });

    it("parses subnets and suggests the network address when host bits are set", function () {
        assert.deepEqual(ipv4Cidr("subnet", "192.168.0.0/24"), {
            cidr: "192.168.0.0/24",
            network: 3232235520,
            prefixLength: 24,
            size: 256,
        });
        assert.throws(
            () => ipv4Cidr("subnet", "192.168.0.1/24"),
            /subnet: must be a network address: 192\.168\.0\.1\/24 has host bits set \(did you mean 192\.168\.0\.0\/24\?\)/,
        );
        assert.throws(() => ipv4Cidr("subnet", "192.168.0.0"), /subnet: must be an IPv4 CIDR such as 10\.0\.0\.0\/16/);
    });

    it("round-trips addresses through numbers", function () {
        fc.assert(fc.property(ipv4, (ip) => assert.equal(numberToIpv4(ipv4ToNumber(ip)), ip)));
    });

    it("counts usable hosts (no network/broadcast except for /31 and /32) and indexes them", function () {
        assert.equal(usableHostCount(ipv4Cidr("s", "192.168.0.0/24")), 254);
        assert.equal(usableHostCount(ipv4Cidr("s", "192.168.0.0/31")), 2);
        assert.equal(usableHostCount(ipv4Cidr("s", "192.168.0.7/32")), 1);
        const net = ipv4Cidr("s", "192.168.0.0/24");
        assert.equal(hostAddress(net, 0), "192.168.0.1");
        assert.equal(hostAddress(net, 253), "192.168.0.254");
        assert.throws(() => hostAddress(net, 254), RangeError);
    });

    it("finds overlaps symmetrically, and exactly when one subnet contains the other's network address", function () {
        fc.assert(
            fc.property(subnet, subnet, (a, b) => {
                const pa = ipv4Cidr("a", a);
                const pb = ipv4Cidr("b", b);
                assert.equal(cidrsOverlap(pa, pb), cidrsOverlap(pb, pa));
                const expected = cidrContains(pa, numberToIpv4(pb.network)) || cidrContains(pb, numberToIpv4(pa.network));
                assert.equal(cidrsOverlap(pa, pb), expected);
            }),
        );
    });

    it("derives OpenNebula's MAC 02:00:<ip bytes> from a lease", function () {
        assert.equal(macForIpv4("172.17.2.10"), "02:00:ac:11:02:0a");
        fc.assert(
            fc.property(ipv4, (ip) => {
                const bytes = macForIpv4(ip)
                    .split(":")
                    .slice(2)
                    .map((hex) => parseInt(hex, 16));
                assert.equal(bytes.join("."), ip);
            }),
        );
    });

    it("renders netmasks", function () {
        assert.equal(netmaskOf(24), "255.255.255.0");
        assert.equal(netmaskOf(20), "255.255.240.0");
    });
});
