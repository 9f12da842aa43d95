/** components/validation: the one error type, the shared checks, IPv4 arithmetic, and zod issues in the same words. */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { defaultSlot, planHosts } from "../../components/clouds/settings";
import {
    ConfigError,
    addToIpv4,
    fieldPath,
    integerIn,
    ipv4Cidr,
    ipv4ToNumber,
    isKnown,
    numberToIpv4,
    oneOf,
    peerOf31,
    unique,
    withFieldPrefix,
} from "../../components/validation";
import { checkedBy, parseWith } from "../../components/validation/schema";

function problemOf(check: () => unknown): ConfigError {
    try {
        check();
    } catch (error) {
        assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
        return error;
    }
    throw new assert.AssertionError({ message: "no error" });
}

describe("validation", function () {
    it("names the field in the error, and keeps the problem apart", function () {
        const error = problemOf(() => integerIn("hosts.kvm-a.publicIps", 7, 0, 5));
        assert.equal(error.name, "ConfigError");
        assert.equal(error.field, "hosts.kvm-a.publicIps");
        assert.equal(error.problem, "must be an integer from 0 to 5 (got 7)");
        assert.equal(error.message, "hosts.kvm-a.publicIps: must be an integer from 0 to 5 (got 7)");
        assert.equal(
            problemOf(() => oneOf("mode", "closed", ["open", "restricted"])).message,
            'mode: must be one of open, restricted (got "closed")',
        );
        assert.equal(
            problemOf(() => unique(["a", "b", "a"], (i) => `keys[${i}]`, "key")).message,
            'keys[2]: duplicate key "a" (already used by keys[0])',
        );
    });

    it("prefixes or renames the fields of nested checks", function () {
        assert.equal(problemOf(() => withFieldPrefix("targets[1].", () => integerIn("vlanId", 0, 1, 9))).field, "targets[1].vlanId");
        assert.equal(
            problemOf(() =>
                withFieldPrefix(
                    (field) => field.toUpperCase(),
                    () => integerIn("a", 0, 1, 9),
                ),
            ).field,
            "A",
        );
        assert.equal(fieldPath(["hosts", "kvm-a", "slot"]), "hosts.kvm-a.slot");
        assert.equal(fieldPath(["targets", 0, "key"]), "targets[0].key");
    });

    it("knows a value once it is given directly, not as an Output or a promise", function () {
        assert.ok(isKnown("x") && isKnown(0) && isKnown(false));
        for (const pending of [undefined, null, pulumi.output("x"), Promise.resolve("x")]) assert.ok(!isKnown(pending));
    });

    it("checks subnets and suggests the network address", function () {
        assert.deepEqual(ipv4Cidr("vpcCidr", "10.0.0.0/16", 16, 16), {
            cidr: "10.0.0.0/16",
            network: 167772160,
            prefixLength: 16,
            size: 65536,
        });
        assert.equal(
            problemOf(() => ipv4Cidr("vpcCidr", "10.1.2.0/16")).problem,
            "must be a network address: 10.1.2.0/16 has host bits set (did you mean 10.1.0.0/16?)",
        );
        assert.equal(
            problemOf(() => ipv4Cidr("vpcCidr", "10.0.0.0/20", 16, 16)).problem,
            "must have a prefix length from /16 to /16 (got /20)",
        );
    });

    it("adds to addresses and finds /31 peers on ipaddr.js, for any address", function () {
        assert.equal(addToIpv4("10.0.0.0", 32768 + 10), "10.0.128.10");
        const address = fc.integer({ min: 0, max: 2 ** 32 - 2 }).map(numberToIpv4);
        fc.assert(
            fc.property(address, (ip) => {
                assert.equal(numberToIpv4(ipv4ToNumber(ip)), ip);
                assert.equal(peerOf31(peerOf31(ip)), ip);
                assert.equal(Math.abs(ipv4ToNumber(peerOf31(ip)) - ipv4ToNumber(ip)), 1);
            }),
        );
    });

    it("says a schema's problems in the words of the shared checks, naming the field path", function () {
        const schema = z.object({
            hosts: z.record(z.string(), z.object({ publicIps: checkedBy(z.number(), (n) => integerIn("", n, 0, 5)) })),
        });
        const error = problemOf(() => parseWith(schema, { hosts: { "kvm-a": { publicIps: 7 } } }));
        assert.equal(error.message, "hosts.kvm-a.publicIps: must be an integer from 0 to 5 (got 7)");
        const strict = z.strictObject({ region: z.enum(["ams3", "fra1"]) });
        assert.equal(problemOf(() => parseWith(strict, { region: "mars" })).message, 'region: must be one of ams3, fra1 (got "mars")');
        assert.equal(problemOf(() => parseWith(strict, { region: "ams3", size: 1 })).message, "size: is not a known key");
        assert.equal(problemOf(() => parseWith(strict, {})).message, "region: is required: one of ams3, fra1");
    });
});

describe("host slots", function () {
    it("gives host-<n> slot n and any other key a slot of its own from 256 on, from the key alone", function () {
        assert.deepEqual(["host-0", "host-7", "host-255"].map(defaultSlot), [0, 7, 255]);
        const key = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/).filter((k) => !/^host-(0|[1-9][0-9]{0,2})$/.test(k));
        fc.assert(
            fc.property(key, (k) => {
                const slot = defaultSlot(k);
                assert.ok(slot >= 256 && slot < 3072, `${k} → ${slot}`);
                assert.equal(defaultSlot(k), slot, "deterministic");
            }),
        );
    });

    it("plans every host the same whatever the other hosts are", function () {
        const keys = fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), { minLength: 2, maxLength: 8 });
        fc.assert(
            fc.property(keys, fc.nat(), (all, pick) => {
                const key = all[pick % all.length];
                const entries = Object.fromEntries(all.map((k, i) => [k, { publicIps: i % 3 }]));
                const among = planHosts({ hosts: entries }).find((host) => host.key === key);
                const alone = planHosts({ hosts: { [key]: entries[key] } })[0];
                assert.deepEqual(among, alone);
            }),
        );
    });
});
