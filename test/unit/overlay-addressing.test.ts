/** components/overlay/addressing.ts: IPv4 parsing, subnet math and IP-derived MACs. */
import { strict as assert } from "assert";
import fc from "fast-check";
import {
    cidrContains,
    cidrsOverlap,
    hostAddress,
    ipv4ToNumber,
    macForIpv4,
    netmaskOf,
    numberToIpv4,
    parseIpv4,
    parseIpv4Cidr,
    usableHostCount,
} from "../../components/overlay/addressing";
import { OverlayConfigError } from "../../components/overlay/errors";

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((bytes) => bytes.join("."));
const subnet = fc.tuple(ipv4, fc.integer({ min: 8, max: 32 })).map(([ip, prefix]) => {
    const size = 2 ** (32 - prefix);
    return `${numberToIpv4(Math.floor(ipv4ToNumber(ip) / size) * size)}/${prefix}`;
});

describe("overlay addressing", function () {
    it("parses dotted quads and rejects shorthand forms, naming the field", function () {
        assert.equal(parseIpv4("10.0.0.1", "f"), "10.0.0.1");
        for (const bad of ["10.1", "10.0.0.256", "::1", "", 42, "10.0.0.1/24"]) {
            assert.throws(() => parseIpv4(bad, "hosts[0].endpoint"), (error: unknown) => error instanceof OverlayConfigError && error.field === "hosts[0].endpoint");
        }
    });

    it("parses subnets and suggests the network address when host bits are set", function () {
        assert.deepEqual(parseIpv4Cidr("192.168.0.0/24", "subnet"), { cidr: "192.168.0.0/24", network: 3232235520, prefixLength: 24, size: 256 });
        assert.throws(() => parseIpv4Cidr("192.168.0.1/24", "subnet"), /subnet: has host bits set; did you mean 192\.168\.0\.0\/24\?/);
        assert.throws(() => parseIpv4Cidr("192.168.0.0", "subnet"), /subnet: must be an IPv4 subnet/);
    });

    it("round-trips addresses through numbers", function () {
        fc.assert(fc.property(ipv4, (ip) => assert.equal(numberToIpv4(ipv4ToNumber(ip)), ip)));
    });

    it("counts usable hosts (no network/broadcast except for /31 and /32) and indexes them", function () {
        assert.equal(usableHostCount(parseIpv4Cidr("192.168.0.0/24", "s")), 254);
        assert.equal(usableHostCount(parseIpv4Cidr("192.168.0.0/31", "s")), 2);
        assert.equal(usableHostCount(parseIpv4Cidr("192.168.0.7/32", "s")), 1);
        const net = parseIpv4Cidr("192.168.0.0/24", "s");
        assert.equal(hostAddress(net, 0), "192.168.0.1");
        assert.equal(hostAddress(net, 253), "192.168.0.254");
        assert.throws(() => hostAddress(net, 254), RangeError);
    });

    it("finds overlaps symmetrically, and exactly when one subnet contains the other's network address", function () {
        fc.assert(
            fc.property(subnet, subnet, (a, b) => {
                const pa = parseIpv4Cidr(a, "a");
                const pb = parseIpv4Cidr(b, "b");
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
                const bytes = macForIpv4(ip).split(":").slice(2).map((hex) => parseInt(hex, 16));
                assert.equal(bytes.join("."), ip);
            }),
        );
    });

    it("renders netmasks", function () {
        assert.equal(netmaskOf(24), "255.255.255.0");
        assert.equal(netmaskOf(20), "255.255.240.0");
    });
});
